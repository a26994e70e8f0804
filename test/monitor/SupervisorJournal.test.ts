import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type { BoxEvent } from "../../src/domain/BoxEvent.js"
import { Healthy, Unhealthy } from "../../src/runtime/InMemoryBoxRuntime.js"
import { healthCheck, makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, settle, start } from "./harness.js"

/** The journal's events without `seq` and `time` (checked on their own below), of one box or all. */
const eventsOf = (h: Harness, name?: string) =>
  Effect.map(h.events, (events) =>
    events
      .filter((e) => name === undefined || ("box_name" in e && e.box_name === name))
      .map(({ seq: _seq, time: _time, ...rest }) => rest))

const bootCountIs = (h: Harness, name: string, n: number) => Effect.map(bootsOf(h, name), (b) => b >= n)

describe("Supervisor: the event journal (issue 14)", () => {
  it.scoped("a crash and its restart: die (the code, the signal it says), then restart crash with its attempt, then start", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "web", status: "dead", exit_code: 1 })])
      yield* settle
      const first = yield* h.box("web")
      expect(yield* eventsOf(h, "web")).toEqual([
        { type: "restart", box_id: first.id, box_name: "web", reason: "crash", attempt: 1 },
        { type: "start", box_id: first.id, box_name: "web", pid: first.pid }
      ])
      // Up for more than the backoff's reset (30 s): the next crash is restarted at once.
      yield* TestClock.adjust("31 seconds")
      yield* h.runtime.killBox("web", 137)
      yield* advanceUntil(bootCountIs(h, "web", 2))
      const second = yield* h.box("web")
      expect((yield* eventsOf(h, "web")).slice(2)).toEqual([
        { type: "die", box_id: first.id, box_name: "web", exit_code: 137, signal: "SIGKILL" },
        { type: "restart", box_id: first.id, box_name: "web", reason: "crash", attempt: 2 },
        { type: "start", box_id: first.id, box_name: "web", pid: second.pid }
      ])
      // What was recorded: the last exit, and the restarts by reason.
      expect(second.restarts_by_reason).toEqual({ crash: 2, unhealthy: 0, manual: 0 })
      expect(second.last_exit).toEqual({ code: 137, signal: "SIGKILL", at: "1970-01-01T00:00:31.000Z" })
      // The journal stamps the events: seq in order, time of the cycle that recorded them.
      const all = yield* h.events
      expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
      expect(all[2]!.time).toBe("1970-01-01T00:00:31.000Z")
    }))

  it.scoped("a death within the reset waits: die, then backoff with when and the attempt, then the restart", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "loop", status: "dead" })])
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* h.runtime.killBox("loop", 3)
      yield* settle
      const box = yield* h.box("loop")
      expect((yield* eventsOf(h, "loop")).slice(2)).toEqual([
        { type: "die", box_id: box.id, box_name: "loop", exit_code: 3, signal: null },
        { type: "backoff", box_id: box.id, box_name: "loop", until: "1970-01-01T00:00:06.000Z", attempt: 1 }
      ])
      // The record says when (ps: `restarting in 1s`; inspect: next_restart_at) ...
      expect(box).toMatchObject({ status: "dead", next_restart_at: "1970-01-01T00:00:06.000Z" })
      yield* advanceUntil(bootCountIs(h, "loop", 2))
      expect((yield* eventsOf(h, "loop")).slice(4).map((e) => e.type)).toEqual(["restart", "start"])
      // ... until the restart is recorded.
      expect((yield* h.box("loop")).next_restart_at).toBeUndefined()
    }))

  it.scoped("a failed boot is journalled as its backoff", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "nope", status: "dead" })])
      yield* h.runtime.failNextBoots(1, "no such file")
      yield* settle
      expect(yield* eventsOf(h, "nope")).toMatchObject([{ type: "backoff", until: "1970-01-01T00:00:01.000Z", attempt: 1 }])
      expect((yield* h.box("nope")).next_restart_at).toBe("1970-01-01T00:00:01.000Z")
      yield* advanceUntil(bootCountIs(h, "nope", 1))
      expect((yield* h.box("nope")).next_restart_at).toBeUndefined()
      expect((yield* eventsOf(h, "nope")).map((e) => e.type)).toEqual(["backoff", "restart", "start"])
    }))

  it.scoped("health: each status change (the failing check's output with it), then the unhealthy stop's death and an unhealthy restart", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 2, retries: 2, timeout_secs: 1 })
      const h = yield* start([makeBox({ name: "sick", status: "dead", health_check: hc })])
      yield* h.runtime.setProbe("sick", [Healthy, Unhealthy("exit 1: database down")])
      yield* settle
      const first = yield* h.box("sick")
      yield* advanceUntil(bootCountIs(h, "sick", 2))
      const second = yield* h.box("sick")
      const about = { box_id: first.id, box_name: "sick" }
      expect(yield* eventsOf(h, "sick")).toEqual([
        { type: "restart", ...about, reason: "crash", attempt: 1 },
        { type: "start", ...about, pid: first.pid },
        { type: "health_status", ...about, from: "starting", to: "healthy" },
        // Two failures (retries: 2) at 2 s and 4 s: unhealthy, with what the check said.
        { type: "health_status", ...about, from: "healthy", to: "unhealthy", output: "exit 1: database down" },
        // Stopped by the monitor (SIGTERM: 143), recorded dead; its last restart was 4 s ago, so it waits 1 s.
        { type: "die", ...about, exit_code: 143, signal: "SIGTERM" },
        { type: "backoff", ...about, until: "1970-01-01T00:00:05.000Z", attempt: 1 },
        { type: "restart", ...about, reason: "unhealthy", attempt: 2 },
        { type: "start", ...about, pid: second.pid }
      ])
      expect(second.restarts_by_reason).toEqual({ crash: 1, unhealthy: 1, manual: 0 })
      expect(second.last_exit).toEqual({ code: 143, signal: "SIGTERM", at: "1970-01-01T00:00:04.000Z" })
    }))

  it.scoped("a healthy check after starting is a change from starting to healthy, without output", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "fine", status: "dead", health_check: healthCheck({ interval_secs: 5 }) })])
      yield* settle
      const box = yield* h.box("fine")
      expect((yield* eventsOf(h, "fine")).filter((e) => e.type === "health_status")).toEqual([
        { type: "health_status", box_id: box.id, box_name: "fine", from: "starting", to: "healthy" }
      ])
      // Still healthy at the next checks: no more changes.
      yield* TestClock.adjust("12 seconds")
      expect((yield* eventsOf(h, "fine")).filter((e) => e.type === "health_status").length).toBe(1)
    }))

  it.scoped("gave-up once, when on-failure:N's restarts are used up", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "n", status: "dead", exit_code: 2, restart_policy: "on-failure:2" })])
      for (let i = 1; i <= 2; i++) {
        yield* advanceUntil(bootCountIs(h, "n", i))
        yield* h.runtime.killBox("n", 2)
      }
      yield* TestClock.adjust("5 minutes")
      const events = yield* eventsOf(h, "n")
      const box = yield* h.box("n")
      expect(events.slice(-2)).toEqual([
        { type: "die", box_id: box.id, box_name: "n", exit_code: 2, signal: null },
        { type: "gave-up", box_id: box.id, box_name: "n", restarts: 2, limit: 2 }
      ])
      expect(events.filter((e) => e.type === "gave-up").length).toBe(1)
    }))

  it.scoped("a corrupt state file: state-corrupt once, state-recovered when it is readable again", () =>
    Effect.gen(function*() {
      const h = yield* start([])
      yield* settle
      yield* h.store.corrupt()
      yield* TestClock.adjust("20 seconds")
      yield* h.store.put([])
      yield* TestClock.adjust("10 seconds")
      const events: ReadonlyArray<Partial<BoxEvent>> = yield* eventsOf(h)
      expect(events.map((e) => e.type)).toEqual(["state-corrupt", "state-recovered"])
      expect(events[0]).toMatchObject({ detail: expect.stringContaining("corrupt") })
    }))
})
