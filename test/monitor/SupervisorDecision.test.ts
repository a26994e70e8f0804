/**
 * The supervisor's pure parts: the decision of a cycle (`CycleDecision.decideCycle`) and the one
 * function that changes its memory (`SupervisorState.update`), property-tested.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Backoff from "../../src/domain/Backoff.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { isDead, isRunning, isUnhealthy } from "../../src/domain/BoxStatus.js"
import type { Liveness } from "../../src/domain/Reconcile.js"
import * as Supervision from "../../src/domain/Supervision.js"
import { decideCycle } from "../../src/monitor/internal/CycleDecision.js"
import * as SupervisorState from "../../src/monitor/internal/SupervisorState.js"
import { healthCheck, makeBox } from "./boxes.js"

const { Change } = SupervisorState
const machine = Backoff.machine()
const NOW = Date.parse("2026-06-01T00:00:00.000Z")

const arbBox = fc.record({
  status: fc.constantFrom("running", "paused", "dead", "stopped", "stopping", "created"),
  pid: fc.option(fc.integer({ min: 100, max: 120 }), { nil: null }),
  restart_policy: fc.constantFrom("always", "no", "on-failure", "on-failure:2", "unless-stopped"),
  exit_code: fc.option(fc.constantFrom(0, 1, 137), { nil: null }),
  stopped_by_user: fc.boolean(),
  restart_count: fc.integer({ min: 0, max: 3 }),
  auto_remove: fc.boolean(),
  checked: fc.boolean(),
  health_status: fc.constantFrom("none", "starting", "healthy", "unhealthy")
}).map(({ checked, ...fields }) => makeBox({ ...fields, health_check: checked ? healthCheck() : null }))

/** Records, what was observed of them (some active boxes found dead), and a memory to decide with. */
const arbCase = fc.array(arbBox, { maxLength: 12 }).chain((records) =>
  fc.record({
    records: fc.constant(records),
    deaths: fc.subarray(records.map((b) => b.id)),
    exitCodes: fc.array(fc.option(fc.constantFrom(0, 1), { nil: null }), { minLength: 12, maxLength: 12 }),
    killed: fc.subarray(records.map((b) => b.id)),
    busy: fc.subarray(records.map((b) => b.id)),
    waiting: fc.subarray(records.map((b) => b.id)),
    probed: fc.subarray(records.map((b) => b.id))
  })
)

type Case = typeof arbCase extends fc.Arbitrary<infer A> ? A : never

const setUp = (c: Case) => {
  let state = SupervisorState.initial
  for (const id of c.killed) state = SupervisorState.update(state, Change.UnhealthyStopDone({ id, killedForHealth: true }))
  for (const id of c.busy) state = SupervisorState.update(state, Change.StopStarted({ id }))
  for (const id of c.waiting) {
    state = SupervisorState.update(state, Change.RestartFailed({ id, next: machine.attemptFailed(undefined, NOW - 100).next }))
  }
  for (const id of c.probed) {
    const box = c.records.find((b) => b.id === id)!
    state = SupervisorState.update(state, Change.Probed({ report: { box, verdict: "failed", at: NOW - 1 }, wantsCycle: true }))
  }
  const observations = new Map<string, Liveness>()
  c.deaths.forEach((id, i) => {
    const box = c.records.find((b) => b.id === id)!
    if (box.status !== "running" && box.status !== "paused") return
    observations.set(id, { pid: box.pid, pidStartTime: box.pid_start_time, alive: false, exitCode: c.exitCodes[i] ?? null })
  })
  return { state, observations }
}

describe("CycleDecision.decideCycle (property)", () => {
  it("boots only dead boxes whose restart is allowed, stops only running unhealthy ones, never a box being restarted, each at most once", () => {
    fc.assert(fc.property(arbCase, (c) => {
      const { observations, state } = setUp(c)
      const d = decideCycle(state, c.records, observations, NOW, machine)
      const booted = d.boots.map((b) => b.box.id)
      const stopped = d.stops.map((b) => b.id)
      expect(new Set([...booted, ...stopped]).size).toBe(booted.length + stopped.length)
      for (const { box } of d.boots) {
        expect(isDead(box)).toBe(true)
        expect(state.busy.has(box.id)).toBe(false)
        expect(Supervision.isDeadCandidate(box, state.killedForHealth.has(box.id))).toBe(true)
        // A box waiting out its backoff is not booted before the wait is over.
        expect(c.waiting.includes(box.id)).toBe(false)
      }
      for (const box of d.stops) {
        expect(isRunning(box) && isUnhealthy(box)).toBe(true)
        expect(state.busy.has(box.id)).toBe(false)
        expect(d.state.busy.has(box.id)).toBe(true)
      }
      // Every pending probe result is taken for the cycle's write.
      expect(d.reports).toHaveLength(c.probed.length)
      expect(d.state.pendingProbes).toHaveLength(0)
      // One "restarting" line per dead box booted.
      expect(d.logs.filter((l) => l.message.startsWith("monitor: restarting dead box")).length).toBe(
        d.boots.filter((b) => b.reason === "dead").length
      )
    }))
  })

  it("is a function of its inputs: the same inputs give the same decision, and the memory it was given is left as it was", () => {
    fc.assert(fc.property(arbCase, (c) => {
      const { observations, state } = setUp(c)
      const before = JSON.stringify([...state.backoffs], (_k, v) => (v instanceof Set ? [...v] : v))
      const a = decideCycle(state, c.records, observations, NOW, machine)
      const b = decideCycle(state, c.records, observations, NOW, machine)
      expect(b.boots).toStrictEqual(a.boots)
      expect(b.stops).toStrictEqual(a.stops)
      expect(b.logs).toStrictEqual(a.logs)
      expect(b.recheck).toStrictEqual(a.recheck)
      expect(JSON.stringify([...state.backoffs], (_k, v) => (v instanceof Set ? [...v] : v))).toBe(before)
    }))
  })

  it("holds back a death seen without an exit code (none recorded) instead of deciding on it", () => {
    fc.assert(fc.property(arbCase, (c) => {
      const { observations, state } = setUp(c)
      const d = decideCycle(state, c.records, observations, NOW, machine)
      for (const id of d.recheck) {
        const box = c.records.find((r) => r.id === id)!
        expect(observations.get(id)?.exitCode).toBe(null)
        expect(box.exit_code).toBe(null)
        expect(d.observations.has(id)).toBe(false)
        expect(d.state.awaitedExits.has(id)).toBe(true)
        expect(d.boots.some((b) => b.box.id === id)).toBe(false)
      }
    }))
  })

  it("with nothing remembered, every dead box to restart is booted at once", () => {
    const boxes: ReadonlyArray<BoxRecord> = [
      makeBox({ name: "a", status: "dead", exit_code: 1, restart_policy: "always" }),
      makeBox({ name: "b", status: "dead", exit_code: 0, restart_policy: "on-failure" }),
      makeBox({ name: "c", status: "running", pid: 7 })
    ]
    const d = decideCycle(SupervisorState.initial, boxes, new Map(), NOW, machine)
    expect(d.boots.map((b) => b.box.name)).toStrictEqual(["a"])
    expect(d.stops).toStrictEqual([])
  })
})

describe("SupervisorState.update (property)", () => {
  const arbEvent = fc.oneof(
    fc.record({ kind: fc.constant("exit" as const), id: fc.constantFrom("a", "b", "c", "d"), gap: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant("cycle" as const) }),
    fc.record({ kind: fc.constant("burst" as const) })
  )

  it("exits: every exited box is a suspect until a cycle takes it; a lone exit asks for a cycle at once, a burst's later ones wait for its end", () => {
    fc.assert(fc.property(fc.array(arbEvent, { maxLength: 30 }), (events) => {
      let state = SupervisorState.initial
      let at = NOW
      let expected = new Set<string>()
      for (const event of events) {
        if (event.kind === "cycle") {
          state = SupervisorState.update(state, Change.CycleStarted())
          expected = new Set()
          continue
        }
        if (event.kind === "burst") {
          if (state.burstWaiting) {
            state = SupervisorState.update(state, Change.BurstEnded())
            expect(state.cycleWanted).toBe(true)
          }
          continue
        }
        at += event.gap
        const quiet = state.suspects.size === 0
        const before = state
        const suspectsBefore = [...before.suspects]
        state = SupervisorState.update(state, Change.ExitSeen({ id: event.id, pid: 1, at, duringCycle: false }))
        expected.add(event.id)
        if (quiet || at - before.lastExitAt >= SupervisorState.EXIT_BURST_GAP_MS) expect(state.cycleWanted).toBe(true)
        else expect(state.burstWaiting).toBe(true)
        // The old value is untouched: update makes a new one.
        expect([...before.suspects]).toStrictEqual(suspectsBefore)
      }
      expect([...state.suspects].sort()).toStrictEqual([...expected].sort())
      const end = SupervisorState.burstEndsAt(state)
      if (end !== null) expect(end).toBeLessThanOrEqual(state.burstStart + SupervisorState.EXIT_BURST_MAX_MS)
    }))
  })

  it("unwatchable exits: one change for a batch is the same as one per run; a watch is dropped only for the run found unwatchable", () => {
    const arbRun = fc.record({ id: fc.constantFrom("a", "b", "c", "d"), pid: fc.integer({ min: 100, max: 103 }) })
    fc.assert(fc.property(fc.array(arbRun, { maxLength: 6 }), fc.array(arbRun, { maxLength: 8 }), (awaited, runs) => {
      let start = SupervisorState.initial
      for (const run of awaited) start = SupervisorState.update(start, Change.ExitAwaited(run))
      const batched = SupervisorState.update(start, Change.ExitsUnwatchable({ runs }))
      const oneByOne = runs.reduce((s, run) => SupervisorState.update(s, Change.ExitsUnwatchable({ runs: [run] })), start)
      expect([...batched.exitWatched].sort()).toStrictEqual([...oneByOne.exitWatched].sort())
      expect([...batched.exitUnwatchable].sort()).toStrictEqual([...oneByOne.exitUnwatchable].sort())
      for (const [id, pid] of start.exitWatched) {
        const unwatchable = runs.some((run) => run.id === id && run.pid === pid)
        expect(batched.exitWatched.get(id)).toBe(unwatchable ? undefined : pid)
      }
      for (const { id } of runs) expect(batched.exitUnwatchable.get(id)).toBe([...runs].reverse().find((run) => run.id === id)!.pid)
      expect(SupervisorState.update(start, Change.ExitsUnwatchable({ runs: [] }))).toBe(start)
    }))
  })

  it("a stamp that moves asks for a full cycle; the same stamp, or none known yet, changes nothing", () => {
    const known = SupervisorState.update(SupervisorState.initial, Change.CycleEnded({ stamp: "1" }))
    expect(SupervisorState.update(SupervisorState.initial, Change.StampSeen({ stamp: "2" }))).toBe(SupervisorState.initial)
    expect(SupervisorState.update(known, Change.StampSeen({ stamp: "1" }))).toBe(known)
    const moved = SupervisorState.update({ ...known, fullCycleDue: false }, Change.StampSeen({ stamp: "2" }))
    expect([moved.fullCycleDue, moved.cycleWanted, moved.lastStamp]).toStrictEqual([true, true, "2"])
  })
})
