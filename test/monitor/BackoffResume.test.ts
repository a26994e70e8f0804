/**
 * Issue 15: a box's backoff survives its monitor. The monitor keeps each box's backoff position
 * in its record (`backoff_failures`, `next_restart_at`); a new monitor reads it back at its first
 * cycle and continues the wait. Per-box bounds (`restart_delay_secs`, `restart_max_delay_secs`)
 * replace the first wait and the cap. All under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Transitions from "../../src/cli/Transitions.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as Supervision from "../../src/domain/Supervision.js"
import { makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, messages, now, settle, start } from "./harness.js"

const crash = (h: Harness, name: string) => h.runtime.killBox(name, 1)
const bootCountIs = (h: Harness, name: string, n: number) => Effect.map(bootsOf(h, name), (b) => b >= n)
const recordOf = (records: ReadonlyArray<BoxRecord>, name: string) => records.find((b) => b.name === name)!

/**
 * A first monitor that restarts `loop` and sees it crash `crashes` times, each the instant it is
 * up; returns the records it leaves (the last crash's wait announced and recorded) and when.
 */
const crashLoopUnder = (box: BoxRecord, crashes: number) =>
  Effect.scoped(Effect.gen(function*() {
    const h = yield* start([box])
    yield* advanceUntil(bootCountIs(h, "loop", 1), { within: "1 millis" })
    for (let n = 1; n <= crashes; n++) {
      yield* crash(h, "loop")
      if (n < crashes) yield* advanceUntil(bootCountIs(h, "loop", n + 1), { step: "1 second" })
    }
    yield* settle
    return { records: yield* Effect.orDie(h.store.records), at: yield* now }
  }))

describe("a backoff that survives the monitor", () => {
  it.scoped("a new monitor continues the wait the last one recorded, then the schedule from where it was", () =>
    Effect.gen(function*() {
      // Waits 1, 2, 4, then the fourth crash's 8 s: recorded.
      const first = yield* crashLoopUnder(makeBox({ name: "loop", status: "dead" }), 4)
      const left = recordOf(first.records, "loop")
      expect(left).toMatchObject({ status: "dead", backoff_failures: 4, next_restart_at: new Date(first.at + 8_000).toISOString() })

      // The first monitor is gone (its scope closed); 3 s later another starts over the same records.
      yield* TestClock.adjust("3 seconds")
      const h = yield* start(first.records)
      yield* settle
      expect(yield* bootsOf(h, "loop")).toBe(0)
      expect(messages(h)).toContain(`monitor: box loop (${left.short_id}) backing off (5s remaining)`)
      yield* TestClock.adjust("4999 millis")
      expect(yield* bootsOf(h, "loop")).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* bootsOf(h, "loop")).toBe(1)
      const restarted = yield* h.box("loop")
      expect(restarted.next_restart_at).toBeUndefined()
      expect(restarted.backoff_failures).toBe(4)

      // It dies at once again: the fifth failure waits 16 s, as it would have under one monitor.
      const crashedAt = yield* now
      yield* crash(h, "loop")
      const bootedAt = yield* advanceUntil(bootCountIs(h, "loop", 2), { step: "1 second" })
      expect(bootedAt - crashedAt).toBe(16_000)
    }))

  it.scoped("without the recorded position, a new monitor restarts at once (what the fields change)", () =>
    Effect.gen(function*() {
      const first = yield* crashLoopUnder(makeBox({ name: "loop", status: "dead" }), 4)
      const { backoff_failures: _f, next_restart_at: _n, ...bare } = recordOf(first.records, "loop")
      const h = yield* start([bare])
      yield* settle
      expect(yield* bootsOf(h, "loop")).toBe(1)
    }))

  it.scoped("a box the last monitor restarted moments ago: its death is one more failure (the 30 s reset still applies)", () =>
    Effect.gen(function*() {
      const t = yield* now
      // Restarted 5 s ago after two failures; its process is gone when the new monitor looks.
      const young = makeBox({ name: "young", pid: 4242, started_at: new Date(t - 5_000).toISOString(), backoff_failures: 2 })
      const old = makeBox({ name: "old", pid: 4243, started_at: new Date(t - 40_000).toISOString(), backoff_failures: 6 })
      const h = yield* start([young, old])
      // Seen dead with no exit code: held for the exit code's grace (2 s), then decided on.
      const decidedAt = yield* advanceUntil(bootCountIs(h, "old", 1))
      expect(decidedAt).toBe(t + 2_000)
      // Up 42 s: recovered, restarted at once. Up 7 s: the third failure, a 4 s wait.
      expect(yield* bootsOf(h, "young")).toBe(0)
      expect(messages(h)).toContain(`monitor: box young (${young.short_id}) backing off (4s remaining)`)
      const waiting = yield* h.box("young")
      expect(waiting).toMatchObject({ backoff_failures: 3, next_restart_at: new Date(decidedAt + 4_000).toISOString() })
      expect(yield* advanceUntil(bootCountIs(h, "young", 1))).toBe(decidedAt + 4_000)
    }))

  it.scoped("a record of issue 14's (a wait, no failures) is waited out too", () =>
    Effect.gen(function*() {
      const t = yield* now
      const h = yield* start([makeBox({ name: "w", status: "dead", next_restart_at: new Date(t + 2_500).toISOString() })])
      yield* settle
      expect(yield* bootsOf(h, "w")).toBe(0)
      expect(yield* advanceUntil(bootCountIs(h, "w", 1))).toBe(t + 2_500)
    }))

  it.scoped("per-box bounds: --restart-delay 5 --restart-max-delay 12 waits 5, 10, 12, 12 s", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "loop", status: "dead", restart_delay_secs: 5, restart_max_delay_secs: 12 })])
      yield* advanceUntil(bootCountIs(h, "loop", 1), { within: "1 millis" })
      const gaps: Array<number> = []
      for (let n = 2; n <= 5; n++) {
        const crashedAt = yield* now
        yield* crash(h, "loop")
        gaps.push(((yield* advanceUntil(bootCountIs(h, "loop", n), { step: "1 second" })) - crashedAt) / 1000)
      }
      expect(gaps).toEqual([5, 10, 12, 12])
    }))

  it.scoped("a cap alone keeps the monitor's first wait: --restart-max-delay 3 waits 1, 2, 3, 3 s", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "loop", status: "dead", restart_max_delay_secs: 3 })])
      yield* advanceUntil(bootCountIs(h, "loop", 1), { within: "1 millis" })
      const gaps: Array<number> = []
      for (let n = 2; n <= 5; n++) {
        const crashedAt = yield* now
        yield* crash(h, "loop")
        gaps.push(((yield* advanceUntil(bootCountIs(h, "loop", n), { step: "1 second" })) - crashedAt) / 1000)
      }
      expect(gaps).toEqual([1, 2, 3, 3])
    }))
})

describe("the records' backoff fields", () => {
  const box = makeBox({ name: "b", status: "dead", exit_code: 1 })

  it("a wait records when it ends and the failures behind it; a restart keeps the failures, drops the wait", () => {
    const [waiting] = Supervision.recordWaits(new Map([[box.id, { until: Date.parse("2026-06-01T00:00:08Z"), failures: 4 }]]))([box])
    expect(waiting).toMatchObject({ next_restart_at: "2026-06-01T00:00:08.000Z", backoff_failures: 4 })
    const restarted = Supervision.recordRestart(waiting!, { pid: 7, pidStartTime: 1 }, 0, "dead", 4)
    expect(restarted.next_restart_at).toBeUndefined()
    expect(restarted.backoff_failures).toBe(4)
    // No failures: no field (a record nobody backed off is written back as it was read).
    expect("backoff_failures" in Supervision.recordRestart(restarted, { pid: 8, pidStartTime: 2 }, 0)).toBe(false)
  })

  it("a start by the user ends the backoff (docker start resets the restart delay)", () => {
    const backingOff: BoxRecord = { ...box, backoff_failures: 3, next_restart_at: "2026-06-01T00:00:08.000Z" }
    const started = Transitions.started(backingOff, { pid: 9, pidStartTime: 3 }, "2026-06-01T00:00:01.000Z")
    expect("backoff_failures" in started || "next_restart_at" in started).toBe(false)
  })
})
