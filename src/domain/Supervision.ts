import * as Data from "effect/Data"
import type { BoxRecord } from "./BoxRecord.js"
import { countRestart, hasHealthCheck, isActive, markDead, withoutNextRestart } from "./BoxRecord.js"
import { isDead, isRunning, isStopped, isUnhealthy } from "./BoxStatus.js"
import { type Liveness, type Observations, reconcile } from "./Reconcile.js"
import * as RestartPolicy from "./RestartPolicy.js"

/**
 * The monitor's decisions, as plain functions over box records (SPEC §4, §6, §7). The
 * supervisor only wires them to the state store, the runtime and the clock.
 */

// ---------------------------------------------------------------------------
// Time helpers

/** Epoch milliseconds as the RFC 3339 timestamp the state file uses. */
export const timestamp = (millis: number): string => new Date(millis).toISOString()

/** An RFC 3339 timestamp as epoch milliseconds; `null` when absent or unparseable. */
export const parseTimestamp = (value: string | null): number | null => {
  if (value === null) return null
  const millis = Date.parse(value)
  return Number.isNaN(millis) ? null : millis
}

// ---------------------------------------------------------------------------
// Identity

/** Same box, same process incarnation: pid and pid start time unchanged. */
export const sameIncarnation = (
  a: Pick<BoxRecord, "id" | "pid" | "pid_start_time">,
  b: Pick<BoxRecord, "id" | "pid" | "pid_start_time">
): boolean => a.id === b.id && a.pid === b.pid && a.pid_start_time === b.pid_start_time

// ---------------------------------------------------------------------------
// Restart candidates (SPEC §4, §6, §7)

export type RestartReason = "dead" | "unhealthy"

export interface Candidate {
  readonly box: BoxRecord
  readonly reason: RestartReason
}

/**
 * Whether the restart policy allows restarting a running box that is unhealthy. The box has
 * not exited, so the decision treats its exit as a failure (unknown exit code); caps and
 * `stopped_by_user` apply as for a dead box. Boxes run with `auto_remove` are never
 * restarted: their record goes away when they stop.
 */
export const policyAllowsUnhealthyRestart = (box: BoxRecord): boolean =>
  !box.auto_remove && RestartPolicy.shouldRestart({ ...box, exit_code: null })

/** A running box with a health check in force that has turned unhealthy and whose policy allows a restart. */
export const isUnhealthyCandidate = (box: BoxRecord): boolean =>
  isRunning(box) && hasHealthCheck(box) && isUnhealthy(box) &&
  policyAllowsUnhealthyRestart(box)

/**
 * A dead box to restart: its policy says so, or the monitor itself stopped it because it was
 * unhealthy (`killedForHealth`: such a box is restarted whatever its exit code, within its
 * policy's caps, since its health restart was already decided).
 */
export const isDeadCandidate = (box: BoxRecord, killedForHealth: boolean): boolean =>
  isDead(box) &&
  (RestartPolicy.shouldRestart(box) || (killedForHealth && policyAllowsUnhealthyRestart(box)))

/**
 * The boxes to restart, in file order. `killedForHealth` holds the ids of boxes the monitor
 * marked dead after stopping them for being unhealthy; `busy` those whose restart is under way.
 */
export const restartCandidates = (
  records: ReadonlyArray<BoxRecord>,
  killedForHealth: ReadonlySet<string> = new Set(),
  busy: ReadonlySet<string> = new Set()
): ReadonlyArray<Candidate> => {
  const out: Array<Candidate> = []
  for (const box of records) {
    if (busy.has(box.id)) continue
    if (isDeadCandidate(box, killedForHealth.has(box.id))) {
      out.push({ box, reason: killedForHealth.has(box.id) ? "unhealthy" : "dead" })
    } else if (isUnhealthyCandidate(box)) {
      out.push({ box, reason: "unhealthy" })
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Restart records

/**
 * Whether a boot decided on `decided` (a dead box) may still be recorded in `current`, the
 * record as it is now under the lock: same box, still dead, not stopped by the user since,
 * and not restarted by someone else meanwhile (same restart count).
 */
export const canRecordRestart = (current: BoxRecord | undefined, decided: BoxRecord): boolean =>
  current !== undefined &&
  current.id === decided.id &&
  isDead(current) &&
  !current.stopped_by_user &&
  current.restart_count === decided.restart_count

export interface Boot {
  readonly pid: number
  readonly pidStartTime: number | null
}

/** The journal's (and `restarts_by_reason`'s) name for why the monitor restarted a box. */
export const journalReason = (reason: RestartReason): "crash" | "unhealthy" => reason === "dead" ? "crash" : "unhealthy"

/**
 * SPEC §7: the record of a box the monitor has just restarted (for `reason`: a crash by default),
 * with its backoff position (`failures` so far: a new monitor resumes it, issue 15).
 */
export const recordRestart = (
  box: BoxRecord,
  boot: Boot,
  now: number,
  reason: RestartReason = "dead",
  failures = 0
): BoxRecord => ({
  ...withBackoffFailures(withoutNextRestart(box), failures),
  restarts_by_reason: countRestart(box, journalReason(reason)),
  status: "running",
  pid: boot.pid,
  pid_start_time: boot.pidStartTime,
  started_at: timestamp(now),
  restart_count: box.restart_count + 1,
  exit_code: null,
  health_status: hasHealthCheck(box) ? "starting" : "none",
  health_retries: 0,
  health_last_check: null
})

/** The record with `backoff_failures` (dropped at 0: a record nobody backed off is written back as it was read). */
const withBackoffFailures = (box: BoxRecord, failures: number): BoxRecord => {
  if (failures > 0) return box.backoff_failures === failures ? box : { ...box, backoff_failures: failures }
  if (box.backoff_failures === undefined) return box
  const { backoff_failures: _, ...rest } = box
  return rest
}

/** A restart the monitor booted, to record: the dead record it decided on, the process, why, and its backoff position. */
export interface BootToRecord {
  readonly decided: BoxRecord
  readonly boot: Boot
  readonly reason?: RestartReason
  readonly failures?: number
}

/** A backoff wait announced: when it ends (epoch ms) and the failed restarts behind it. */
export interface Wait {
  readonly until: number
  readonly failures: number
}

/** What became of each boot when the restarts of one cycle were recorded. */
export type RecordOutcome = Data.TaggedEnum<{
  Recorded: { readonly box: BoxRecord }
  Dropped: { readonly reason: string }
}>

export const RecordOutcome = Data.taggedEnum<RecordOutcome>()

/**
 * One state update for all the boots of a cycle: each boot is recorded if its box is still
 * the dead incarnation the monitor decided to restart, and dropped otherwise (the caller
 * stops the process it booted, so nothing runs unrecorded).
 */
export const recordRestarts = (
  boots: ReadonlyArray<BootToRecord>,
  now: number
) =>
(records: ReadonlyArray<BoxRecord>): readonly [ReadonlyArray<RecordOutcome>, ReadonlyArray<BoxRecord>] => {
  const byId = new Map(boots.map((b) => [b.decided.id, b]))
  const outcomes = new Map<string, RecordOutcome>()
  let changed = false
  const next = records.map((current) => {
    const entry = byId.get(current.id)
    if (entry === undefined || outcomes.has(current.id)) return current
    if (!canRecordRestart(current, entry.decided)) {
      outcomes.set(current.id, RecordOutcome.Dropped({ reason: droppedReason(current) }))
      return current
    }
    const restarted = recordRestart(current, entry.boot, now, entry.reason, entry.failures)
    outcomes.set(current.id, RecordOutcome.Recorded({ box: restarted }))
    changed = true
    return restarted
  })
  const result = boots.map((b) =>
    outcomes.get(b.decided.id) ?? RecordOutcome.Dropped({ reason: "it was removed meanwhile" })
  )
  return [result, changed ? next : records] as const
}

const droppedReason = (current: BoxRecord): string =>
  current.stopped_by_user || isStopped(current)
    ? "it was stopped meanwhile"
    : !isDead(current)
    ? `it is ${current.status} now`
    : "it was restarted by someone else meanwhile"

// ---------------------------------------------------------------------------
// Unhealthy restarts (SPEC §6)

export type UnhealthyStopOutcome = Data.TaggedEnum<{
  MarkedDead: {}
  Aborted: { readonly reason: string }
}>

export const UnhealthyStopOutcome = Data.taggedEnum<UnhealthyStopOutcome>()

/**
 * After the monitor stopped `decided` (a running, unhealthy box) it re-reads the state under
 * the lock: if the user stopped or removed the box meanwhile, or its pid or start time
 * changed (someone else restarted it), the restart is abandoned; otherwise the box is marked
 * dead (with the exit code the stop observed, when the record has none) and restarted like a
 * dead box. A box someone else already reconciled as dead is left as it is and still restarted.
 */
export const afterUnhealthyStop = (decided: BoxRecord, exitCode: number | null, at?: number) =>
(records: ReadonlyArray<BoxRecord>): readonly [UnhealthyStopOutcome, ReadonlyArray<BoxRecord>] => {
  const index = records.findIndex((r) => r.id === decided.id)
  const current = records[index]
  if (current === undefined) return [UnhealthyStopOutcome.Aborted({ reason: "it was removed meanwhile" }), records]
  if (current.stopped_by_user || isStopped(current)) {
    return [UnhealthyStopOutcome.Aborted({ reason: "it was stopped meanwhile" }), records]
  }
  if (isDead(current) && current.pid === null) return [UnhealthyStopOutcome.MarkedDead(), records]
  if (!isActive(current) || !sameIncarnation(current, decided)) {
    return [UnhealthyStopOutcome.Aborted({ reason: "it was restarted by someone else meanwhile" }), records]
  }
  const next = records.slice()
  next[index] = markDead(current, exitCode, at)
  return [UnhealthyStopOutcome.MarkedDead(), next]
}

// ---------------------------------------------------------------------------
// Health probes (SPEC §6)

/** Probe interval in milliseconds (at least 1 s). */
export const probeIntervalMillis = (box: BoxRecord): number =>
  Math.max(1, box.health_check?.interval_secs ?? 30) * 1000

/** The probe's hard timeout in milliseconds (at least 1 s). */
export const probeTimeoutMillis = (box: BoxRecord): number =>
  Math.max(1, box.health_check?.timeout_secs ?? 5) * 1000

/**
 * A probe is due when the box is running with a health check in force, its start period
 * since `started_at` has passed, and at least the interval has passed since the last check
 * (or none happened yet). Unparseable timestamps count as long ago.
 */
export const probeDue = (box: BoxRecord, now: number): boolean => {
  if (!isRunning(box) || !hasHealthCheck(box) || box.health_check === null) return false
  const startedAt = parseTimestamp(box.started_at)
  if (startedAt !== null && now < startedAt + Math.max(0, box.health_check.start_period_secs) * 1000) return false
  const lastCheck = parseTimestamp(box.health_last_check)
  return lastCheck === null || now - lastCheck >= probeIntervalMillis(box)
}

/** The earliest time a probe of this box becomes due (for waking up), or null if never. */
export const nextProbeAt = (box: BoxRecord): number | null => {
  if (!isRunning(box) || !hasHealthCheck(box) || box.health_check === null) return null
  const startedAt = parseTimestamp(box.started_at)
  const afterStart = startedAt === null ? 0 : startedAt + Math.max(0, box.health_check.start_period_secs) * 1000
  const lastCheck = parseTimestamp(box.health_last_check)
  const afterLast = lastCheck === null ? 0 : lastCheck + probeIntervalMillis(box)
  return Math.max(afterStart, afterLast)
}

export type ProbeVerdict = "healthy" | "failed"

/**
 * SPEC §6: healthy resets the failure count; a failure increments it and, once it reaches
 * `retries` (at least 1), the box is unhealthy. `health_last_check` is set either way.
 */
export const applyProbe = (box: BoxRecord, verdict: ProbeVerdict, at: number): BoxRecord => {
  if (verdict === "healthy") {
    return { ...box, health_status: "healthy", health_retries: 0, health_last_check: timestamp(at) }
  }
  const retries = box.health_retries + 1
  const threshold = Math.max(1, box.health_check?.retries ?? 3)
  return {
    ...box,
    health_retries: retries,
    health_status: retries >= threshold ? "unhealthy" : box.health_status,
    health_last_check: timestamp(at)
  }
}

export interface ProbeReport {
  /** The record as it was when the probe was started. */
  readonly box: BoxRecord
  readonly verdict: ProbeVerdict
  /** Epoch ms when the probe finished. */
  readonly at: number
  /** What a failed probe said (its output, or why it failed), for the journal. */
  readonly output?: string | undefined
}

/**
 * One state update for the probe results gathered since the last one: each is applied only
 * if its box is still running and still the same incarnation. Returns how many applied.
 */
export const applyProbes = (reports: ReadonlyArray<ProbeReport>) =>
(records: ReadonlyArray<BoxRecord>): readonly [number, ReadonlyArray<BoxRecord>] => {
  const byId = new Map<string, Array<ProbeReport>>()
  for (const report of reports) {
    const list = byId.get(report.box.id) ?? []
    list.push(report)
    byId.set(report.box.id, list)
  }
  let applied = 0
  const next = records.map((current) => {
    const list = byId.get(current.id)
    if (list === undefined) return current
    let box = current
    for (const report of list.sort((a, b) => a.at - b.at)) {
      if (!isRunning(box) || !hasHealthCheck(box) || !sameIncarnation(box, report.box)) continue
      box = applyProbe(box, report.verdict, report.at)
      applied++
    }
    return box
  })
  return [applied, applied > 0 ? next : records] as const
}

// ---------------------------------------------------------------------------
// The cycle's one write

export interface CycleCommit {
  readonly outcomes: ReadonlyArray<RecordOutcome>
  /** The deaths the write recorded (their new records), and the boxes removed for `auto_remove` (their last records). */
  readonly died: ReadonlyArray<BoxRecord>
  readonly removed: ReadonlyArray<BoxRecord>
  /** The health status changes the probe results made, as written. */
  readonly healthChanges: ReadonlyArray<HealthChange>
  /** The records as written (or as found, when nothing changed). */
  readonly records: ReadonlyArray<BoxRecord>
}

/**
 * Everything a poll cycle writes, as one state update under one lock: the reconcile of the
 * liveness it observed (SPEC §3; each observation applies only to the incarnation it was taken
 * of), the probe results gathered (same incarnation, still running), and the boots of its
 * restarts (only to boxes still the dead incarnation decided on). Returns the same array when
 * nothing changed, so nothing is written.
 */
export const commitCycle = (
  observations: Observations,
  reports: ReadonlyArray<ProbeReport>,
  boots: ReadonlyArray<BootToRecord>,
  now: number,
  waits: ReadonlyMap<string, Wait> = new Map()
) =>
(records: ReadonlyArray<BoxRecord>): readonly [CycleCommit, ReadonlyArray<BoxRecord>] => {
  const reconciled = reconcile(records, observations, now)
  const [, probed] = applyProbes(reports)(reconciled.records)
  const healthChanges = reports.length === 0 ? [] : healthChangesOf(reconciled.records, probed)
  const [outcomes, restarted] = recordRestarts(boots, now)(probed)
  const next = recordWaits(waits)(restarted)
  return [{ outcomes, died: reconciled.died, removed: reconciled.removed, healthChanges, records: next }, next] as const
}

/**
 * The backoff waits decided this cycle (box id -> wait) in the records, as `next_restart_at`
 * (for `ps` and `inspect`, and a new monitor) and `backoff_failures` (a new monitor): on each
 * box still dead, the others untouched.
 */
export const recordWaits = (waits: ReadonlyMap<string, Wait>) =>
(records: ReadonlyArray<BoxRecord>): ReadonlyArray<BoxRecord> => {
  if (waits.size === 0) return records
  return records.map((box) => {
    const wait = waits.get(box.id)
    return wait === undefined || !isDead(box)
      ? box
      : { ...withBackoffFailures(box, wait.failures), next_restart_at: timestamp(wait.until) }
  })
}

/** A box whose `health_status` a write changed. */
export interface HealthChange {
  readonly box: BoxRecord
  readonly from: string
  readonly to: string
}

/** The health status changes from `before` to `after` (the same boxes, in the same order). */
export const healthChangesOf = (
  before: ReadonlyArray<BoxRecord>,
  after: ReadonlyArray<BoxRecord>
): ReadonlyArray<HealthChange> => {
  if (before === after) return []
  const changes: Array<HealthChange> = []
  for (let i = 0; i < after.length; i++) {
    const a = before[i]
    const b = after[i]!
    if (a !== undefined && a !== b && a.id === b.id && a.health_status !== b.health_status) {
      changes.push({ box: b, from: a.health_status, to: b.health_status })
    }
  }
  return changes
}

// ---------------------------------------------------------------------------
// Exit codes that are about to be written

/** A death seen without an exit code yet: for which pid, since when (epoch ms). */
export interface AwaitedExit {
  readonly pid: number | null
  readonly since: number
}

/**
 * A box's process is seen gone a moment before its wrapper has written the exit-code file
 * (the wrapper reaps it, then writes). Deciding then would record the exit as unknown, which
 * `on-failure` counts as a failure: a box that exited 0 would be restarted. So a death seen
 * without an exit code (and none recorded) is held back for up to `graceMs` from when it was
 * first seen, and observed again meanwhile; after that it is taken as it is (the wrapper may
 * be gone too). Returns the observations to apply now, the deaths still awaited, and the ids
 * held back.
 */
export const holdUnknownExits = (
  observations: Observations,
  records: ReadonlyArray<BoxRecord>,
  awaiting: ReadonlyMap<string, AwaitedExit>,
  now: number,
  graceMs: number
): {
  readonly observations: Observations
  readonly awaiting: ReadonlyMap<string, AwaitedExit>
  readonly held: ReadonlyArray<string>
} => {
  const byId = new Map(records.map((box) => [box.id, box]))
  const nextAwaiting = new Map<string, AwaitedExit>()
  for (const [id, entry] of awaiting) if (byId.has(id) && !observations.has(id)) nextAwaiting.set(id, entry)
  const kept = new Map<string, Liveness>()
  const held: Array<string> = []
  for (const [id, liveness] of observations) {
    const box = byId.get(id)
    const known = liveness.alive || liveness.exitCode !== null || box === undefined || box.exit_code !== null
    if (!known) {
      const seen = awaiting.get(id)
      const since = seen !== undefined && seen.pid === liveness.pid ? seen.since : now
      if (now - since < graceMs) {
        nextAwaiting.set(id, { pid: liveness.pid, since })
        held.push(id)
        continue
      }
    }
    kept.set(id, liveness)
  }
  return { observations: kept, awaiting: nextAwaiting, held }
}
