/**
 * The decision of one poll cycle, as a pure function: given what the supervisor remembers, the
 * records it read, what it observed of their processes and the time, which boxes to boot, which
 * unhealthy ones to stop, what to log and what to write. The cycle (`cycle.ts`) only performs it.
 */
import * as Duration from "effect/Duration"
import * as Backoff from "../../domain/Backoff.js"
import type { NewBoxEvent } from "../../domain/BoxEvent.js"
import { backoffBoundsOf, type BoxRecord } from "../../domain/BoxRecord.js"
import { isDead } from "../../domain/BoxStatus.js"
import { type Observations, reconcile } from "../../domain/Reconcile.js"
import * as RestartPolicy from "../../domain/RestartPolicy.js"
import * as Supervision from "../../domain/Supervision.js"
import * as JournalEvents from "./journalEvents.js"
import { Change, type State, update, updateAll } from "./SupervisorState.js"

/** How long a death seen without an exit code waits for the wrapper to write it (LocalBoxRuntime.stop waits as long). */
export const EXIT_CODE_GRACE_MS = 2_000

/** A log line the supervisor is to write, about a box when `box` is set. */
export interface LogLine {
  readonly level: "Debug" | "Info" | "Warning" | "Error"
  readonly message: string
  readonly box?: BoxRecord
  readonly annotations?: Readonly<Record<string, unknown>>
}

/** `NAME (SHORT_ID` — the way log lines name a box. */
export const nameOf = (box: BoxRecord): string => `${box.name} (${box.short_id}`

export interface CycleDecision {
  readonly state: State
  /** The restarts to boot now (all at once), in file order. */
  readonly boots: ReadonlyArray<Supervision.Candidate>
  /** Running, unhealthy boxes to stop (each in a fiber of its own), then restart as dead ones. */
  readonly stops: ReadonlyArray<BoxRecord>
  readonly logs: ReadonlyArray<LogLine>
  /** Boxes whose death awaits its exit code: to be looked at again shortly. */
  readonly recheck: ReadonlyArray<string>
  /** What the cycle's one write applies (see `Supervision.commitCycle`), and whether there is anything to write besides boots. */
  readonly observations: Observations
  readonly reports: ReadonlyArray<Supervision.ProbeReport>
  readonly changed: boolean
  /**
   * The journal entries of what this decision alone settles (the monitor's memory, not the
   * file): a give-up, a backoff wait announced. Appended after the cycle's write, with what
   * the write recorded (`JournalEvents.ofCommit`).
   */
  readonly events: ReadonlyArray<NewBoxEvent>
  /** The backoff waits announced this cycle (box id -> wait): the write records them (`Supervision.recordWaits`). */
  readonly waits: ReadonlyMap<string, Supervision.Wait>
}

/**
 * `Supervision.restartCandidates`, a pure function of the records and the two sets: with both
 * sets empty, computed once per records array (records are immutable, and an unchanged state
 * file gives the very same array, cycle after cycle).
 */
const candidatesWithNoneHeld = new WeakMap<ReadonlyArray<BoxRecord>, ReadonlyArray<Supervision.Candidate>>()
const restartCandidates = (
  records: ReadonlyArray<BoxRecord>,
  killedForHealth: ReadonlySet<string>,
  busy: ReadonlySet<string>
): ReadonlyArray<Supervision.Candidate> => {
  if (killedForHealth.size > 0 || busy.size > 0) return Supervision.restartCandidates(records, killedForHealth, busy)
  let candidates = candidatesWithNoneHeld.get(records)
  if (candidates === undefined) {
    candidates = Supervision.restartCandidates(records)
    candidatesWithNoneHeld.set(records, candidates)
  }
  return candidates
}

/**
 * SPEC §3–7 for one cycle. `observed` holds the deaths seen (and the boxes awaiting an exit
 * code, whatever was seen); `records` is the state as read. Deaths without an exit code are
 * held back for a grace period; the rest is reconciled, the pending probe results applied, and
 * each restart candidate either booted now, left to its backoff wait, or (unhealthy and
 * running) stopped first.
 */
export const decideCycle = (
  state: State,
  records: ReadonlyArray<BoxRecord>,
  observed: Observations,
  now: number,
  backoff: Backoff.Machine
): CycleDecision => {
  const logs: Array<LogLine> = []
  const events: Array<NewBoxEvent> = []
  const waits = new Map<string, Supervision.Wait>()
  let next = state
  let observations = observed
  let recheck: ReadonlyArray<string> = []
  if (observed.size > 0 || state.awaitedExits.size > 0) {
    const held = Supervision.holdUnknownExits(observed, records, state.awaitedExits, now, EXIT_CODE_GRACE_MS)
    next = update(next, Change.AwaitingExits({ awaiting: held.awaiting }))
    observations = held.observations
    recheck = held.held
  }
  const reconciled = reconcile(records, observations)
  for (const box of reconciled.died) {
    const limit = next.gaveUp.has(box.id) || next.killedForHealth.has(box.id) ? null : RestartPolicy.limitReached(box)
    if (limit === null) continue
    next = update(next, Change.GaveUp({ id: box.id }))
    logs.push({ level: "Warning", message: `monitor: box ${nameOf(box)}) will not be restarted again: ${limit}`, box })
    events.push(JournalEvents.gaveUp(box))
  }
  const reports = next.pendingProbes
  next = update(next, Change.ProbesTaken({ count: reports.length }))
  const current = reports.length > 0 ? Supervision.applyProbes(reports)(reconciled.records)[1] : reconciled.records
  next = update(next, Change.Remembered({ records: current, now, backoff }))

  const boots: Array<Supervision.Candidate> = []
  const stops: Array<BoxRecord> = []
  const changes: Array<Change> = []
  for (const candidate of restartCandidates(current, next.killedForHealth, next.busy)) {
    const { box } = candidate
    const entry = next.backoffs.get(box.id)
    if (!isDead(box)) {
      // Unhealthy and running: stopped in a fiber of its own, then restarted as a dead box.
      if (entry !== undefined && entry.phase._tag === "Waiting" && now < entry.phase.until) continue
      changes.push(Change.StopStarted({ id: box.id }))
      stops.push(box)
      continue
    }
    const decision = backoff.decide(entry, now, backoffBoundsOf(box))
    changes.push(Change.BackoffSet({ id: box.id, backoff: decision.next }))
    if (decision._tag === "RestartNow") {
      boots.push(candidate)
    } else if (decision.announce) {
      logs.push({
        level: "Info",
        message: `monitor: box ${nameOf(box)}) backing off (${Backoff.formatSeconds(decision.remaining)} remaining)`,
        box,
        annotations: { event: "backing_off", backoff_remaining_secs: Backoff.seconds(decision.remaining) }
      })
      events.push(JournalEvents.backoff(box, decision.until, decision.next.failures))
      waits.set(box.id, { until: decision.until, failures: decision.next.failures })
    }
  }
  next = updateAll(next, changes)
  for (const { box, reason } of boots) {
    if (reason !== "dead") continue
    logs.push({
      level: "Info",
      message: `monitor: restarting dead box ${nameOf(box)}, policy: ${box.restart_policy}, exit: ${box.exit_code ?? "unknown"})...`,
      box,
      annotations: { event: "restarting", policy: box.restart_policy, exit_code: box.exit_code }
    })
  }
  return { state: next, boots, stops, logs, recheck, observations, reports, changed: reconciled.changed, events, waits }
}

/** A restart attempt that failed at `now`: the box backs off; the line to log, and the journal's entry of the wait. */
export const restartFailed = (
  state: State,
  candidate: Supervision.Candidate,
  reason: string,
  now: number,
  backoff: Backoff.Machine
): { readonly state: State; readonly log: LogLine; readonly event: NewBoxEvent; readonly wait: Supervision.Wait } => {
  const { next, wait } = backoff.attemptFailed(state.backoffs.get(candidate.box.id), now, backoffBoundsOf(candidate.box))
  const until = now + Duration.toMillis(wait)
  return {
    state: update(state, Change.RestartFailed({ id: candidate.box.id, next })),
    event: JournalEvents.backoff(candidate.box, until, next.failures),
    wait: { until, failures: next.failures },
    log: {
      level: "Error",
      message: `monitor: failed to restart box ${nameOf(candidate.box)}): ${reason} (next retry in ${Backoff.formatSeconds(wait)})`,
      box: candidate.box,
      annotations: { event: "restart_failed", error: reason, next_retry_secs: Backoff.seconds(wait) }
    }
  }
}
