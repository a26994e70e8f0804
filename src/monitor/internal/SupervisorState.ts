/**
 * The supervisor's memory, as one immutable value, and `update`: the one function that makes a
 * new value of it. The supervisor's owner fiber holds the current value; every other part of
 * the supervisor (its workers, the liveness tick, the state file's watch) sends it events. So
 * "who changes this?" is answered, for every field below, by the cases of `update`.
 */
import * as Data from "effect/Data"
import type * as Backoff from "../../domain/Backoff.js"
import { backoffBoundsOf, type BoxRecord, isActive } from "../../domain/BoxRecord.js"
import { isDead, isRunning } from "../../domain/BoxStatus.js"
import type * as Supervision from "../../domain/Supervision.js"

/** When a box (incarnation) was last probed, in case its result is not written yet. */
export interface LastProbe {
  readonly pid: number | null
  readonly pidStartTime: number | null
  readonly at: number
}

/** Exits of booted boxes closer together than this are one burst, restarted by one cycle. */
export const EXIT_BURST_GAP_MS = 5
/** A burst's exits wait at most this long after its first for the burst to end. */
export const EXIT_BURST_MAX_MS = 60

export interface State {
  /** A cycle is asked for (a wake, an exit, a probe result, a pid found gone, ...). */
  readonly cycleWanted: boolean
  /** The next cycle checks every active box (set by the poll schedule and by state file changes). */
  readonly fullCycleDue: boolean
  /** Boxes the next cycle checks even if it is not a full one: their process exited or vanished. */
  readonly suspects: ReadonlySet<string>
  /** Deaths seen before the box's exit code was written (see `Supervision.holdUnknownExits`). */
  readonly awaitedExits: ReadonlyMap<string, Supervision.AwaitedExit>
  /** Per-box restart backoff (SPEC §5). */
  readonly backoffs: ReadonlyMap<string, Backoff.Backoff>
  /** Whether the backoffs the records carry have been read back (once, at the first cycle: `resumeBackoffs`). */
  readonly backoffsResumed: boolean
  /** Boxes the monitor stopped for being unhealthy and marked dead: restart them whatever their exit code. */
  readonly killedForHealth: ReadonlySet<string>
  /** Dead boxes whose policy's restarts are used up, already logged as such (once per death). */
  readonly gaveUp: ReadonlySet<string>
  /** Boxes whose unhealthy restart (graceful stop) is under way. */
  readonly busy: ReadonlySet<string>
  /** Probe results not yet written to the state file. */
  readonly pendingProbes: ReadonlyArray<Supervision.ProbeReport>
  /** When each box (incarnation) was last probed, in case its result is not written yet. */
  readonly lastProbes: ReadonlyMap<string, LastProbe>
  /** The records as of the last cycle. */
  readonly known: ReadonlyArray<BoxRecord>
  /** Whether `known` holds what a cycle read or wrote. */
  readonly haveKnown: boolean
  /** The state file's stamp as of `known` (our own writes included). */
  readonly lastStamp: string | undefined
  /** Whether the state file is watched (`StateStore.changes`); if not, the liveness tick polls its stamp. */
  readonly fileWatched: boolean
  /**
   * Boxes whose exit is awaited (id -> pid): those the monitor booted (their exit waiters) and
   * those whose end the runtime watches (`BoxRuntime.watchExit`). The liveness tick does not poll them.
   */
  readonly exitWatched: ReadonlyMap<string, number>
  /** Boxes whose end the runtime cannot watch (id -> pid): the liveness tick polls them. */
  readonly exitUnwatchable: ReadonlyMap<string, number>
  /** The records the exit watches were last set up for (`ExitsWatched`): the same array again, with nothing new to watch, is nothing to do. */
  readonly exitsWatchedFor: ReadonlyArray<BoxRecord> | undefined
  /** When a cycle last verified the identity of every active box (see `identitySweepDue`). */
  readonly identitySweptAt: number
  /** The last state-file error logged, and when (an unchanged one is repeated once a minute: ThrottledLog.isDue). */
  readonly lastStateError: { readonly message: string; readonly at: number } | undefined
  /** The invalid records' problems already logged (SPEC §12): each is logged once while it lasts. */
  readonly reportedInvalid: ReadonlySet<string>
  /** When the last exit was seen, and when the burst it belongs to began. */
  readonly lastExitAt: number
  readonly burstStart: number
  /** A burst's exits wait for it to end (see `burstEndsAt`). */
  readonly burstWaiting: boolean
}

export const initial: State = {
  cycleWanted: false,
  fullCycleDue: true,
  suspects: new Set(),
  awaitedExits: new Map(),
  backoffs: new Map(),
  backoffsResumed: false,
  killedForHealth: new Set(),
  gaveUp: new Set(),
  busy: new Set(),
  pendingProbes: [],
  lastProbes: new Map(),
  known: [],
  haveKnown: false,
  lastStamp: undefined,
  fileWatched: false,
  exitWatched: new Map(),
  exitUnwatchable: new Map(),
  exitsWatchedFor: undefined,
  identitySweptAt: Number.NEGATIVE_INFINITY,
  lastStateError: undefined,
  reportedInvalid: new Set(),
  lastExitAt: Number.NEGATIVE_INFINITY,
  burstStart: Number.NEGATIVE_INFINITY,
  burstWaiting: false
}

/** Every way the supervisor's memory changes. */
export type Change = Data.TaggedEnum<{
  /** A cycle is asked for: `full` checks every active box, `suspects` (at least) may have died. */
  CycleWanted: { readonly full: boolean; readonly suspects: ReadonlyArray<string> }
  /** The exit of a box the monitor booted, seen at `at`; `duringCycle`: while a cycle ran. */
  ExitSeen: { readonly id: string; readonly pid: number; readonly at: number; readonly duringCycle: boolean }
  /** The burst the last exits belong to has ended: one cycle restarts them together. */
  BurstEnded: {}
  /** Whether the state file is watched from now on. */
  Watched: { readonly watched: boolean }
  /** The state file's stamp, read after a change was reported: another writer's change asks for a full cycle. */
  StampSeen: { readonly stamp: string | undefined }
  /** A health check's result, to be written by the next cycle. */
  Probed: { readonly report: Supervision.ProbeReport; readonly wantsCycle: boolean }
  /** An unhealthy restart's stop is over; `killedForHealth`: the box is restarted as a dead one. */
  UnhealthyStopDone: { readonly id: string; readonly killedForHealth: boolean }
  /** A restart attempt failed (boot, record or stop): no new attempt before `next`'s wait is over. */
  RestartFailed: { readonly id: string; readonly next: Backoff.Backoff }
  /** A cycle could not read the state; `logged`: its error was logged now. */
  ReadFailed: { readonly stamp: string | undefined; readonly message: string; readonly at: number; readonly logged: boolean }
  /** A cycle read the state (or reused what it knew): errors are over; `invalid`: the problems logged by now. */
  ReadOk: { readonly invalid: ReadonlySet<string> | undefined }
  /** A cycle takes the full-cycle flag and the suspects. */
  CycleStarted: {}
  /** Deaths awaiting their exit code (see `Supervision.holdUnknownExits`). */
  AwaitingExits: { readonly awaiting: ReadonlyMap<string, Supervision.AwaitedExit> }
  /** A dead box's restarts are used up; said once per death. */
  GaveUp: { readonly id: string }
  /** The probe results a cycle takes to write. */
  ProbesTaken: { readonly count: number }
  /** What a cycle knows of the records now (read, reconciled, probed): what it no longer needs is dropped. */
  Remembered: { readonly records: ReadonlyArray<BoxRecord>; readonly now: number; readonly backoff: Backoff.Machine }
  /** A box's backoff as the cycle's decision left it (`undefined`: forgotten). */
  BackoffSet: { readonly id: string; readonly backoff: Backoff.Backoff | undefined }
  /** An unhealthy box is being stopped, to be restarted as a dead one. */
  StopStarted: { readonly id: string }
  /** The records as written by a cycle; or, with `failed`, its write failed: look at everything again. */
  Written: { readonly records: ReadonlyArray<BoxRecord> | undefined }
  /** A boot was recorded (its process released, `backoff` from now) or dropped (`backoff` undefined). */
  BootSettled: { readonly id: string; readonly recorded: boolean; readonly backoff: Backoff.Backoff | undefined }
  /** A box the monitor booted: its exit is awaited (an event), not polled. */
  ExitAwaited: { readonly id: string; readonly pid: number }
  /**
   * The end of these boxes' runs is watched from now on (`exitsToWatch`); what is remembered of
   * boxes no longer active is forgotten.
   */
  ExitsWatched: { readonly boxes: ReadonlyArray<BoxRecord> }
  /**
   * The runtime cannot watch the end of these boxes' runs: they are polled. One change for all the
   * events a batch brought (at 10,000 boxes, one per box copied both maps 10,000 times).
   */
  ExitsUnwatchable: { readonly runs: ReadonlyArray<{ readonly id: string; readonly pid: number }> }
  /** A cycle's end: the file's stamp as of what it knows. */
  CycleEnded: { readonly stamp: string | undefined }
  /** A cycle verified the identity of every active box. */
  IdentitySwept: { readonly at: number }
}>

export const Change = Data.taggedEnum<Change>()

const withAdded = <A>(set: ReadonlySet<A>, values: Iterable<A>): ReadonlySet<A> => {
  const next = new Set(set)
  for (const value of values) next.add(value)
  return next.size === set.size ? set : next
}
const without = <A>(set: ReadonlySet<A>, value: A): ReadonlySet<A> => {
  if (!set.has(value)) return set
  const next = new Set(set)
  next.delete(value)
  return next
}
const withEntry = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V | undefined): ReadonlyMap<K, V> => {
  if (value === undefined && !map.has(key)) return map
  const next = new Map(map)
  if (value === undefined) next.delete(key)
  else next.set(key, value)
  return next
}

/** The one function that changes the supervisor's memory. */
export const update = (state: State, change: Change): State => {
  switch (change._tag) {
    case "CycleWanted":
      return {
        ...state,
        cycleWanted: true,
        fullCycleDue: state.fullCycleDue || change.full,
        suspects: withAdded(state.suspects, change.suspects)
      }
    case "ExitSeen": {
      const exitWatched = state.exitWatched.get(change.id) === change.pid
        ? withEntry(state.exitWatched, change.id, undefined)
        : state.exitWatched
      // Part of a burst: close to the previous exit, which a cycle is handling or is yet to take.
      // The first exit wakes the loop at once (a lone crash is restarted without delay); the
      // others of a burst wait for it to end, to be restarted together by one cycle.
      const inBurst = change.at - state.lastExitAt < EXIT_BURST_GAP_MS && (change.duringCycle || state.suspects.size > 0)
      const suspects = withAdded(state.suspects, [change.id])
      if (!inBurst) {
        return { ...state, exitWatched, suspects, lastExitAt: change.at, burstStart: change.at, cycleWanted: true }
      }
      return { ...state, exitWatched, suspects, lastExitAt: change.at, burstWaiting: true }
    }
    case "BurstEnded":
      return { ...state, burstWaiting: false, cycleWanted: true }
    case "Watched":
      return { ...state, fileWatched: change.watched }
    case "StampSeen":
      if (state.lastStamp === undefined || change.stamp === undefined || change.stamp === state.lastStamp) return state
      return { ...state, lastStamp: change.stamp, fullCycleDue: true, cycleWanted: true }
    case "Probed": {
      const { report } = change
      return {
        ...state,
        pendingProbes: [...state.pendingProbes, report],
        lastProbes: withEntry(state.lastProbes, report.box.id, {
          pid: report.box.pid,
          pidStartTime: report.box.pid_start_time,
          at: report.at
        }),
        cycleWanted: state.cycleWanted || change.wantsCycle
      }
    }
    case "UnhealthyStopDone":
      return {
        ...state,
        busy: without(state.busy, change.id),
        killedForHealth: change.killedForHealth ? withAdded(state.killedForHealth, [change.id]) : state.killedForHealth,
        suspects: withAdded(state.suspects, [change.id]),
        cycleWanted: true
      }
    case "RestartFailed":
      return { ...state, backoffs: withEntry(state.backoffs, change.id, change.next) }
    case "ReadFailed":
      return {
        ...state,
        cycleWanted: false,
        lastStamp: change.stamp,
        lastStateError: change.logged ? { message: change.message, at: change.at } : state.lastStateError
      }
    case "ReadOk":
      return {
        ...state,
        haveKnown: true,
        lastStateError: undefined,
        reportedInvalid: change.invalid ?? state.reportedInvalid
      }
    case "CycleStarted":
      return { ...state, fullCycleDue: false, cycleWanted: false, suspects: new Set() }
    case "AwaitingExits":
      return { ...state, awaitedExits: change.awaiting }
    case "GaveUp":
      return { ...state, gaveUp: withAdded(state.gaveUp, [change.id]) }
    case "ProbesTaken":
      return change.count === 0 ? state : { ...state, pendingProbes: state.pendingProbes.slice(change.count) }
    case "Remembered":
      return remember(state, change.records, change.now, change.backoff)
    case "BackoffSet":
      return { ...state, backoffs: withEntry(state.backoffs, change.id, change.backoff) }
    case "StopStarted":
      return { ...state, busy: withAdded(state.busy, [change.id]) }
    case "Written":
      return change.records === undefined
        ? { ...state, fullCycleDue: true }
        : { ...state, known: change.records }
    case "BootSettled":
      return {
        ...state,
        killedForHealth: without(state.killedForHealth, change.id),
        backoffs: withEntry(state.backoffs, change.id, change.backoff),
        lastProbes: change.recorded ? withEntry(state.lastProbes, change.id, undefined) : state.lastProbes
      }
    case "ExitAwaited":
      return { ...state, exitWatched: withEntry(state.exitWatched, change.id, change.pid) }
    case "ExitsWatched": {
      const active = new Set<string>()
      for (const box of state.known) if (isActive(box) && box.pid !== null) active.add(box.id)
      const exitWatched = new Map<string, number>()
      for (const [id, pid] of state.exitWatched) if (active.has(id)) exitWatched.set(id, pid)
      for (const box of change.boxes) if (box.pid !== null) exitWatched.set(box.id, box.pid)
      const exitUnwatchable = new Map<string, number>()
      for (const [id, pid] of state.exitUnwatchable) if (active.has(id)) exitUnwatchable.set(id, pid)
      return { ...state, exitWatched, exitUnwatchable, exitsWatchedFor: state.known }
    }
    case "ExitsUnwatchable": {
      if (change.runs.length === 0) return state
      const exitWatched = new Map(state.exitWatched)
      const exitUnwatchable = new Map(state.exitUnwatchable)
      for (const { id, pid } of change.runs) {
        if (exitWatched.get(id) === pid) exitWatched.delete(id)
        exitUnwatchable.set(id, pid)
      }
      return { ...state, exitWatched, exitUnwatchable }
    }
    case "CycleEnded":
      return { ...state, lastStamp: change.stamp }
    case "IdentitySwept":
      return { ...state, identitySweptAt: change.at }
  }
}

/**
 * How often a full cycle checks the boxes whose end is an event (their exit awaited or watched).
 * In between, it leaves them out: their end is an event, and a check of one costs about 15 µs
 * (a /proc read; even `kill(pid, 0)` costs 4-5 µs from Node), which at 10,000 boxes is most of
 * an idle cycle (issue 13). This sweep is the safety net for the rare end that sends no event (a
 * wrapper killed with SIGKILL, its box dying later). An event's boxes are checked at once (they
 * are suspects), and every box at a monitor's first cycle.
 */
export const IDENTITY_SWEEP_MS = 60_000

/** Whether a full cycle starting at `now` checks every active box (see `IDENTITY_SWEEP_MS`). */
export const identitySweepDue = (state: State, now: number): boolean => now - state.identitySweptAt >= IDENTITY_SWEEP_MS

/** Whether the end of `box`'s current run is an event (awaited or watched). */
export const exitIsEvent = (state: State, box: BoxRecord): boolean =>
  box.pid !== null && state.exitWatched.get(box.id) === box.pid

/**
 * The active boxes whose run's end nobody awaits yet (no exit waiter, no watch) and that are not
 * known to be unwatchable: their ends are to be watched through the runtime (issue 13).
 */
export const exitsToWatch = (state: State): ReadonlyArray<BoxRecord> => {
  const boxes: Array<BoxRecord> = []
  for (const box of state.known) {
    if (!isActive(box) || box.pid === null) continue
    if (exitIsEvent(state, box) || state.exitUnwatchable.get(box.id) === box.pid) continue
    boxes.push(box)
  }
  return boxes
}

/** Records by id, made once per records array (an unchanged file gives the very same array). */
const byIds = new WeakMap<ReadonlyArray<BoxRecord>, ReadonlyMap<string, BoxRecord>>()
const byIdOf = (records: ReadonlyArray<BoxRecord>): ReadonlyMap<string, BoxRecord> => {
  let byId = byIds.get(records)
  if (byId === undefined) {
    byId = new Map(records.map((box) => [box.id, box]))
    byIds.set(records, byId)
  }
  return byId
}

/** Refreshes the memory from freshly loaded records: what no longer applies to them is dropped. */
const remember = (initial: State, records: ReadonlyArray<BoxRecord>, now: number, backoff: Backoff.Machine): State => {
  const state = initial.backoffsResumed
    ? initial
    : { ...initial, backoffsResumed: true, backoffs: resumeBackoffs(initial.backoffs, records, backoff) }
  const { backoffs, gaveUp, killedForHealth, lastProbes } = state
  if (backoffs.size === 0 && killedForHealth.size === 0 && lastProbes.size === 0 && gaveUp.size === 0) {
    return state.known === records ? state : { ...state, known: records }
  }
  const byId = byIdOf(records)
  const keptGaveUp = new Set([...gaveUp].filter((id) => byId.get(id) !== undefined && isDead(byId.get(id)!)))
  const keptBackoffs = new Map<string, Backoff.Backoff>()
  for (const [id, entry] of backoffs) {
    const box = byId.get(id)
    if (box === undefined || !(isDead(box) || isActive(box))) continue
    const next = isRunning(box) ? backoff.running(entry, now) : entry
    if (next !== undefined) keptBackoffs.set(id, next)
  }
  const keptKilled = new Set(
    [...killedForHealth].filter((id) => state.busy.has(id) || (byId.get(id) !== undefined && isDead(byId.get(id)!)))
  )
  const keptProbes = new Map<string, LastProbe>()
  for (const [id, last] of lastProbes) {
    const box = byId.get(id)
    if (box !== undefined && box.pid === last.pid && box.pid_start_time === last.pidStartTime) keptProbes.set(id, last)
  }
  return {
    ...state,
    known: records,
    gaveUp: keptGaveUp,
    backoffs: keptBackoffs,
    killedForHealth: keptKilled,
    lastProbes: keptProbes
  }
}

/**
 * Issue 15: the backoff a monitor before this one left in the records, read back at this
 * monitor's first cycle so that a restarted monitor (or a standby taking over) continues a crash
 * loop's backoff instead of restarting it at once and starting over:
 * - a dead box with `next_restart_at` is waiting until then (a time already past: restarted at
 *   once, its failures kept);
 * - a box with `backoff_failures` and no wait was restarted by the monitor at `started_at`: up
 *   since then, so a death before the 30 s reset is one more failure, and 30 s up forgets it.
 * Later records need no reading back: only a monitor writes these fields, and this one knows its own.
 */
const resumeBackoffs = (
  backoffs: ReadonlyMap<string, Backoff.Backoff>,
  records: ReadonlyArray<BoxRecord>,
  backoff: Backoff.Machine
): ReadonlyMap<string, Backoff.Backoff> => {
  let resumed: Map<string, Backoff.Backoff> | undefined
  for (const box of records) {
    if (backoffs.has(box.id) || !(isDead(box) || isActive(box))) continue
    const failures = box.backoff_failures ?? 0
    const until = isDead(box) && box.next_restart_at !== undefined ? Date.parse(box.next_restart_at) : Number.NaN
    const since = box.started_at === null ? Number.NaN : Date.parse(box.started_at)
    const phase: Backoff.Phase | undefined = Number.isFinite(until)
      ? { _tag: "Waiting", until, announced: false }
      : failures > 0 && Number.isFinite(since)
      ? { _tag: "Up", since }
      : undefined
    if (phase === undefined) continue
    // A wait is behind at least one failure (a record of issue 14's has the wait alone).
    const entry = backoff.resume(phase._tag === "Waiting" ? Math.max(1, failures) : failures, phase, backoffBoundsOf(box))
    ;(resumed ??= new Map(backoffs)).set(box.id, entry)
  }
  return resumed ?? backoffs
}

/** Applies changes in order. */
export const updateAll = (state: State, changes: Iterable<Change>): State => {
  let next = state
  for (const change of changes) next = update(next, change)
  return next
}

// ---------------------------------------------------------------------------
// Reading the memory

/** The earliest end of a backoff wait still to come. */
export const nextRetryAt = (state: State, now: number): number | null => {
  let next: number | null = null
  for (const entry of state.backoffs.values()) {
    if (entry.phase._tag !== "Waiting" || entry.phase.until <= now) continue
    if (next === null || entry.phase.until < next) next = entry.phase.until
  }
  return next
}

/** When the current burst of exits ends (no exit for EXIT_BURST_GAP_MS, or EXIT_BURST_MAX_MS after it began). */
export const burstEndsAt = (state: State): number | null =>
  state.burstWaiting ? Math.min(state.lastExitAt + EXIT_BURST_GAP_MS, state.burstStart + EXIT_BURST_MAX_MS) : null
