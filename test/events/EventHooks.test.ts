import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"
import type { NewBoxEvent } from "../../src/domain/BoxEvent.js"
import * as EventHooksConfig from "../../src/domain/EventHooksConfig.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as EventHooks from "../../src/events/EventHooks.js"
import { HookRunner, environmentFor } from "../../src/events/HookRunner.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import { GroupExit } from "../../src/platform/GroupProcess.js"

/** One call of the fake runner: what it was given, and when (TestClock ms) it started and ended. */
interface Call {
  readonly command: string
  readonly input: Record<string, unknown>
  readonly env: Record<string, string>
  readonly started: number
  ended?: number
  interrupted?: boolean
}

/**
 * A fake `sh -c`: `exit N` exits N at once, `sleep S` takes S seconds (TestClock), `hang` never
 * ends, `gate` waits for `gate` to open, `boom` is a defect of the runner; each call is recorded.
 */
const fakeRunner = (calls: Array<Call>, gate: Deferred.Deferred<void>) =>
  Layer.succeed(HookRunner, {
    run: (command, stdin, env) =>
      Effect.gen(function*() {
        const call: Call = { command, input: JSON.parse(stdin), env, started: yield* Clock.currentTimeMillis }
        calls.push(call)
        const sleep = /^sleep (\d+)$/.exec(command)
        if (command === "hang") yield* Effect.never
        if (command === "gate") yield* Deferred.await(gate)
        if (command === "boom") return yield* Effect.dieMessage("the runner broke")
        if (sleep !== null) yield* Effect.sleep(Duration.seconds(Number(sleep[1])))
        call.ended = yield* Clock.currentTimeMillis
        const exit = /^exit (\d+)$/.exec(command)
        return { exit: GroupExit.Exited({ code: exit === null ? 0 : Number(exit[1]) }), tail: "the hook said no\n" }
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => {
        calls.at(-1)!.interrupted = true
      })))
  })

const warnings = (sink: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) sink.push(String(Array.isArray(message) ? message[0] : message))
    })
  )

/** Lets the hook fibers run what they can without the clock moving. */
const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow(), { discard: true })

const die = (box: string, exit_code: number | null = 1): NewBoxEvent => ({
  type: "die",
  box_id: `id-${box}`,
  box_name: box,
  exit_code,
  signal: exit_code === null ? "SIGKILL" : null
})

/** Runs `body` with the hooks of `config` over an in-memory journal and the fake runner. */
const withHooks = <A>(
  config: Partial<EventHooksConfig.EventHooksConfig>,
  calls: Array<Call>,
  logs: Array<string>,
  body: (journal: InMemoryEventJournal.InMemoryEventJournal, gate: Deferred.Deferred<void>) => Effect.Effect<A>
) =>
  Effect.scoped(Effect.gen(function*() {
    const journal = yield* InMemoryEventJournal.make
    const gate = yield* Deferred.make<void>()
    yield* EventHooks.run({ ...EventHooksConfig.defaults, commands: ["hook"], ...config }).pipe(
      Effect.provideService(EventJournal, journal),
      Effect.provide(fakeRunner(calls, gate))
    )
    return yield* body(journal, gate)
  })).pipe(Effect.provide(warnings(logs)))

describe("EventHooks: filter and what a hook is given", () => {
  it.effect("runs for the filtered events only, with the event on stdin (plus count) and its fields in A3S_* variables", () => {
    const calls: Array<Call> = []
    return withHooks({}, calls, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append([
          { type: "create", box_id: "id-a", box_name: "a", cmd: ["x"] },
          { type: "health_status", box_id: "id-a", box_name: "a", from: "starting", to: "healthy" },
          { type: "health_status", box_id: "id-a", box_name: "a", from: "healthy", to: "unhealthy", output: "refused" },
          die("a", null),
          { type: "restart", box_id: "id-a", box_name: "a", reason: "crash", attempt: 2 }
        ])
        yield* settle
        expect(calls.map((c) => c.input["type"])).toEqual(["health_status", "die", "restart"])
        const [unhealthy, died, restarted] = calls
        expect(unhealthy!.input).toMatchObject({ seq: 3, to: "unhealthy", output: "refused", count: 1 })
        expect(unhealthy!.env).toEqual({
          A3S_EVENT: "health_status",
          A3S_EVENT_SEQ: "3",
          A3S_EVENT_TIME: "1970-01-01T00:00:00.000Z",
          A3S_EVENT_COUNT: "1",
          A3S_BOX_ID: "id-a",
          A3S_BOX_NAME: "a",
          A3S_HEALTH_STATUS: "unhealthy"
        })
        // only the variables that apply: no A3S_EXIT_CODE for a death by signal
        expect(died!.env).toMatchObject({ A3S_EVENT: "die", A3S_SIGNAL: "SIGKILL" })
        expect(died!.env).not.toHaveProperty("A3S_EXIT_CODE")
        expect(restarted!.env).toMatchObject({ A3S_RESTART_REASON: "crash", A3S_RESTART_ATTEMPT: "2" })
      }))
  })

  it.effect("every command runs for every event", () => {
    const calls: Array<Call> = []
    return withHooks({ commands: ["one", "two"] }, calls, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a")])
        yield* settle
        expect(calls.map((c) => c.command).sort()).toEqual(["one", "two"])
      }))
  })

  it("the hook's environment is the monitor's, less any A3S_* hook variables of its own, plus the event's", () => {
    expect(environmentFor({ PATH: "/bin", A3S_HOME: "/h", A3S_EXIT_CODE: "7", A3S_SIGNAL: "X" }, { A3S_EVENT: "die" })).toEqual({
      PATH: "/bin",
      A3S_HOME: "/h",
      A3S_EVENT: "die"
    })
  })
})

describe("EventHooks: coalescing (3 s windows)", () => {
  it.effect("the first of a burst runs at once; the rest of the window run once at its end, as the last with a count", () => {
    const calls: Array<Call> = []
    return withHooks({}, calls, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a", 1)])
        yield* settle
        expect(calls).toHaveLength(1)
        for (const code of [2, 3, 4]) {
          yield* TestClock.adjust(Duration.millis(500))
          yield* journal.append([die("a", code)])
        }
        yield* journal.append([die("b", 9)]) // another box: not held
        yield* settle
        expect(calls.map((c) => c.env["A3S_BOX_NAME"])).toEqual(["a", "b"])
        yield* TestClock.adjust(Duration.millis(1_499))
        expect(calls).toHaveLength(2)
        yield* TestClock.adjust(Duration.millis(1))
        expect(calls).toHaveLength(3)
        const burst = calls[2]!
        expect(burst.started).toBe(3_000)
        expect(burst.env).toMatchObject({ A3S_EVENT_COUNT: "3", A3S_EXIT_CODE: "4", A3S_EVENT_SEQ: "4" })
        expect(burst.input).toMatchObject({ seq: 4, exit_code: 4, count: 3 })
        // a quiet window ends the burst: the next one is delivered at once again
        yield* TestClock.adjust(Duration.seconds(10))
        expect(calls).toHaveLength(3)
        yield* journal.append([die("a", 5)])
        yield* settle
        expect(calls.map((c) => c.env["A3S_EVENT_COUNT"])).toEqual(["1", "1", "3", "1"])
      }))
  })

  it.effect("a burst that goes on is delivered at most once per window", () => {
    const calls: Array<Call> = []
    return withHooks({}, calls, [], (journal) =>
      Effect.gen(function*() {
        for (let i = 0; i < 20; i++) {
          yield* journal.append([die("a")])
          yield* TestClock.adjust(Duration.millis(500))
        }
        yield* TestClock.adjust(Duration.seconds(10))
        expect(calls.map((c) => [c.started, c.env["A3S_EVENT_COUNT"]])).toEqual([
          [0, "1"],
          [3_000, "5"], // 0.5 s .. 2.5 s (the one at 3 s opens the next window)
          [6_000, "6"],
          [9_000, "6"],
          [12_000, "2"] // 9 s and 9.5 s
        ])
      }))
  })
})

describe("EventHooks: concurrency, timeout, failure", () => {
  it.effect("at most `concurrency` hooks run at once; the others queue and start as runs end", () => {
    const calls: Array<Call> = []
    return withHooks({ commands: ["sleep 5"], concurrency: 2 }, calls, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append(["a", "b", "c", "d", "e"].map((box) => die(box)))
        yield* settle
        expect(calls).toHaveLength(2)
        yield* TestClock.adjust(Duration.seconds(5))
        expect(calls).toHaveLength(4)
        yield* TestClock.adjust(Duration.seconds(5))
        expect(calls.map((c) => [c.env["A3S_BOX_NAME"], c.started])).toEqual([
          ["a", 0],
          ["b", 0],
          ["c", 5_000],
          ["d", 5_000],
          ["e", 10_000]
        ])
      }))
  })

  it.effect("a hook over its timeout is interrupted (its group killed) and logged as a warning; the next runs", () => {
    const calls: Array<Call> = []
    const logs: Array<string> = []
    return withHooks({ commands: ["hang"], concurrency: 1, timeout: Duration.seconds(10) }, calls, logs, (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a"), die("b")])
        yield* settle
        yield* TestClock.adjust(Duration.millis(9_999))
        expect(calls).toHaveLength(1)
        expect(calls[0]!.interrupted).toBeUndefined()
        yield* TestClock.adjust(Duration.millis(1))
        expect(calls[0]!.interrupted).toBe(true)
        expect(logs).toEqual(["monitor: event hook timed out after 10s; its process group was killed, for die of box a (seq 1): hang"])
        expect(calls).toHaveLength(2)
      }))
  })

  it.effect("a failing hook is a warning naming the command, the event and its output, never fatal", () => {
    const calls: Array<Call> = []
    const logs: Array<string> = []
    return withHooks({ commands: ["exit 3"] }, calls, logs, (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a")])
        yield* settle
        yield* journal.append([die("b")])
        yield* settle
        expect(logs).toEqual([
          "monitor: event hook exited with code 3: the hook said no, for die of box a (seq 1): exit 3",
          "monitor: event hook exited with code 3: the hook said no, for die of box b (seq 2): exit 3"
        ])
      }))
  })

  it.effect("a runner that dies is a warning too, and its worker goes on", () => {
    const calls: Array<Call> = []
    const logs: Array<string> = []
    return withHooks({ commands: ["boom", "exit 0"], concurrency: 1 }, calls, logs, (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a"), die("b")])
        yield* settle
        expect(calls.map((c) => `${c.command} ${c.env["A3S_BOX_NAME"]}`)).toEqual(["boom a", "exit 0 a", "boom b", "exit 0 b"])
        expect(logs).toEqual([
          "monitor: event hook could not run, for die of box a (seq 1): boom",
          "monitor: event hook could not run, for die of box b (seq 2): boom"
        ])
      }))
  })

  it.effect("a full queue drops its oldest runs, with one (throttled) warning", () => {
    const calls: Array<Call> = []
    const logs: Array<string> = []
    return withHooks({ commands: ["gate"], concurrency: 1 }, calls, logs, (journal, gate) =>
      Effect.gen(function*() {
        const boxes = Array.from({ length: EventHooks.QUEUE_CAPACITY + 50 }, (_, i) => die(`b${i}`))
        for (const box of boxes) yield* journal.append([box])
        yield* settle
        // 49 more were dropped after this one, within the minute: not logged again
        expect(logs).toEqual([
          "monitor: event hooks are behind (256 runs queued): dropped the 1 oldest run(s), the last for die of box b1 (seq 2)"
        ])
        yield* Deferred.succeed(gate, undefined)
        for (let i = 0; i < 100 && calls.length < EventHooks.QUEUE_CAPACITY + 1; i++) yield* settle
        const seqs = calls.map((c) => Number(c.env["A3S_EVENT_SEQ"]))
        // the first ran at once; the newest QUEUE_CAPACITY waited and ran; those between were dropped
        expect(seqs[0]).toBe(1)
        expect(seqs.slice(1)).toEqual(Array.from({ length: EventHooks.QUEUE_CAPACITY }, (_, i) => 51 + i))
      }))
  })

  it.effect("no commands: nothing runs and nothing subscribes", () => {
    const calls: Array<Call> = []
    return withHooks({ commands: [] }, calls, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append([die("a")])
        yield* settle
        expect(calls).toHaveLength(0)
      }))
  })
})
