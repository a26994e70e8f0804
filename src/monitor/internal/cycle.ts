/**
 * One poll cycle (SPEC §7), as a function from the supervisor's memory to its next value. It
 * reads the state without the lock (or reuses what it knows when the file's stamp has not
 * changed), observes, decides (`CycleDecision.decideCycle`, pure), boots every restart at once,
 * then writes it all in ONE locked update that re-checks each change against the state as it is
 * then (`Supervision.commitCycle`); when nothing changed it takes no lock at all.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as LogLevel from "effect/LogLevel"
import type * as Backoff from "../../domain/Backoff.js"
import type { NewBoxEvent } from "../../domain/BoxEvent.js"
import { type BoxRecord } from "../../domain/BoxRecord.js"
import { invalidRecordKey, invalidRecordProblem } from "../../domain/StateFileCodec.js"
import { needsLivenessCheck } from "../../domain/Reconcile.js"
import * as Supervision from "../../domain/Supervision.js"
import * as ThrottledLog from "../../platform/ThrottledLog.js"
import type { BootedBox, BoxRuntimeShape } from "../../runtime/BoxRuntime.js"
import * as Liveness from "../../runtime/Liveness.js"
import type { EventJournalShape } from "../../events/EventJournal.js"
import type { StateError, StateStoreShape } from "../../state/StateStore.js"
import type { MonitorStatsShape } from "../MonitorStats.js"
import { decideCycle, type LogLine, nameOf, restartFailed } from "./CycleDecision.js"
import * as JournalEvents from "./journalEvents.js"
import { SupervisorEvent } from "./SupervisorEvent.js"
import { Change, exitIsEvent, identitySweepDue, type State, update } from "./SupervisorState.js"

/** How often a death seen without an exit code is looked at again meanwhile. */
const EXIT_CODE_POLL = Duration.millis(20)

/** What a cycle works with: the services, and where its workers run. */
export interface CycleContext {
  readonly store: StateStoreShape
  readonly runtime: BoxRuntimeShape
  readonly stats: MonitorStatsShape
  /** Where what the cycle recorded is told (issue 14), after its write. */
  readonly journal: EventJournalShape
  readonly backoff: Backoff.Machine
  readonly offer: (event: SupervisorEvent) => Effect.Effect<void>
  /** The exit waiters of the boxes the monitor booted, by box id. */
  readonly exitWaiters: FiberMap.FiberMap<string>
  /** The unhealthy restarts under way, by box id. */
  readonly stops: FiberMap.FiberMap<string>
  /** Short timers (deaths held back for their exit code). */
  readonly timers: FiberSet.FiberSet
  /** The stop-then-mark of an unhealthy box (see `workers.ts`). */
  readonly unhealthyRestart: (box: BoxRecord) => Effect.Effect<void>
}

/** Every log line about a box carries the box's name and short id. */
export const aboutBox = (box: BoxRecord) => Effect.annotateLogs({ box: box.name, box_id: box.short_id })

/** Writes the lines, in order. */
export const writeLogs = (lines: ReadonlyArray<LogLine>): Effect.Effect<void> =>
  Effect.forEach(lines, (line) => {
    let effect = Effect.logWithLevel(LogLevel.fromLiteral(line.level), line.message)
    if (line.annotations !== undefined) effect = Effect.annotateLogs(effect, line.annotations)
    return line.box === undefined ? effect : aboutBox(line.box)(effect)
  }, { discard: true })

interface Booted {
  readonly candidate: Supervision.Candidate
  readonly booted: BootedBox
}

/** The active boxes of `records`, once per records array (an unchanged file gives the very same array). */
const actives = new WeakMap<ReadonlyArray<BoxRecord>, ReadonlyArray<BoxRecord>>()
const activeOf = (records: ReadonlyArray<BoxRecord>): ReadonlyArray<BoxRecord> => {
  let active = actives.get(records)
  if (active === undefined) {
    active = records.filter(needsLivenessCheck)
    actives.set(records, active)
  }
  return active
}

/**
 * The active boxes a full cycle checks: all of them at an identity sweep; between sweeps, those
 * whose end is not an event (not awaited or watched) and the suspects (an event named them).
 */
const fullCycleTargets = (state: State, records: ReadonlyArray<BoxRecord>, sweep: boolean, suspects: ReadonlySet<string>) => {
  const active = activeOf(records)
  if (sweep || state.exitWatched.size === 0) return active
  return active.filter((box) => !exitIsEvent(state, box) || suspects.has(box.id))
}

export const run = (ctx: CycleContext, initial: State): Effect.Effect<State> =>
  Effect.gen(function*() {
    const { backoff, runtime, stats, store } = ctx
    let state = initial
    const startedAt = yield* Clock.currentTimeMillis
    const currentStamp: Effect.Effect<string | undefined> = store.stamp ?? Effect.succeed(undefined)
    const stampBefore = yield* currentStamp
    // Unchanged since the last cycle read or wrote it: what the monitor knows is the file.
    // (A full cycle always reads it; the write below re-checks everything under the lock.)
    const unchanged = state.haveKnown && !state.fullCycleDue && stampBefore !== undefined &&
      stampBefore === state.lastStamp
    const snapshot = unchanged ? Either.right(state.known) : yield* Effect.either(store.snapshot)
    if (Either.isLeft(snapshot)) {
      const message = snapshot.left.message
      const last = state.lastStateError
      const repeated = last !== undefined && last.message === message && !ThrottledLog.isDue(last.at, startedAt)
      state = update(state, Change.ReadFailed({ stamp: stampBefore, message, at: startedAt, logged: !repeated }))
      if (!repeated) yield* Effect.logError(`monitor: ${message}`)
      // Journalled once per problem (not at every throttled repeat of its log line).
      if (last === undefined || last.message !== message) yield* ctx.journal.append([{ type: "state-corrupt", detail: message }])
      const end = yield* Clock.currentTimeMillis
      yield* stats.cycleCompleted(end, (end - startedAt) / 1000, false)
      return state
    }
    if (state.lastStateError !== undefined) {
      yield* Effect.logInfo(`monitor: state file ${store.path} is readable again`)
      yield* ctx.journal.append([{ type: "state-recovered" }])
    }
    state = update(state, Change.ReadOk({ invalid: unchanged ? undefined : yield* reportInvalid(store, state.reportedInvalid) }))
    const records = snapshot.right
    const full = state.fullCycleDue
    const targets = state.suspects
    // SPEC §3, for every active box in a full cycle, else for the suspects only; between
    // identity sweeps, a full cycle leaves out the boxes whose end is an event
    // (SupervisorState.IDENTITY_SWEEP_MS). Only the deaths are observed (and the boxes awaiting
    // their exit code): a live box's observation changes nothing (see Liveness.observeDeaths).
    const sweep = full && identitySweepDue(state, startedAt)
    const checked = full
      ? fullCycleTargets(state, records, sweep, targets)
      : records.filter((box) => needsLivenessCheck(box) && targets.has(box.id))
    state = update(state, Change.CycleStarted())
    if (sweep) state = update(state, Change.IdentitySwept({ at: startedAt }))
    const observed = yield* Liveness.observeDeaths(runtime, checked, state.awaitedExits)
    let now = yield* Clock.currentTimeMillis
    const observedMillis = now - startedAt
    const decision = decideCycle(state, records, observed, now, backoff)
    state = decision.state
    yield* writeLogs(decision.logs)
    // The journal's entries of this cycle, appended once its write is done and its boots released.
    const journalled: Array<NewBoxEvent> = []
    const waits = new Map(decision.waits)
    if (decision.recheck.length > 0) {
      yield* FiberSet.run(ctx.timers, Effect.zipRight(Effect.sleep(EXIT_CODE_POLL), ctx.offer(SupervisorEvent.Recheck({ ids: decision.recheck }))))
    }

    // SPEC §7: every ready restart boots at once; failed boots back off. Gated: each box's
    // command runs only once its restart is recorded (below), so a monitor killed in between
    // never leaves a box running that no record names (SPEC §11).
    const booted: Array<Booted> = []
    if (decision.boots.length > 0) {
      const attempts = yield* Effect.forEach(decision.boots, (c) => Effect.either(runtime.boot(c.box, { gated: true })), {
        concurrency: "unbounded"
      })
      const at = yield* Clock.currentTimeMillis
      for (const [i, attempt] of attempts.entries()) {
        const candidate = decision.boots[i]!
        if (Either.isRight(attempt)) {
          booted.push({ candidate, booted: attempt.right })
          continue
        }
        const failed = restartFailed(state, candidate, attempt.left.reason, at, backoff)
        state = failed.state
        journalled.push(failed.event)
        waits.set(candidate.box.id, failed.wait)
        yield* stats.restarted(candidate.reason, "error")
        yield* writeLogs([failed.log])
      }
    }
    now = yield* Clock.currentTimeMillis
    const bootedAt = now
    let wrote = false
    if (decision.changed || decision.reports.length > 0 || booted.length > 0 || waits.size > 0) {
      wrote = true
      const commit = Supervision.commitCycle(
        decision.observations,
        decision.reports,
        booted.map((b) => ({
          decided: b.candidate.box,
          boot: b.booted,
          reason: b.candidate.reason,
          failures: state.backoffs.get(b.candidate.box.id)?.failures ?? 0
        })),
        now,
        waits
      )
      const written = yield* Effect.either(store.modify(commit))
      // Not written: what this cycle found is looked at again next time (a full cycle).
      state = update(state, Change.Written({ records: Either.isRight(written) ? written.right.records : undefined }))
      if (Either.isLeft(written) && booted.length === 0) yield* Effect.logError(`monitor: ${written.left.message}`)
      state = yield* settleBoots(ctx, state, booted, Either.map(written, (w) => w.outcomes), now, journalled)
      if (Either.isRight(written)) {
        const reasons = new Map(booted.map((b) => [b.candidate.box.id, b.candidate.reason]))
        journalled.unshift(...JournalEvents.ofCommit(written.right, decision.reports, reasons))
      }
    }
    // The journal never fails, and the restarts are running by now: nothing waits on it but this cycle's end.
    yield* ctx.journal.append([...journalled, ...decision.events])
    state = update(state, Change.CycleEnded({ stamp: wrote ? yield* currentStamp : stampBefore }))
    for (const box of decision.stops) yield* FiberMap.run(ctx.stops, box.id, Effect.interruptible(ctx.unhealthyRestart(box)))
    const end = yield* Clock.currentTimeMillis
    yield* stats.cycleCompleted(end, (end - startedAt) / 1000, true)
    yield* Effect.logDebug(
      `monitor: cycle took ${end - startedAt} ms (observe ${observedMillis} ms, ${decision.boots.length} boots ${
        bootedAt - startedAt - observedMillis
      } ms, write ${end - bootedAt} ms)`
    )
    return state
  })

/** Logs each new problem of the file's invalid records, once: they are kept as they are and not supervised. */
const reportInvalid = (store: StateStoreShape, reported: ReadonlySet<string>) =>
  Effect.gen(function*() {
    const invalid = yield* Effect.orElseSucceed(store.invalid, () => [])
    const keys = new Set<string>()
    for (const record of invalid) {
      const key = invalidRecordKey(record)
      keys.add(key)
      if (reported.has(key)) continue
      yield* Effect.logWarning(
        `monitor: state file ${store.path}: ${invalidRecordProblem(record)}; it is kept as it is and not supervised: fix or remove it`
      )
    }
    return keys
  })

/** Stops a process the monitor booted but could not record, so that nothing runs unrecorded. */
const stopUnrecorded = (runtime: BoxRuntimeShape, box: BoxRecord, booted: BootedBox) =>
  // A gated box has not run its command yet: dropped before it does.
  booted.abandon ?? runtime.stop({ ...box, status: "running", pid: booted.pid, pid_start_time: booted.pidStartTime }).pipe(
    Effect.catchAll((error) =>
      Effect.logError(`monitor: cannot stop process ${booted.pid} of box ${nameOf(box)}): ${error.reason}`)
    ),
    Effect.asVoid,
    aboutBox(box)
  )

/** What became of the boots once the cycle's write is done (or failed: then nothing may run unrecorded). */
const settleBoots = (
  ctx: CycleContext,
  initial: State,
  booted: ReadonlyArray<Booted>,
  written: Either.Either<ReadonlyArray<Supervision.RecordOutcome>, StateError>,
  now: number,
  journalled: Array<NewBoxEvent>
): Effect.Effect<State> =>
  Effect.gen(function*() {
    const { backoff, runtime, stats } = ctx
    let state = initial
    if (Either.isLeft(written)) {
      for (const b of booted) {
        yield* stopUnrecorded(runtime, b.candidate.box, b.booted)
        const failed = restartFailed(state, b.candidate, `cannot record it: ${written.left.message}`, now, backoff)
        state = failed.state
        journalled.push(failed.event)
        yield* stats.restarted(b.candidate.reason, "error")
        yield* writeLogs([failed.log])
      }
      return state
    }
    for (const [i, outcome] of written.right.entries()) {
      const { booted: process, candidate } = booted[i]!
      const id = candidate.box.id
      if (outcome._tag === "Dropped") {
        state = update(state, Change.BootSettled({ id, recorded: false, backoff: undefined }))
        yield* stopUnrecorded(runtime, candidate.box, process)
        yield* Effect.logInfo(`monitor: box ${nameOf(candidate.box)}) not restarted: ${outcome.reason}`).pipe(
          aboutBox(candidate.box)
        )
        continue
      }
      if (process.release !== undefined) yield* process.release
      state = update(state, Change.BootSettled({ id, recorded: true, backoff: backoff.booted(state.backoffs.get(id), now) }))
      yield* stats.restarted(candidate.reason, "ok")
      yield* Effect.logInfo(`monitor: box ${nameOf(outcome.box)}) restarted (count: ${outcome.box.restart_count})`)
        .pipe(aboutBox(outcome.box), Effect.annotateLogs({ event: "restarted", restart_count: outcome.box.restart_count }))
      // A box the monitor booted is its child: its exit is an event, noticed at once.
      state = update(state, Change.ExitAwaited({ id, pid: process.pid }))
      yield* FiberMap.run(
        ctx.exitWaiters,
        id,
        Effect.interruptible(Effect.flatMap(process.exited, () =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => ctx.offer(SupervisorEvent.Exited({ id, pid: process.pid, at })))))
      )
    }
    return state
  })
