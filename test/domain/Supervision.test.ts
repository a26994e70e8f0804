import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as S from "../../src/domain/Supervision.js"
import { healthCheck, makeBox } from "../monitor/boxes.js"

const T0 = Date.parse("2026-01-01T00:00:00.000Z")

describe("Supervision: restart candidates", () => {
  it("only dead boxes whose policy says so are restarted for being dead", () => {
    const boxes = [
      makeBox({ name: "dead-always", status: "dead", restart_policy: "always" }),
      makeBox({ name: "dead-no", status: "dead", restart_policy: "no" }),
      makeBox({ name: "stopped-always", status: "stopped", restart_policy: "always", stopped_by_user: true }),
      makeBox({ name: "running-always", status: "running", pid: 5, restart_policy: "always" }),
      makeBox({ name: "dead-onfailure-0", status: "dead", restart_policy: "on-failure", exit_code: 0 }),
      makeBox({ name: "dead-onfailure-1", status: "dead", restart_policy: "on-failure", exit_code: 1 }),
      makeBox({ name: "dead-unless-stopped-user", status: "dead", restart_policy: "unless-stopped", stopped_by_user: true }),
      makeBox({ name: "dead-onfailure3-at3", status: "dead", restart_policy: "on-failure:3", restart_count: 3, exit_code: 1 }),
      makeBox({ name: "weird", status: "restart_starting", restart_policy: "always" })
    ]
    expect(S.restartCandidates(boxes).map((c) => [c.box.name, c.reason])).toEqual([
      ["dead-always", "dead"],
      ["dead-onfailure-1", "dead"]
    ])
  })

  it("a running unhealthy box with a health check is a candidate when its policy allows", () => {
    const hc = healthCheck()
    const boxes = [
      makeBox({ name: "a", pid: 1, health_check: hc, health_status: "unhealthy", restart_policy: "always" }),
      makeBox({ name: "b", pid: 2, health_check: hc, health_status: "unhealthy", restart_policy: "no" }),
      makeBox({ name: "c", pid: 3, health_check: hc, health_status: "unhealthy", restart_policy: "on-failure:2", restart_count: 2 }),
      makeBox({ name: "d", pid: 4, health_check: hc, health_status: "unhealthy", healthcheck_disabled: true }),
      makeBox({ name: "e", pid: 5, health_check: hc, health_status: "healthy" }),
      makeBox({ name: "f", pid: 6, health_check: hc, health_status: "unhealthy", restart_policy: "on-failure" }),
      makeBox({ name: "g", pid: 7, health_check: hc, health_status: "unhealthy", auto_remove: true })
    ]
    expect(S.restartCandidates(boxes).map((c) => c.box.name)).toEqual(["a", "f"])
    expect(S.restartCandidates(boxes, new Set(), new Set([boxes[0]!.id])).map((c) => c.box.name)).toEqual(["f"])
  })

  it("a box the monitor killed for its health is restarted even with exit 0 under on-failure", () => {
    const box = makeBox({ status: "dead", restart_policy: "on-failure", exit_code: 0 })
    expect(S.restartCandidates([box])).toEqual([])
    expect(S.restartCandidates([box], new Set([box.id]))).toEqual([{ box, reason: "unhealthy" }])
    const capped = makeBox({ status: "dead", restart_policy: "on-failure:1", restart_count: 1, exit_code: 0 })
    expect(S.restartCandidates([capped], new Set([capped.id]))).toEqual([])
  })

  it("a stopped box is never a candidate, whatever its policy (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("no", "always", "unless-stopped", "on-failure", "on-failure:3", "bogus"),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
        fc.nat(10),
        (policy, byUser, exit, count) => {
          const box = makeBox({ status: "stopped", restart_policy: policy, stopped_by_user: byUser, exit_code: exit, restart_count: count })
          expect(S.restartCandidates([box], new Set([box.id]))).toEqual([])
        }
      )
    )
  })
})

describe("Supervision: recording restarts", () => {
  const dead = makeBox({
    status: "dead",
    restart_count: 2,
    exit_code: 137,
    health_check: healthCheck(),
    health_status: "none",
    health_retries: 2,
    health_last_check: "2025-01-01T00:00:00Z"
  })

  it("records pid, start time, started_at, the count, and clears exit code and health state", () => {
    const r = S.recordRestart(dead, { pid: 42, pidStartTime: 777 }, T0)
    expect(r).toMatchObject({
      status: "running",
      pid: 42,
      pid_start_time: 777,
      started_at: "2026-01-01T00:00:00.000Z",
      restart_count: 3,
      exit_code: null,
      health_status: "starting",
      health_retries: 0,
      health_last_check: null
    })
    const plain = S.recordRestart(makeBox({ status: "dead" }), { pid: 1, pidStartTime: null }, T0)
    expect(plain.health_status).toBe("none")
  })

  it("records every boot of a cycle in one update and drops boots whose box changed", () => {
    const a = makeBox({ name: "a", status: "dead" })
    const b = makeBox({ name: "b", status: "dead" })
    const c = makeBox({ name: "c", status: "dead" })
    const gone = makeBox({ name: "gone", status: "dead" })
    const current: ReadonlyArray<BoxRecord> = [
      a,
      { ...b, status: "stopped", stopped_by_user: true },
      { ...c, restart_count: 1 }
    ]
    const boots = [a, b, c, gone].map((decided, i) => ({ decided, boot: { pid: 100 + i, pidStartTime: i } }))
    const [outcomes, next] = S.recordRestarts(boots, T0)(current)
    expect(outcomes.map((o) => o._tag)).toEqual(["Recorded", "Dropped", "Dropped", "Dropped"])
    expect(outcomes.map((o) => (o._tag === "Dropped" ? o.reason : ""))).toEqual([
      "",
      "it was stopped meanwhile",
      "it was restarted by someone else meanwhile",
      "it was removed meanwhile"
    ])
    expect(next[0]).toMatchObject({ status: "running", pid: 100 })
    expect(next[1]).toBe(current[1])
    expect(next[2]).toBe(current[2])
  })

  it("returns the same array when nothing can be recorded, so nothing is written", () => {
    const a = makeBox({ status: "running", pid: 9 })
    const current = [a]
    const [, next] = S.recordRestarts([{ decided: { ...a, status: "dead" }, boot: { pid: 1, pidStartTime: 1 } }], T0)(current)
    expect(next).toBe(current)
  })
})

describe("Supervision: unhealthy restart re-validation", () => {
  const box = makeBox({ pid: 10, pid_start_time: 1000, health_check: healthCheck(), health_status: "unhealthy" })

  it("marks the same incarnation dead", () => {
    const [outcome, next] = S.afterUnhealthyStop(box, 143)([box])
    expect(outcome).toEqual({ _tag: "MarkedDead" })
    expect(next[0]).toMatchObject({ status: "dead", pid: null, exit_code: 143, health_status: "none", health_retries: 0 })
  })

  it("a user stop during the window wins", () => {
    const stopped = { ...box, status: "stopped", pid: null, stopped_by_user: true }
    const [outcome, next] = S.afterUnhealthyStop(box, 143)([stopped])
    expect(outcome).toEqual({ _tag: "Aborted", reason: "it was stopped meanwhile" })
    expect(next[0]).toBe(stopped)
  })

  it("a removal during the window wins", () => {
    expect(S.afterUnhealthyStop(box, 143)([])[0]._tag).toBe("Aborted")
  })

  it("a changed pid or start time aborts", () => {
    expect(S.afterUnhealthyStop(box, 143)([{ ...box, pid: 11 }])[0]).toEqual({
      _tag: "Aborted",
      reason: "it was restarted by someone else meanwhile"
    })
    expect(S.afterUnhealthyStop(box, 143)([{ ...box, pid_start_time: 2000 }])[0]._tag).toBe("Aborted")
  })

  it("a box already reconciled dead by someone else is restarted as it is", () => {
    const reconciled = { ...box, status: "dead", pid: null, exit_code: 143 }
    const current = [reconciled]
    const [outcome, next] = S.afterUnhealthyStop(box, 0)(current)
    expect(outcome._tag).toBe("MarkedDead")
    expect(next).toBe(current)
  })
})

describe("Supervision: health probes", () => {
  const hc = healthCheck({ interval_secs: 10, start_period_secs: 20, retries: 3 })
  const started = "2026-01-01T00:00:00.000Z"
  const box = makeBox({ pid: 1, health_check: hc, health_status: "starting", started_at: started })

  it("is not due during the start period, then due, then due again after the interval", () => {
    expect(S.probeDue(box, T0 + 19_999)).toBe(false)
    expect(S.probeDue(box, T0 + 20_000)).toBe(true)
    const checked = S.applyProbe(box, "healthy", T0 + 20_000)
    expect(S.probeDue(checked, T0 + 29_999)).toBe(false)
    expect(S.probeDue(checked, T0 + 30_000)).toBe(true)
    expect(S.nextProbeAt(box)).toBe(T0 + 20_000)
    expect(S.nextProbeAt(checked)).toBe(T0 + 30_000)
  })

  it("is never due for boxes not running, without a check, or with it disabled", () => {
    expect(S.probeDue({ ...box, status: "paused" }, T0 + 60_000)).toBe(false)
    expect(S.probeDue({ ...box, health_check: null }, T0 + 60_000)).toBe(false)
    expect(S.probeDue({ ...box, healthcheck_disabled: true }, T0 + 60_000)).toBe(false)
  })

  it("an interval below 1 s counts as 1 s", () => {
    const fast = S.applyProbe({ ...box, health_check: { ...hc, interval_secs: 0 } }, "healthy", T0 + 20_000)
    expect(S.probeDue(fast, T0 + 20_999)).toBe(false)
    expect(S.probeDue(fast, T0 + 21_000)).toBe(true)
  })

  it("turns unhealthy after `retries` consecutive failures; a success resets the count", () => {
    let b: BoxRecord = box
    b = S.applyProbe(b, "failed", T0 + 1)
    b = S.applyProbe(b, "failed", T0 + 2)
    expect(b).toMatchObject({ health_status: "starting", health_retries: 2 })
    b = S.applyProbe(b, "healthy", T0 + 3)
    expect(b).toMatchObject({ health_status: "healthy", health_retries: 0, health_last_check: S.timestamp(T0 + 3) })
    b = S.applyProbe(S.applyProbe(S.applyProbe(b, "failed", T0 + 4), "failed", T0 + 5), "failed", T0 + 6)
    expect(b).toMatchObject({ health_status: "unhealthy", health_retries: 3 })
  })

  it("health_retries counts failures and status is unhealthy exactly from `retries` on (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), (verdicts, retries) => {
        let b: BoxRecord = { ...box, health_check: { ...hc, retries } }
        let run = 0
        for (const ok of verdicts) {
          b = S.applyProbe(b, ok ? "healthy" : "failed", T0)
          run = ok ? 0 : run + 1
          expect(b.health_retries).toBe(run)
          if (run >= retries) expect(b.health_status).toBe("unhealthy")
          if (ok) expect(b.health_status).toBe("healthy")
        }
      })
    )
  })

  it("applies results only to the same, still running incarnation", () => {
    const report = { box, verdict: "failed" as const, at: T0 + 30_000 }
    const [n1, same] = S.applyProbes([report])([{ ...box, pid: 2 }])
    expect(n1).toBe(0)
    const [n2] = S.applyProbes([report])([{ ...box, status: "dead", pid: null }])
    expect(n2).toBe(0)
    const [n3, next] = S.applyProbes([report])([box])
    expect(n3).toBe(1)
    expect(next[0]).toMatchObject({ health_retries: 1, health_last_check: S.timestamp(T0 + 30_000) })
    expect(same).not.toBe(next)
  })
})

describe("Supervision: exit codes about to be written", () => {
  const box = makeBox({ pid: 5, pid_start_time: 50 })
  const dead = { pid: 5, pidStartTime: 50, alive: false, exitCode: null }

  it("holds a death without an exit code for the grace period, then lets it through", () => {
    const obs = new Map([[box.id, dead]])
    const first = S.holdUnknownExits(obs, [box], new Map(), 1_000, 2_000)
    expect(first.held).toEqual([box.id])
    expect(first.observations.size).toBe(0)
    const second = S.holdUnknownExits(obs, [box], first.awaiting, 2_999, 2_000)
    expect(second.held).toEqual([box.id])
    const third = S.holdUnknownExits(obs, [box], second.awaiting, 3_000, 2_000)
    expect(third.held).toEqual([])
    expect(third.observations.get(box.id)).toEqual(dead)
    expect(third.awaiting.size).toBe(0)
  })

  it("lets through at once the living, the dead with an exit code, and boxes whose exit code is recorded", () => {
    const other = makeBox({ pid: 6, exit_code: 3 })
    const obs = new Map([
      [box.id, { ...dead, exitCode: 0 }],
      [other.id, { pid: 6, pidStartTime: null, alive: false, exitCode: null }]
    ])
    const r = S.holdUnknownExits(obs, [box, other], new Map(), 0, 2_000)
    expect(r.held).toEqual([])
    expect(r.observations.size).toBe(2)
  })

  it("a new incarnation starts a new wait", () => {
    const r1 = S.holdUnknownExits(new Map([[box.id, dead]]), [box], new Map(), 0, 2_000)
    const next = { ...dead, pid: 7, pidStartTime: 70 }
    const r2 = S.holdUnknownExits(new Map([[box.id, next]]), [{ ...box, pid: 7, pid_start_time: 70 }], r1.awaiting, 5_000, 2_000)
    expect(r2.held).toEqual([box.id])
    expect(r2.awaiting.get(box.id)).toEqual({ pid: 7, since: 5_000 })
  })
})
