import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Lifecycle from "../../src/cli/Lifecycle.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { BoxRuntime } from "../../src/runtime/BoxRuntime.js"
import { StateStore } from "../../src/state/StateStore.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import { Hang, Unhealthy } from "../../src/runtime/InMemoryBoxRuntime.js"
import { healthCheck, makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, messages, now, settle, start } from "./harness.js"

const seconds = (ms: number) => ms / 1000

/** Kills the box's running process (exit `code`), as a crash would. */
const crash = (h: Harness, name: string, code = 1) => h.runtime.killBox(name, code)

const isRunning = (h: Harness, name: string) =>
  Effect.map(h.find(name), Option.match({ onNone: () => false, onSome: (b) => b.status === "running" }))

const bootCountIs = (h: Harness, name: string, n: number) => Effect.map(bootsOf(h, name), (b) => b >= n)

describe("Supervisor: restarts and backoff", () => {
  it.scoped("a dead box with a restart policy is restarted at once and recorded", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "web", status: "dead", exit_code: 137, restart_count: 2 })])
      yield* settle
      const box = yield* h.box("web")
      expect(box).toMatchObject({
        status: "running",
        restart_count: 3,
        exit_code: null,
        started_at: "1970-01-01T00:00:00.000Z",
        health_status: "none",
        health_retries: 0
      })
      const proc = yield* h.runtime.processOf("web")
      expect(Option.map(proc, (p) => [p.pid, p.startTime])).toEqual(Option.some([box.pid, box.pid_start_time]))
      expect(messages(h)).toContain("monitor: restarting dead box web (" + box.short_id + ", policy: always, exit: 137)...")
      expect(messages(h)).toContain(`monitor: box web (${box.short_id}) restarted (count: 3)`)
      const line = h.logs.find((l) => l.message.endsWith("restarted (count: 3)"))!
      expect(line.annotations).toMatchObject({ box: "web", box_id: box.short_id })
      const stats = yield* h.stats.snapshot
      expect(stats.restarts.get("dead/ok")).toBe(1)
      expect(Option.isSome(stats.lastCycleCompletedAt)).toBe(true)
    }))

  it.scoped("a crash-looping box is restarted at once, then after waits of 1, 2, 4, 8, 16, 32, 60, 60 s", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "loop", status: "dead" })])
      const gaps: Array<number> = []
      yield* advanceUntil(bootCountIs(h, "loop", 1), { within: "1 millis" })
      for (let n = 2; n <= 9; n++) {
        // Dies the instant it is up.
        const crashedAt = yield* now
        yield* crash(h, "loop")
        const bootedAt = yield* advanceUntil(bootCountIs(h, "loop", n), { step: "1 second" })
        gaps.push(seconds(bootedAt - crashedAt))
      }
      expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 60, 60])
      expect((yield* h.box("loop")).restart_count).toBe(9)
      // Logged once per wait, with the wait's length.
      const waits = messages(h).filter((m) => m.includes("backing off"))
      expect(waits.map((m) => /\((\d+)s remaining\)/.exec(m)?.[1])).toEqual(["1", "2", "4", "8", "16", "32", "60", "60"])
      expect(waits[0]).toBe(`monitor: box loop (${(yield* h.box("loop")).short_id}) backing off (1s remaining)`)
    }))

  it.scoped("the restart happens when the backoff elapses, not at the next poll", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "b", status: "dead" })], { config: { interval: Duration.seconds(60) } })
      yield* settle
      yield* TestClock.adjust("500 millis")
      yield* crash(h, "b")
      yield* settle
      yield* TestClock.adjust("999 millis")
      expect(yield* bootsOf(h, "b")).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* bootsOf(h, "b")).toBe(2)
    }))

  it.scoped("failed boots back off the same way and are logged with the next retry", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "nope", status: "dead" })])
      yield* h.runtime.failNextBoots(4, "no such file")
      const attempts: Array<number> = []
      let seen = 0
      const start0 = yield* now
      yield* advanceUntil(
        Effect.gen(function*() {
          const calls = (yield* h.runtime.calls).filter((c) => c.box === "nope")
          if (calls.length > seen) {
            seen = calls.length
            attempts.push(seconds((yield* now) - start0))
          }
          return calls.some((c) => c._tag === "Boot")
        })
      )
      expect(attempts).toEqual([0, 1, 3, 7, 15])
      const short = (yield* h.box("nope")).short_id
      expect(messages(h)).toContain(`monitor: failed to restart box nope (${short}): no such file (next retry in 1s)`)
      expect(messages(h)).toContain(`monitor: failed to restart box nope (${short}): no such file (next retry in 8s)`)
      expect(yield* h.box("nope")).toMatchObject({ status: "running", restart_count: 1 })
      const stats = yield* h.stats.snapshot
      expect(stats.restarts.get("dead/error")).toBe(4)
      expect(stats.restarts.get("dead/ok")).toBe(1)
    }))

  it.scoped("a box that stayed up 30 s has its backoff reset", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "r", status: "dead" })])
      yield* settle
      // Two quick crashes: waits of 1 s, then 2 s.
      yield* crash(h, "r")
      const first = yield* now
      expect(seconds((yield* advanceUntil(bootCountIs(h, "r", 2))) - first)).toBe(1)
      yield* crash(h, "r")
      const second = yield* now
      expect(seconds((yield* advanceUntil(bootCountIs(h, "r", 3))) - second)).toBe(2)
      // Up for 30 s, then a crash: restarted at once, and the sequence starts over at 1 s.
      yield* TestClock.adjust("30 seconds")
      yield* crash(h, "r")
      const third = yield* now
      expect(yield* advanceUntil(bootCountIs(h, "r", 4))).toBe(third)
      yield* crash(h, "r")
      const fourth = yield* now
      expect(seconds((yield* advanceUntil(bootCountIs(h, "r", 5))) - fourth)).toBe(1)
    }))

  it.scoped("a box up for less than 30 s keeps backing off", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "r", status: "dead" })])
      yield* settle
      yield* TestClock.adjust("29 seconds")
      yield* crash(h, "r")
      const at = yield* now
      expect(seconds((yield* advanceUntil(bootCountIs(h, "r", 2))) - at)).toBe(1)
    }))
})

describe("Supervisor: restart policies", () => {
  const afterAMinute = (h: Harness) => Effect.zipRight(TestClock.adjust("1 minute"), settle).pipe(Effect.as(h))

  it.scoped("on-failure with exit 0 is not restarted; with exit 1 it is", () =>
    Effect.gen(function*() {
      const h = yield* start([
        makeBox({ name: "zero", status: "dead", exit_code: 0, restart_policy: "on-failure" }),
        makeBox({ name: "one", status: "dead", exit_code: 1, restart_policy: "on-failure" }),
        makeBox({ name: "unknown", status: "dead", exit_code: null, restart_policy: "on-failure" })
      ])
      yield* afterAMinute(h)
      expect((yield* h.box("zero")).status).toBe("dead")
      expect((yield* h.box("one")).status).toBe("running")
      expect((yield* h.box("unknown")).status).toBe("running")
      // The restarted one now exits 0: it stays dead.
      yield* crash(h, "one", 0)
      yield* afterAMinute(h)
      expect(yield* h.box("one")).toMatchObject({ status: "dead", exit_code: 0, restart_count: 1 })
      expect(yield* bootsOf(h, "one")).toBe(1)
      expect(yield* bootsOf(h, "zero")).toBe(0)
    }))

  it.scoped("on-failure:N stops after N restarts", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "n", status: "dead", exit_code: 2, restart_policy: "on-failure:3" })])
      for (let i = 1; i <= 3; i++) {
        yield* advanceUntil(bootCountIs(h, "n", i))
        yield* crash(h, "n", 2)
      }
      yield* TestClock.adjust("5 minutes")
      expect(yield* bootsOf(h, "n")).toBe(3)
      expect(yield* h.box("n")).toMatchObject({ status: "dead", restart_count: 3, exit_code: 2 })
    }))

  it.scoped("on-failure:N logs once, when its limit is reached, that the box will not be restarted again and why", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "n", status: "dead", exit_code: 2, restart_policy: "on-failure:2" })])
      for (let i = 1; i <= 2; i++) {
        yield* advanceUntil(bootCountIs(h, "n", i))
        yield* crash(h, "n", 2)
      }
      yield* TestClock.adjust("5 minutes")
      const short = (yield* h.box("n")).short_id
      const lines = h.logs.filter((l) => l.message.includes("will not be restarted again"))
      expect(lines.map((l) => l.message)).toEqual([
        `monitor: box n (${short}) will not be restarted again: policy on-failure:2 allows 2 restarts and it has had 2 restarts`
      ])
      expect(lines[0]!.annotations).toMatchObject({ box: "n", box_id: short })
    }))

  it.scoped("max_restart_count caps always", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "m", status: "dead", restart_policy: "always", max_restart_count: 2 })])
      for (let i = 1; i <= 2; i++) {
        yield* advanceUntil(bootCountIs(h, "m", i))
        yield* crash(h, "m", 0)
      }
      yield* TestClock.adjust("5 minutes")
      expect(yield* bootsOf(h, "m")).toBe(2)
    }))

  it.scoped("unless-stopped: a box stopped by the user is not restarted, one that died is", () =>
    Effect.gen(function*() {
      const h = yield* start([
        makeBox({ name: "user", status: "dead", restart_policy: "unless-stopped", stopped_by_user: true }),
        makeBox({ name: "crashed", status: "dead", restart_policy: "unless-stopped" }),
        makeBox({ name: "stopped", status: "stopped", restart_policy: "always", stopped_by_user: true })
      ])
      yield* afterAMinute(h)
      expect((yield* h.box("user")).status).toBe("dead")
      expect((yield* h.box("crashed")).status).toBe("running")
      expect((yield* h.box("stopped")).status).toBe("stopped")
      expect(yield* bootsOf(h, "user")).toBe(0)
      expect(yield* bootsOf(h, "stopped")).toBe(0)
    }))

  it.scoped("`no` (and unknown policies) never restart", () =>
    Effect.gen(function*() {
      const h = yield* start([
        makeBox({ name: "no", status: "dead", exit_code: 1, restart_policy: "no" }),
        makeBox({ name: "weird", status: "dead", exit_code: 1, restart_policy: "sometimes" })
      ])
      yield* afterAMinute(h)
      expect((yield* h.runtime.calls).length).toBe(0)
    }))
})

describe("Supervisor: stop means stop (a user stop ends a crash loop)", () => {
  /** `a3s-box stop NAME`, as the CLI runs it, against the supervisor's store and runtime. */
  const userStop = (h: Harness, name: string) =>
    Effect.flatMap(h.box(name), (box) =>
      Lifecycle.stopWithOutcome(box).pipe(
        Effect.provideService(StateStore, h.store),
        Effect.provideService(BoxRuntime, h.boxRuntime),
        Effect.provideService(EventJournal, h.journal),
        Effect.orDie
      ))

  it.scoped("a crash-looping box stopped during its 4 s wait is never booted again", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "loop", status: "dead" })])
      yield* advanceUntil(bootCountIs(h, "loop", 1), { within: "1 millis" })
      // Crashes at once, twice: waits of 1 s, then 2 s; the third crash waits 4 s.
      for (let n = 2; n <= 3; n++) {
        yield* crash(h, "loop")
        yield* advanceUntil(bootCountIs(h, "loop", n), { step: "1 second" })
      }
      yield* crash(h, "loop")
      yield* settle
      expect(messages(h).filter((m) => m.includes("backing off")).at(-1)).toContain("(4s remaining)")
      yield* TestClock.adjust("1 second")
      const logged = h.logs.length
      const outcome = yield* userStop(h, "loop")
      expect(outcome.already).toBe(false)
      expect(yield* h.box("loop")).toMatchObject({ status: "stopped", stopped_by_user: true, pid: null })
      yield* TestClock.adjust("10 minutes")
      expect(yield* bootsOf(h, "loop")).toBe(3)
      expect(yield* h.box("loop")).toMatchObject({ status: "stopped", stopped_by_user: true, restart_count: 3 })
      // Nothing about it after the stop: no wait announced, no restart tried.
      expect(h.logs.slice(logged).map((l) => l.message).filter((m) => m.includes("loop"))).toEqual([])
      // A second stop is a no-op that says so.
      const again = yield* userStop(h, "loop")
      expect(again.already).toBe(true)
    }))

  it.scoped("a stop while the monitor boots the box's restart wins: the new process is dropped, never recorded", () =>
    Effect.gen(function*() {
      let h: Harness | undefined
      const hh = yield* start([makeBox({ name: "s", status: "dead" })], {
        wrapRuntime: (runtime) => ({
          ...runtime,
          boot: (box, options) => Effect.zipRight(Effect.sleep("1 second"), runtime.boot(box, options))
        })
      })
      h = hh
      yield* settle
      // The boot is under way (it takes 1 s): the user stops the box meanwhile.
      yield* TestClock.adjust("500 millis")
      yield* userStop(h, "s")
      yield* TestClock.adjust("10 minutes")
      expect(yield* hh.box("s")).toMatchObject({ status: "stopped", stopped_by_user: true, restart_count: 0, pid: null })
      expect((yield* hh.runtime.processes).map((p) => p.alive)).toEqual([false])
      expect(messages(hh).filter((m) => m.includes("restarting dead box s"))).toHaveLength(1)
    }))

  it.scoped("a created box stopped before its boot is recorded stays stopped", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "c", status: "created", restart_policy: "always" })])
      yield* settle
      yield* userStop(h, "c")
      yield* TestClock.adjust("10 minutes")
      expect(yield* h.box("c")).toMatchObject({ status: "stopped", stopped_by_user: true })
      expect(yield* bootsOf(h, "c")).toBe(0)
    }))
})

describe("Supervisor: fast crash detection", () => {
  /** A box started by someone else (`run -d`): its process exists, the monitor did not boot it. */
  const foreignBox = (h: Harness, box: BoxRecord) =>
    Effect.gen(function*() {
      const proc = yield* h.runtime.occupyPid(4242)
      const running: BoxRecord = { ...box, status: "running", pid: proc.pid, pid_start_time: proc.startTime }
      yield* h.store.put([running])
      return running
    })

  it.scoped("a box it did not boot is restarted within one liveness tick of dying, not at the next poll", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { interval: Duration.seconds(60), livenessTick: Duration.millis(100) } })
      yield* settle
      const box = yield* foreignBox(h, makeBox({ name: "ext" }))
      yield* TestClock.adjust("100 millis")
      expect(yield* bootsOf(h, "ext")).toBe(0)
      yield* TestClock.adjust("1 second")
      // Its wrapper (not the monitor's child) writes the exit code as the process goes.
      yield* h.runtime.setExitCodeFile(box.box_dir, Option.some(137))
      yield* h.runtime.kill(4242, 137)
      const killedAt = yield* now
      const restartedAt = yield* advanceUntil(bootCountIs(h, "ext", 1), { step: "10 millis" })
      expect(restartedAt - killedAt).toBeLessThanOrEqual(100)
      expect(yield* h.box("ext")).toMatchObject({ status: "running", restart_count: 1 })
    }))

  it.scoped("a reused pid passes the cheap check but not the full cycle's identity check", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { interval: Duration.seconds(5), livenessTick: Duration.millis(100) } })
      yield* settle
      const box = yield* foreignBox(h, makeBox({ name: "reused" }))
      yield* TestClock.adjust("1 second")
      // The box dies (its wrapper records the exit code) and another process gets its pid at once.
      yield* h.runtime.setExitCodeFile(box.box_dir, Option.some(137))
      yield* h.runtime.kill(box.pid!, 137)
      yield* h.runtime.occupyPid(box.pid!)
      yield* TestClock.adjust("1 second")
      expect(yield* bootsOf(h, "reused")).toBe(0)
      // The next full cycle (at 5 s) sees the start time changed: dead, restarted.
      yield* TestClock.adjust("3 seconds")
      expect(yield* h.box("reused")).toMatchObject({ status: "running", restart_count: 1 })
      expect((yield* h.box("reused")).pid).not.toBe(box.pid)
    }))

  it.scoped("a death seen before the exit code is written waits for it: on-failure with exit 0 stays dead", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { interval: Duration.seconds(60), livenessTick: Duration.millis(100) } })
      yield* settle
      const box = yield* foreignBox(h, makeBox({ name: "done", restart_policy: "on-failure" }))
      yield* TestClock.adjust("1 second")
      yield* h.runtime.kill(box.pid!, 0)
      // Seen gone at the next tick; the wrapper writes the exit code 300 ms later.
      yield* TestClock.adjust("300 millis")
      expect((yield* h.box("done")).status).toBe("running")
      yield* h.runtime.setExitCodeFile(box.box_dir, Option.some(0))
      yield* TestClock.adjust("100 millis")
      expect(yield* h.box("done")).toMatchObject({ status: "dead", exit_code: 0, restart_count: 0 })
      yield* TestClock.adjust("1 minute")
      expect(yield* bootsOf(h, "done")).toBe(0)
    }))

  it.scoped("an exit code that never comes is waited for 2 s at most, then the exit counts as unknown", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { interval: Duration.seconds(60), livenessTick: Duration.millis(100) } })
      yield* settle
      const box = yield* foreignBox(h, makeBox({ name: "lost", restart_policy: "on-failure" }))
      yield* TestClock.adjust("1 second")
      yield* h.runtime.kill(box.pid!, 9)
      yield* TestClock.adjust("1900 millis")
      expect(yield* bootsOf(h, "lost")).toBe(0)
      yield* TestClock.adjust("300 millis")
      expect(yield* h.box("lost")).toMatchObject({ status: "running", restart_count: 1 })
      expect(messages(h)).toContain(`monitor: restarting dead box lost (${box.short_id}, policy: on-failure, exit: unknown)...`)
    }))

  it.scoped("a box it booted is restarted the instant it exits", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "own", status: "dead" })], {
        config: { interval: Duration.seconds(60), livenessTick: Duration.seconds(30) }
      })
      yield* settle
      yield* TestClock.adjust("40 seconds")
      yield* crash(h, "own", 137)
      yield* settle
      expect(yield* bootsOf(h, "own")).toBe(2)
    }))

  it.scoped("a box another command adds or changes is picked up within a tick", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { interval: Duration.seconds(60), livenessTick: Duration.millis(100) } })
      yield* TestClock.adjust("1 second")
      yield* h.store.put([makeBox({ name: "new", status: "dead" })])
      yield* TestClock.adjust("100 millis")
      expect((yield* h.box("new")).status).toBe("running")
    }))

  it.scoped("its own writes do not make it cycle again and again", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "a", status: "dead" })], {
        config: { interval: Duration.seconds(60), livenessTick: Duration.millis(100) }
      })
      yield* settle
      const before = (yield* h.stats.snapshot).cycleDurations.count
      yield* TestClock.adjust("10 seconds")
      expect((yield* h.stats.snapshot).cycleDurations.count - before).toBeLessThanOrEqual(1)
    }))

  it.scoped("100 boxes killed at once are all restarted in one cycle, with one write for their records", () =>
    Effect.gen(function*() {
      const boxes = Array.from({ length: 100 }, (_, i) => makeBox({ name: `b${i}`, status: "dead" }))
      const h = yield* start(boxes, { config: { interval: Duration.seconds(60) } })
      // Up for more than 30 s: their next crash is restarted at once.
      yield* TestClock.adjust("31 seconds")
      const writesBefore = yield* h.store.writes
      for (const box of boxes) yield* crash(h, box.name, 137)
      yield* settle
      const records = yield* Effect.orDie(h.store.records)
      expect(records.every((b) => b.status === "running" && b.restart_count === 2)).toBe(true)
      // The watchers of 100 exits coalesce into few cycles: a reconcile write and a record write each.
      expect((yield* h.store.writes) - writesBefore).toBeLessThanOrEqual(4)
    }))
})

describe("Supervisor: health checks", () => {
  it.scoped("unhealthy after `retries` failed probes, then stopped and restarted", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 2, retries: 3, timeout_secs: 1 })
      const h = yield* start([makeBox({ name: "sick", status: "dead", health_check: hc })])
      yield* h.runtime.setProbe("sick", Unhealthy("exit 1"))
      yield* settle
      // Restarted at t=0 with status `starting`, probed at once (no start period): one failure.
      const firstPid = (yield* h.box("sick")).pid
      expect(yield* h.box("sick")).toMatchObject({ status: "running", health_status: "starting", health_retries: 1 })
      yield* TestClock.adjust("2 seconds")
      expect(yield* h.box("sick")).toMatchObject({ health_retries: 2, health_status: "starting", pid: firstPid })
      // Third failure: unhealthy, then stopped (SIGTERM), marked dead, and restarted.
      yield* TestClock.adjust("2 seconds")
      expect((yield* h.runtime.calls).filter((c) => c._tag === "Stop")).toMatchObject([
        { box: "sick", pid: firstPid, signal: "SIGTERM" }
      ])
      // Its first restart was 4 s ago (< 30 s): this one waits 1 s.
      yield* advanceUntil(bootCountIs(h, "sick", 2))
      const box = yield* h.box("sick")
      expect(box).toMatchObject({ status: "running", restart_count: 2, health_status: "starting" })
      expect(box.pid).not.toBe(firstPid)
      expect(messages(h)).toContain(`monitor: box sick (${box.short_id}, policy: always) is unhealthy, restarting...`)
      const stats = yield* h.stats.snapshot
      expect(stats.restarts.get("unhealthy/ok")).toBe(1)
      expect(stats.probes.get("unhealthy")).toBeGreaterThanOrEqual(3)
    }))

  it.scoped("a healthy probe makes the box healthy and is repeated every interval", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 5 })
      const h = yield* start([makeBox({ name: "fine", status: "dead", health_check: hc })], {
        config: { interval: Duration.seconds(1) }
      })
      yield* settle
      expect(yield* h.box("fine")).toMatchObject({ health_status: "healthy", health_last_check: "1970-01-01T00:00:00.000Z" })
      yield* TestClock.adjust("12 seconds")
      const probes = (yield* h.runtime.calls).filter((c) => c._tag === "Probe")
      expect(probes.length).toBe(3)
      expect((yield* h.box("fine")).health_last_check).toBe("1970-01-01T00:00:10.000Z")
    }))

  it.scoped("a probe result that arrives after the box was restarted is dropped (another incarnation)", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 60, timeout_secs: 10, retries: 1 })
      const h = yield* start([makeBox({ name: "old", status: "dead", health_check: hc })])
      yield* h.runtime.setProbe("old", { _tag: "Slow", seconds: 5, result: Unhealthy("too late") })
      yield* settle
      // The probe of the first incarnation is under way; the box crashes and is restarted.
      yield* TestClock.adjust("1 second")
      yield* crash(h, "old")
      yield* advanceUntil(bootCountIs(h, "old", 2))
      const restarted = yield* h.box("old")
      yield* h.runtime.setProbe("old", { _tag: "Healthy" })
      yield* TestClock.adjust("5 seconds")
      // The failure (retries 1) would have made it unhealthy; it belonged to the old pid.
      expect(yield* h.box("old")).toMatchObject({ pid: restarted.pid, health_retries: 0, restart_count: 2 })
      expect((yield* h.box("old")).health_status).not.toBe("unhealthy")
    }))

  it.scoped("no probe runs during the start period", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 1, start_period_secs: 10 })
      const h = yield* start([makeBox({ name: "slow", status: "dead", health_check: hc })])
      yield* settle
      yield* TestClock.adjust("9999 millis")
      expect((yield* h.runtime.calls).filter((c) => c._tag === "Probe")).toEqual([])
      expect((yield* h.box("slow")).health_status).toBe("starting")
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect((yield* h.runtime.calls).filter((c) => c._tag === "Probe").length).toBe(1)
      expect((yield* h.box("slow")).health_status).toBe("healthy")
    }))

  it.scoped("an unhealthy box whose policy is `no` is left running", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 1, retries: 1 })
      const h = yield* start([makeBox({ name: "keep", status: "dead", restart_policy: "always", health_check: hc })])
      yield* settle
      // Switch the policy to `no`, as an edit of the file would.
      const box = yield* h.box("keep")
      yield* h.store.put([{ ...box, restart_policy: "no" }])
      yield* h.runtime.setProbe("keep", Unhealthy())
      yield* TestClock.adjust("10 seconds")
      expect(yield* h.box("keep")).toMatchObject({ status: "running", health_status: "unhealthy", pid: box.pid })
      expect((yield* h.runtime.calls).filter((c) => c._tag === "Stop")).toEqual([])
    }))

  /** A box that turns unhealthy at its first probe and takes its stop timeout (10 s) to stop. */
  const slowToStop = (name: string) =>
    makeBox({
      name,
      status: "dead",
      stop_timeout: 10,
      health_check: healthCheck({ interval_secs: 1, retries: 1 })
    })

  it.scoped("a user stop during the unhealthy-restart window wins: the box is not resurrected", () =>
    Effect.gen(function*() {
      const h = yield* start([slowToStop("u")])
      yield* h.runtime.ignoreStopSignal("u")
      yield* h.runtime.setProbe("u", Unhealthy())
      yield* settle
      // Unhealthy at its first probe; the stop is under way (SIGTERM ignored, SIGKILL after 10 s).
      yield* TestClock.adjust("1 second")
      const box = yield* h.box("u")
      expect(box.health_status).toBe("unhealthy")
      expect((yield* h.runtime.calls).some((c) => c._tag === "Stop")).toBe(false)
      // The user runs `a3s-box stop u` meanwhile.
      yield* Effect.orDie(h.store.modify((records) =>
        [
          undefined,
          records.map((b) => b.name === "u" ? { ...b, status: "stopped", pid: null, stopped_by_user: true } : b)
        ] as const
      ))
      yield* TestClock.adjust("1 minute")
      expect((yield* h.runtime.calls).some((c) => c._tag === "Stop")).toBe(true)
      expect(yield* h.box("u")).toMatchObject({ status: "stopped", stopped_by_user: true, restart_count: 1 })
      expect(yield* bootsOf(h, "u")).toBe(1)
      expect(messages(h)).toContain(`monitor: box u (${box.short_id}) not restarted: it was stopped meanwhile`)
    }))

  it.scoped("a pid changed during the unhealthy-restart window aborts the restart", () =>
    Effect.gen(function*() {
      const h = yield* start([slowToStop("p")])
      yield* h.runtime.ignoreStopSignal("p")
      yield* h.runtime.setProbe("p", Unhealthy())
      yield* settle
      yield* TestClock.adjust("1 second")
      expect((yield* h.box("p")).health_status).toBe("unhealthy")
      // Someone else restarts the box meanwhile: a new process, a new pid.
      const other = yield* h.runtime.occupyPid(7777)
      yield* Effect.orDie(h.store.modify((records) =>
        [
          undefined,
          records.map((b) =>
            b.name === "p" ? { ...b, pid: other.pid, pid_start_time: other.startTime, health_status: "starting" } : b
          )
        ] as const
      ))
      yield* h.runtime.setProbe("p", { _tag: "Healthy" })
      yield* TestClock.adjust("1 minute")
      expect(yield* h.box("p")).toMatchObject({ status: "running", pid: 7777, restart_count: 1, health_status: "healthy" })
      expect(yield* bootsOf(h, "p")).toBe(1)
      expect(messages(h).some((m) => m.endsWith("not restarted: it was restarted by someone else meanwhile"))).toBe(true)
    }))

  it.scoped("a probe that hangs delays neither other boxes' probes nor restarts", () =>
    Effect.gen(function*() {
      const h = yield* start([
        makeBox({ name: "wedged", status: "dead", health_check: healthCheck({ interval_secs: 1, timeout_secs: 30 }) }),
        makeBox({ name: "probed", status: "dead", health_check: healthCheck({ interval_secs: 1 }) }),
        makeBox({ name: "crashy", status: "dead" })
      ], { config: { probeConcurrency: 2 } })
      yield* h.runtime.setProbe("wedged", Hang)
      yield* settle
      yield* TestClock.adjust("5 seconds")
      const probes = (yield* h.runtime.calls).filter((c) => c._tag === "Probe")
      // `wedged` has not answered; `probed` was checked every second meanwhile.
      expect(probes.filter((c) => c.box === "wedged")).toEqual([])
      expect(probes.filter((c) => c.box === "probed").length).toBeGreaterThanOrEqual(5)
      // And a crash is restarted as soon as its backoff allows (it was up for only 5 s: 1 s).
      yield* crash(h, "crashy")
      yield* TestClock.adjust("1 second")
      expect(yield* bootsOf(h, "crashy")).toBe(2)
      // The hung probe ends at its timeout as a failure.
      yield* TestClock.adjust("30 seconds")
      expect((yield* h.box("wedged")).health_retries).toBe(1)
    }))
})

describe("Supervisor: errors and shutdown", () => {
  it.scoped("a corrupt state file keeps the loop alive; it is never written; once repaired the monitor carries on", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { livenessTick: Duration.millis(100) } })
      yield* settle
      yield* h.store.corrupt()
      const writes = yield* h.store.writes
      yield* TestClock.adjust("20 seconds")
      expect(yield* h.store.writes).toBe(writes)
      expect((yield* h.stats.snapshot).stateOk).toBe(false)
      const errors = h.logs.filter((l) => l.level === "ERROR")
      // Logged, but not at every cycle.
      expect(errors.length).toBe(1)
      expect(errors[0]!.message).toContain("is corrupt")
      // Repaired, with a dead box in it: picked up at once.
      yield* h.store.put([makeBox({ name: "back", status: "dead" })])
      yield* TestClock.adjust("100 millis")
      expect((yield* h.box("back")).status).toBe("running")
      expect((yield* h.stats.snapshot).stateOk).toBe(true)
      expect(messages(h).some((m) => m.includes("is readable again"))).toBe(true)
    }))

  it.scoped("an invalid record is logged once per distinct problem and never booted; every other box is supervised", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: { livenessTick: Duration.millis(100) } })
      yield* settle
      const problem = (index: number, field: string) => ({
        index,
        label: "id \"broken\"",
        field,
        reason: "is missing",
        raw: { id: "broken", status: "dead", restart_policy: "always" },
        validBefore: index
      })
      yield* h.store.put([makeBox({ name: "fine", status: "dead" })], [problem(1, "box_dir")])
      yield* TestClock.adjust("100 millis")
      expect((yield* h.box("fine")).status).toBe("running")
      // more cycles and more writes (the same problem, even at another index): still one line
      yield* crash(h, "fine")
      yield* TestClock.adjust("20 seconds")
      yield* h.store.put(yield* h.store.records, [problem(0, "box_dir")])
      yield* TestClock.adjust("20 seconds")
      const lines = () => h.logs.filter((l) => l.message.includes("not supervised"))
      expect(lines().map((l) => [l.level, l.message])).toStrictEqual([[
        "WARN",
        `monitor: state file ${h.store.path}: record id "broken" (index 1): box_dir is missing; it is kept as it is and not supervised: fix or remove it`
      ]])
      expect(yield* bootsOf(h, "fine")).toBe(2)
      expect((yield* h.stats.snapshot).stateOk).toBe(true)
      // another problem of the same record is a new line
      yield* h.store.put(yield* h.store.records, [problem(0, "console_log")])
      yield* TestClock.adjust("100 millis")
      expect(lines()).toHaveLength(2)
      expect(lines()[1]!.message).toContain("console_log is missing")
    }))

  it.scoped("a failed write is logged with the box, stops the process it booted, and is retried with backoff", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "w", status: "dead" })], { config: { interval: Duration.seconds(60) } })
      yield* h.store.failWrites(true)
      yield* settle
      const procs = yield* h.runtime.processes
      expect(procs.length).toBe(1)
      expect(procs[0]!.alive).toBe(false)
      const line = h.logs.find((l) => l.message.startsWith("monitor: failed to restart box w"))
      expect(line?.message).toMatch(/cannot record it: .*simulated write failure.*\(next retry in 1s\)$/)
      expect(line?.annotations).toMatchObject({ box: "w" })
      yield* h.store.failWrites(false)
      yield* TestClock.adjust("1 second")
      expect(yield* h.box("w")).toMatchObject({ status: "running", restart_count: 1 })
    }))

  it.scoped("a user stop between boot and record wins: the new process is stopped, the record kept", () =>
    Effect.gen(function*() {
      let h: Harness | undefined
      const hh = yield* start([makeBox({ name: "s", status: "dead" })], {
        wrapRuntime: (runtime) => ({
          ...runtime,
          boot: (box) =>
            Effect.zipRight(
              Effect.zipRight(
                Effect.sleep("1 second"),
                Effect.orDie(h!.store.modify((records) =>
                  [undefined, records.map((b) => (b.id === box.id ? { ...b, status: "stopped", stopped_by_user: true } : b))] as const
                ))
              ),
              runtime.boot(box)
            )
        })
      })
      h = hh
      yield* settle
      yield* TestClock.adjust("1 second")
      expect(yield* hh.box("s")).toMatchObject({ status: "stopped", stopped_by_user: true, restart_count: 0, pid: null })
      const procs = yield* hh.runtime.processes
      expect(procs.map((p) => p.alive)).toEqual([false])
      expect(messages(hh).some((m) => m.endsWith("not restarted: it was stopped meanwhile"))).toBe(true)
    }))

  it.scoped("races inside a cycle (a lock's wait, a boot's timeout) still end: the loser can be interrupted", () =>
    Effect.gen(function*() {
      // A race whose loser only ends by interruption, as the state lock's wait (sleep vs. file watch).
      const lockWait = Effect.race(
        Effect.sleep("50 millis"),
        Effect.async<void>(() => Effect.void)
      )
      const h = yield* start([makeBox({ name: "raced", status: "dead" })], {
        wrapRuntime: (runtime) => ({ ...runtime, boot: (box) => Effect.zipRight(lockWait, runtime.boot(box)) })
      })
      yield* settle
      yield* TestClock.adjust("50 millis")
      expect(yield* h.box("raced")).toMatchObject({ status: "running", restart_count: 1 })
    }))

  it.effect("shutdown in the middle of a cycle completes the cycle: the booted box is recorded", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const h = yield* start([makeBox({ name: "late", status: "dead" })], {
        wrapRuntime: (runtime) => ({ ...runtime, boot: (box) => Effect.zipRight(Effect.sleep("2 seconds"), runtime.boot(box)) })
      }).pipe(Scope.extend(scope))
      yield* settle
      yield* TestClock.adjust("1 second")
      // SIGTERM arrives while the boot is under way.
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      expect(closing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      expect(yield* h.box("late")).toMatchObject({ status: "running", restart_count: 1 })
      const proc = yield* h.runtime.processOf("late")
      expect(Option.map(proc, (p) => p.pid)).toEqual(Option.some((yield* h.box("late")).pid))
      // And nothing runs any more: no new cycles.
      const cycles = (yield* h.stats.snapshot).cycleDurations.count
      yield* TestClock.adjust("1 minute")
      expect((yield* h.stats.snapshot).cycleDurations.count).toBe(cycles)
    }))
})
