/**
 * The supervisor's workers: health checks and unhealthy restarts, each a fiber of its own (in a
 * FiberMap keyed by box) so a wedged one delays nothing else. A worker never touches the
 * supervisor's state: it reports what it found to the owner as an event.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import * as Supervision from "../../domain/Supervision.js"
import { type BoxRuntimeShape, ProbeResult } from "../../runtime/BoxRuntime.js"
import type { EventJournalShape } from "../../events/EventJournal.js"
import type { StateStoreShape } from "../../state/StateStore.js"
import { aboutBox } from "./cycle.js"
import { nameOf } from "./CycleDecision.js"
import * as JournalEvents from "./journalEvents.js"
import { SupervisorEvent } from "./SupervisorEvent.js"
import type { State } from "./SupervisorState.js"

/** The supervisor's own deadline for a probe: the runtime's timeout plus this grace. */
const PROBE_GRACE_MS = 1_000

/** A health check under its hard deadline, at most `slots` at once; its result goes to `offer`. */
export const probe = (
  runtime: BoxRuntimeShape,
  slots: Effect.Semaphore,
  offer: (event: SupervisorEvent) => Effect.Effect<void>,
  box: BoxRecord
): Effect.Effect<void> => {
  const deadline = Supervision.probeTimeoutMillis(box) + PROBE_GRACE_MS
  const timedOut = () =>
    ProbeResult.Unhealthy({ reason: `health check timed out after ${Supervision.probeTimeoutMillis(box) / 1000}s` })
  return slots.withPermits(1)(
    runtime.probe(box).pipe(
      Effect.timeoutTo({ duration: Duration.millis(deadline), onSuccess: (r: ProbeResult) => r, onTimeout: timedOut })
    )
  ).pipe(
    Effect.flatMap((result) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => offer(SupervisorEvent.Probed({ box, result, at })))
    ),
    aboutBox(box)
  )
}

/**
 * Awaits the end of the run of a box the monitor did not boot (issue 13: every box's exit is an
 * event), for as long as the fiber lives; the owner hears of its end, or that it cannot be watched.
 */
export const awaitExit = (
  runtime: BoxRuntimeShape,
  offer: (event: SupervisorEvent) => Effect.Effect<void>,
  box: BoxRecord & { readonly pid: number }
): Effect.Effect<void> =>
  Effect.scoped(Effect.gen(function*() {
    const watch = yield* runtime.watchExit(box)
    if (watch._tag === "Unwatchable") {
      yield* Effect.logDebug(`monitor: box ${box.id}'s end is polled: ${watch.reason}`)
      return yield* offer(SupervisorEvent.ExitUnwatchable({ id: box.id, pid: box.pid, reason: watch.reason }))
    }
    yield* watch.ended
    const at = yield* Clock.currentTimeMillis
    yield* offer(SupervisorEvent.Exited({ id: box.id, pid: box.pid, at }))
  }))

/**
 * SPEC §6: stop the unhealthy box gracefully, then re-read under the lock. A user stop or
 * removal, or a new incarnation, meanwhile wins; otherwise the box is marked dead and the next
 * cycle restarts it like a dead box.
 */
export const unhealthyRestart = (
  runtime: BoxRuntimeShape,
  store: StateStoreShape,
  journal: EventJournalShape,
  offer: (event: SupervisorEvent) => Effect.Effect<void>,
  box: BoxRecord
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const done = (killedForHealth: boolean, stopFailed?: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        offer(SupervisorEvent.UnhealthyStopped({ box, killedForHealth, stopFailed, at })))
    yield* Effect.logWarning(
      `monitor: box ${nameOf(box)}, policy: ${box.restart_policy}) is unhealthy, restarting...`
    ).pipe(Effect.annotateLogs({ event: "unhealthy", policy: box.restart_policy }))
    const stopped = yield* Effect.either(runtime.stop(box))
    if (Either.isLeft(stopped)) return yield* done(false, stopped.left.reason)
    const stoppedAt = yield* Clock.currentTimeMillis
    const mark = Supervision.afterUnhealthyStop(box, Option.getOrNull(stopped.right), stoppedAt)
    // The record as this stop marked it dead (none when someone else had already): its death is journalled.
    let markedDead: BoxRecord | undefined
    const marked = yield* Effect.either(
      store.modify((records) => {
        const [outcome, next] = mark(records)
        markedDead = next === records ? undefined : next.find((r) => r.id === box.id)
        return [outcome, next] as const
      })
    )
    if (Either.isLeft(marked)) {
      // Stopped but not marked: the next reconcile finds it dead; restart it as decided.
      yield* Effect.logError(`monitor: box ${nameOf(box)}) stopped, but ${marked.left.message}`)
      return yield* done(true)
    }
    if (marked.right._tag === "Aborted") {
      yield* Effect.logInfo(`monitor: box ${nameOf(box)}) not restarted: ${marked.right.reason}`)
      return yield* done(false)
    }
    if (markedDead !== undefined) yield* journal.append([JournalEvents.died(markedDead)])
    yield* done(true)
  }).pipe(aboutBox(box))

/**
 * The boxes of `records` with a health check schedule (`Supervision.nextProbeAt` not null), and
 * when each is due by its record, worked out once per records array: records are immutable
 * and an unchanged state file gives the very same array, so the probes are planned (after every
 * cycle) without parsing timestamps again for the thousands of boxes not due.
 */
const schedules = new WeakMap<ReadonlyArray<BoxRecord>, { readonly boxes: ReadonlyArray<BoxRecord>; readonly due: ReadonlyArray<number> }>()
const scheduleOf = (records: ReadonlyArray<BoxRecord>) => {
  let schedule = schedules.get(records)
  if (schedule === undefined) {
    const boxes: Array<BoxRecord> = []
    const due: Array<number> = []
    for (const box of records) {
      const at = Supervision.nextProbeAt(box)
      if (at === null) continue
      boxes.push(box)
      due.push(at)
    }
    schedule = { boxes, due }
    schedules.set(records, schedule)
  }
  return schedule
}

/** The record with the probe time the supervisor remembers, if the file does not have it yet. */
const withLastProbe = (state: State, box: BoxRecord): BoxRecord => {
  const last = state.lastProbes.get(box.id)
  if (last === undefined || last.pid !== box.pid || last.pidStartTime !== box.pid_start_time) return box
  const inFile = Supervision.parseTimestamp(box.health_last_check)
  return inFile !== null && inFile >= last.at ? box : { ...box, health_last_check: Supervision.timestamp(last.at) }
}

/**
 * The probes to start at `now` (due, not running, not being restarted), and when the next one
 * not yet due will be. Pure: `probing` says which boxes have a probe running.
 */
export const dueProbes = (
  state: State,
  now: number,
  probing: (id: string) => boolean
): { readonly due: ReadonlyArray<BoxRecord>; readonly next: number | null } => {
  let next: number | null = null
  const due: Array<BoxRecord> = []
  const { boxes, due: dueByRecord } = scheduleOf(state.known)
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i]!
    if (probing(box.id) || state.busy.has(box.id)) continue
    // A probe whose result is not written yet moves the box's next check on.
    const at = state.lastProbes.size > 0 && state.lastProbes.has(box.id)
      ? Supervision.nextProbeAt(withLastProbe(state, box))
      : dueByRecord[i]!
    if (at === null) continue
    if (at <= now) due.push(box)
    else if (next === null || at < next) next = at
  }
  return { due, next }
}
