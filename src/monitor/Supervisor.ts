import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Backoff from "../domain/Backoff.js"
import { type BoxRecord, invalidRecordKey, invalidRecordProblem, isActive } from "../domain/BoxRecord.js"
import { needsLivenessCheck, type Observations, reconcile } from "../domain/Reconcile.js"
import * as RestartPolicy from "../domain/RestartPolicy.js"
import * as Supervision from "../domain/Supervision.js"
import { type BootedBox, BoxRuntime, type ProbeResult } from "../runtime/BoxRuntime.js"
import * as Liveness from "../runtime/Liveness.js"
import { StateFileChange, type StateError, StateStore } from "../state/StateStore.js"
import { MonitorConfig } from "./MonitorConfig.js"
import { MonitorStats } from "./MonitorStats.js"

/**
 * The supervisor (SPEC §3–7): a scoped set of fibers that keeps the boxes of one state store
 * alive.
 *
 * - The **cycle loop** runs one poll cycle at a time, whenever it is woken: by the poll
 *   schedule (`Schedule.spaced(interval)`: a *full* cycle, which checks every active box's
 *   liveness and identity), by a change of the state file (full), by the exit of a box it
 *   booted or a pid the liveness tick found gone (a cycle that checks those boxes), by a
 *   failed health check, or by the end of a box's backoff wait. Wake-ups that arrive during
 *   a cycle are coalesced into one more cycle; cycles never overlap. A cycle reads the state
 *   without the lock (or reuses what it knows when the file's stamp has not changed),
 *   reconciles and applies probe results in memory, decides, boots every restart at once,
 *   then writes it all in ONE locked update that re-checks each change against the state as
 *   it is then (see `Supervision.commitCycle`). On shutdown the cycle in progress completes,
 *   so a booted box is always recorded.
 * - The **liveness tick** (`livenessTick`, 100 ms) checks that the pids of active boxes the
 *   monitor did not boot still exist (`kill(pid, 0)`; a box it booted is its child, whose exit
 *   is an event), stats the state file unless the store watches it (`StateStore.watch`:
 *   another command's write then wakes a full cycle at once), and wakes the loop when either
 *   changed; identity (pid start time) is verified by the cycle's reconcile. With nothing to
 *   poll it sleeps: an idle monitor of boxes it booted wakes only for its poll cycles.
 * - The **probe loop** starts due health checks when they become due, at most
 *   `probeConcurrency` at once, each under a hard timeout, in fibers of their own so a
 *   wedged check delays nothing else. Results are applied by the next cycle, in one write,
 *   and only to the same incarnation; a failed check wakes the loop at once.
 * - An **unhealthy restart** stops the box gracefully in a fiber of its own, re-reads the
 *   state under the lock, then leaves the restart to the cycle loop (SPEC §6).
 *
 * Needs only `StateStore`, `BoxRuntime`, `MonitorConfig`, `MonitorStats` and the `Clock`.
 */
export interface SupervisorShape {
  /** Asks for a poll cycle as soon as possible (coalesced with any already pending). */
  readonly wake: Effect.Effect<void>
}

export class Supervisor extends Context.Tag("a3s-box/Supervisor")<Supervisor, SupervisorShape>() {}

/** `NAME (SHORT_ID` — the way log lines name a box. */
const nameOf = (box: BoxRecord): string => `${box.name} (${box.short_id}`

/** Every log line about a box carries the box's name and short id. */
const aboutBox = (box: BoxRecord) => Effect.annotateLogs({ box: box.name, box_id: box.short_id })

/** Repeats an unchanged state-file error at most this often. */
const REPEAT_STATE_ERROR_MS = 60_000
/** How long a death seen without an exit code waits for the wrapper to write it (LocalBoxRuntime.stop waits as long). */
const EXIT_CODE_GRACE_MS = 2_000
/** How often such a death is looked at again meanwhile. */
const EXIT_CODE_POLL = Duration.millis(20)
/** Exits of booted boxes closer together than this are one burst, restarted by one cycle (see `exitSeen`). */
const EXIT_BURST_GAP_MS = 5
/** A burst's exits wait at most this long after its first for the burst to end. */
const EXIT_BURST_MAX_MS = 60
/** The supervisor's own deadline for a probe: the runtime's timeout plus this grace. */
const PROBE_GRACE_MS = 1_000

interface WatchedPid {
  readonly id: string
  readonly pid: number
  alive: boolean
}

interface LastProbe {
  readonly pid: number | null
  readonly pidStartTime: number | null
  readonly at: number
}

type Candidate = Supervision.Candidate

/**
 * `f` computed once per records array: records are immutable, and the supervisor keeps the very
 * same array while the state file is unchanged, so what it derives from them need not be redone.
 */
const perRecords = <A>(f: (records: ReadonlyArray<BoxRecord>) => A) => {
  const cache = new WeakMap<ReadonlyArray<BoxRecord>, A>()
  return (records: ReadonlyArray<BoxRecord>): A => {
    if (cache.has(records)) return cache.get(records)!
    const value = f(records)
    cache.set(records, value)
    return value
  }
}

export const make: Effect.Effect<
  SupervisorShape,
  never,
  StateStore | BoxRuntime | MonitorConfig | MonitorStats | Scope.Scope
> = Effect.gen(function*() {
  const store = yield* StateStore
  const runtime = yield* BoxRuntime
  const config = yield* MonitorConfig
  const stats = yield* MonitorStats
  const scope = yield* Effect.scope
  const backoff = Backoff.machine({ base: config.backoffBase, cap: config.backoffCap, reset: config.backoffReset })

  const wakeups = yield* Queue.dropping<void>(1)
  const probeWakeups = yield* Queue.dropping<void>(1)
  const probeSlots = yield* Effect.makeSemaphore(Math.max(1, config.probeConcurrency))
  const currentStamp: Effect.Effect<string | undefined> = store.stamp ?? Effect.succeed(undefined)
  /** Asks for a cycle that looks at what is known to need it (dead boxes, due retries, probe results). */
  const wake = Queue.offer(wakeups, undefined).pipe(Effect.asVoid)
  /** Asks for a full cycle: the liveness and identity of every active box is checked. */
  const wakeFull = Effect.suspend(() => {
    fullCycleDue = true
    return wake
  })
  /** Asks for a cycle that checks (at least) these boxes: they may have died. */
  const wakeFor = (ids: ReadonlyArray<string>) =>
    Effect.suspend(() => {
      for (const id of ids) suspects.add(id)
      return wake
    })
  const wakeProbes = Queue.offer(probeWakeups, undefined).pipe(Effect.asVoid)
  /** Wakes the liveness tick loop, which sleeps while it has nothing to poll. */
  const tickWakeups = yield* Queue.dropping<void>(1)

  // The supervisor's memory. Only touched inside effects; JavaScript runs one fiber at a time.
  /** The next cycle checks every active box (set by the poll schedule and by state file changes). */
  let fullCycleDue = true
  /** Boxes the next cycle checks even if it is not a full one: their process exited or vanished. */
  const suspects = new Set<string>()
  /** Deaths seen before the box's exit code was written (see `Supervision.holdUnknownExits`). */
  let awaitedExits: ReadonlyMap<string, Supervision.AwaitedExit> = new Map()
  /** Per-box restart backoff (SPEC §5). */
  const backoffs = new Map<string, Backoff.Backoff>()
  /** Boxes the monitor stopped for being unhealthy and marked dead: restart them whatever their exit code. */
  const killedForHealth = new Set<string>()
  /** Dead boxes whose policy's restarts are used up, already logged as such (once per death). */
  const gaveUp = new Set<string>()
  /** Boxes whose unhealthy restart (graceful stop) is under way. */
  const busy = new Set<string>()
  /** Boxes with a health check running or waiting for a slot. */
  const probing = new Set<string>()
  /** Probe results not yet written to the state file. */
  let pendingProbes: Array<Supervision.ProbeReport> = []
  /** When each box (incarnation) was last probed, in case its result is not written yet. */
  const lastProbes = new Map<string, LastProbe>()
  /** The records as of the last cycle. */
  let known: ReadonlyArray<BoxRecord> = []
  /** Active boxes' pids for the liveness tick. */
  let watched: Array<WatchedPid> = []
  /** The records `watched` was made from (an unchanged file gives the very same array). */
  let watchedFrom: ReadonlyArray<BoxRecord> | undefined
  /**
   * Boxes whose process the monitor booted and whose exit it awaits (id -> pid): their death is
   * an event (`watchExit`), so the liveness tick does not poll them.
   */
  const exitWatched = new Map<string, number>()
  let exitWatchedVersion = 0
  /** Whether the state file is watched for changes (`StateStore.watch`); if not, the tick polls its stamp. */
  let fileWatched = false
  /** The state file changed during a cycle: its stamp is looked at when the cycle ends. */
  let recheckStamp = false
  /** The state file's stamp as of `known` (our own writes included). */
  let lastStamp: string | undefined
  /** Whether `known` holds what a cycle read or wrote. */
  let haveKnown = false
  let cycling = false
  let lastStateError: { readonly message: string; readonly at: number } | undefined
  /** The invalid records' problems already logged (SPEC §12): each is logged once while it lasts. */
  let reportedInvalid: ReadonlySet<string> = new Set()

  /** A bug must not stop the loop: a defect is logged and `fallback` is used. */
  const keepGoing = <A, E, R, B>(name: string, effect: Effect.Effect<A, E, R>, fallback: B) =>
    effect.pipe(
      Effect.catchAllDefect((defect) => Effect.as(Effect.logError(`monitor: ${name} failed`, defect), fallback))
    )

  /** Runs `effect` in a fiber of the supervisor's scope (interruptible even when forked from a cycle). */
  const spawn = <A, E>(effect: Effect.Effect<A, E>) => Effect.asVoid(Effect.forkIn(Effect.interruptible(effect), scope))

  const restartFailed = (candidate: Candidate, reason: string, now: number) =>
    Effect.gen(function*() {
      const { next, wait } = backoff.attemptFailed(backoffs.get(candidate.box.id), now)
      backoffs.set(candidate.box.id, next)
      yield* stats.restarted(candidate.reason, "error")
      yield* Effect.logError(
        `monitor: failed to restart box ${nameOf(candidate.box)}): ${reason} (next retry in ${Backoff.formatSeconds(wait)})`
      ).pipe(Effect.annotateLogs({ event: "restart_failed", error: reason, next_retry_secs: Backoff.seconds(wait) }))
    }).pipe(aboutBox(candidate.box))

  /** Stops a process the monitor booted but could not record, so that nothing runs unrecorded. */
  const stopUnrecorded = (box: BoxRecord, booted: BootedBox) =>
    // A gated box (see bootAll) has not run its command yet: dropped before it does.
    booted.abandon ?? runtime.stop({ ...box, status: "running", pid: booted.pid, pid_start_time: booted.pidStartTime }).pipe(
      Effect.catchAll((error) =>
        Effect.logError(`monitor: cannot stop process ${booted.pid} of box ${nameOf(box)}): ${error.reason}`)
      ),
      Effect.asVoid,
      aboutBox(box)
    )

  /** A box the monitor booted is its child: its exit is noticed at once, not at the next poll. */
  const watchExit = (id: string, booted: BootedBox) => spawn(Effect.zipRight(awaitExit(id, booted), exitSeen(id)))

  // A burst of exits (a restart storm: many boxes killed at once) arrives over some
  // milliseconds, as their wrappers get the CPU to report. The first exit wakes the loop at
  // once (a lone crash is restarted without delay, and so is an exit after a cycle has
  // handled the previous one); the others of the burst wake it when the burst has ended (no
  // exit for EXIT_BURST_GAP_MS, or EXIT_BURST_MAX_MS after it began), so that they are
  // restarted together by one cycle (one launch, one write) rather than by a cycle for
  // whatever happened to have arrived when the previous one ended.
  /** When the last exit was seen, and when the burst it belongs to began. */
  let lastExitAt = Number.NEGATIVE_INFINITY
  let burstStart = Number.NEGATIVE_INFINITY
  /** A fiber waits for the current burst to end. */
  let burstWaiting = false
  const burstEnded = Effect.gen(function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const until = Math.min(lastExitAt + EXIT_BURST_GAP_MS, burstStart + EXIT_BURST_MAX_MS)
      if (now >= until) break
      yield* Effect.sleep(Duration.millis(until - now))
    }
  }).pipe(Effect.ensuring(Effect.sync(() => burstWaiting = false)), Effect.zipRight(wake))
  const exitSeen = (id: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      // Part of a burst: close to the previous exit, which a cycle is handling or is yet to take.
      const inBurst = now - lastExitAt < EXIT_BURST_GAP_MS && (cycling || suspects.size > 0)
      suspects.add(id)
      lastExitAt = now
      if (!inBurst) {
        burstStart = now
        return wake
      }
      if (burstWaiting) return Effect.void
      burstWaiting = true
      return spawn(burstEnded)
    })

  /**
   * `booted.exited`, with the box noted in `exitWatched` meanwhile: the liveness tick need not
   * poll a process whose exit is an event. (Its identity is still verified by every full cycle.)
   */
  const awaitExit = (id: string, booted: BootedBox) =>
    Effect.suspend(() => {
      exitWatched.set(id, booted.pid)
      exitWatchedVersion++
      return Effect.ensuring(
        booted.exited,
        Effect.sync(() => {
          if (exitWatched.get(id) !== booted.pid) return
          exitWatched.delete(id)
          exitWatchedVersion++
          tickWakeups.unsafeOffer(undefined)
        })
      )
    })

  interface Booted {
    readonly candidate: Candidate
    readonly booted: BootedBox
  }

  /** SPEC §7: boots every ready candidate at once; failed boots back off. */
  const bootAll = (ready: ReadonlyArray<Candidate>) =>
    Effect.gen(function*() {
      for (const { box, reason } of ready) {
        if (reason !== "dead") continue
        yield* Effect.logInfo(
          `monitor: restarting dead box ${nameOf(box)}, policy: ${box.restart_policy}, exit: ${box.exit_code ?? "unknown"})...`
        ).pipe(aboutBox(box), Effect.annotateLogs({ event: "restarting", policy: box.restart_policy, exit_code: box.exit_code }))
      }
      // Gated: each box's command runs only once its restart is recorded (settleBoots), so a
      // monitor killed in between never leaves a box running that no record names (SPEC §11).
      const attempts = yield* Effect.forEach(ready, (c) => Effect.either(runtime.boot(c.box, { gated: true })), {
        concurrency: "unbounded"
      })
      const now = yield* Clock.currentTimeMillis
      const booted: Array<Booted> = []
      for (const [i, attempt] of attempts.entries()) {
        const candidate = ready[i]!
        if (Either.isLeft(attempt)) yield* restartFailed(candidate, attempt.left.reason, now)
        else booted.push({ candidate, booted: attempt.right })
      }
      return booted
    })

  /** What became of the boots once the cycle's write is done (or failed: then nothing may run unrecorded). */
  const settleBoots = (
    booted: ReadonlyArray<Booted>,
    written: Either.Either<ReadonlyArray<Supervision.RecordOutcome>, StateError>,
    now: number
  ) =>
    Effect.gen(function*() {
      if (Either.isLeft(written)) {
        for (const b of booted) {
          yield* stopUnrecorded(b.candidate.box, b.booted)
          yield* restartFailed(b.candidate, `cannot record it: ${written.left.message}`, now)
        }
        return
      }
      for (const [i, outcome] of written.right.entries()) {
        const { booted: process, candidate } = booted[i]!
        const id = candidate.box.id
        killedForHealth.delete(id)
        if (outcome._tag === "Dropped") {
          backoffs.delete(id)
          yield* stopUnrecorded(candidate.box, process)
          yield* Effect.logInfo(`monitor: box ${nameOf(candidate.box)}) not restarted: ${outcome.reason}`).pipe(
            aboutBox(candidate.box)
          )
          continue
        }
        if (process.release !== undefined) yield* process.release
        backoffs.set(id, backoff.booted(backoffs.get(id), now))
        lastProbes.delete(id)
        yield* stats.restarted(candidate.reason, "ok")
        yield* Effect.logInfo(`monitor: box ${nameOf(outcome.box)}) restarted (count: ${outcome.box.restart_count})`)
          .pipe(aboutBox(outcome.box), Effect.annotateLogs({ event: "restarted", restart_count: outcome.box.restart_count }))
        yield* watchExit(id, process)
      }
    })

  /**
   * SPEC §6: stop the unhealthy box gracefully, then re-read under the lock. A user stop or
   * removal, or a new incarnation, meanwhile wins; otherwise the box is marked dead and the
   * cycle loop restarts it like a dead box.
   */
  const unhealthyRestart = (box: BoxRecord) =>
    Effect.gen(function*() {
      yield* Effect.logWarning(
        `monitor: box ${nameOf(box)}, policy: ${box.restart_policy}) is unhealthy, restarting...`
      ).pipe(Effect.annotateLogs({ event: "unhealthy", policy: box.restart_policy }))
      const stopped = yield* Effect.either(runtime.stop(box))
      if (Either.isLeft(stopped)) {
        const now = yield* Clock.currentTimeMillis
        return yield* restartFailed({ box, reason: "unhealthy" }, stopped.left.reason, now)
      }
      const marked = yield* Effect.either(
        store.modify(Supervision.afterUnhealthyStop(box, Option.getOrNull(stopped.right)))
      )
      if (Either.isLeft(marked)) {
        // Stopped but not marked: the next reconcile finds it dead; restart it as decided.
        killedForHealth.add(box.id)
        return yield* Effect.logError(`monitor: box ${nameOf(box)}) stopped, but ${marked.left.message}`)
      }
      if (marked.right._tag === "Aborted") {
        return yield* Effect.logInfo(`monitor: box ${nameOf(box)}) not restarted: ${marked.right.reason}`)
      }
      killedForHealth.add(box.id)
    }).pipe(
      Effect.ensuring(Effect.zipRight(Effect.sync(() => busy.delete(box.id)), wakeFor([box.id]))),
      aboutBox(box)
    )

  // -------------------------------------------------------------------------
  // Health probes

  /** The record with the probe time the supervisor remembers, if the file does not have it yet. */
  const withLastProbe = (box: BoxRecord): BoxRecord => {
    const last = lastProbes.get(box.id)
    if (last === undefined || last.pid !== box.pid || last.pidStartTime !== box.pid_start_time) return box
    const inFile = Supervision.parseTimestamp(box.health_last_check)
    return inFile !== null && inFile >= last.at ? box : { ...box, health_last_check: Supervision.timestamp(last.at) }
  }

  const probeOne = (box: BoxRecord) => {
    const deadline = Supervision.probeTimeoutMillis(box) + PROBE_GRACE_MS
    const timedOut = (): ProbeResult => ({
      _tag: "Unhealthy",
      reason: `health check timed out after ${Supervision.probeTimeoutMillis(box) / 1000}s`
    })
    return probeSlots.withPermits(1)(
      runtime.probe(box).pipe(
        Effect.timeoutTo({ duration: Duration.millis(deadline), onSuccess: (r: ProbeResult) => r, onTimeout: timedOut })
      )
    ).pipe(
      Effect.flatMap((result) =>
        Effect.gen(function*() {
          const at = yield* Clock.currentTimeMillis
          const verdict: Supervision.ProbeVerdict = result._tag === "Healthy" ? "healthy" : "failed"
          pendingProbes.push({ box, verdict, at })
          lastProbes.set(box.id, { pid: box.pid, pidStartTime: box.pid_start_time, at })
          yield* stats.probed(verdict === "healthy" ? "healthy" : "unhealthy")
          if (result._tag === "Unhealthy") {
            yield* Effect.logWarning(`monitor: health check of box ${nameOf(box)}) failed: ${result.reason}`)
          }
          // A failure may make the box unhealthy, a first success changes its status: write it now.
          if (verdict === "failed" || box.health_status !== "healthy") yield* wake
        })
      ),
      Effect.ensuring(Effect.zipRight(Effect.sync(() => probing.delete(box.id)), wakeProbes)),
      aboutBox(box)
    )
  }

  /**
   * The boxes of `known` with a health check schedule (`Supervision.nextProbeAt` not null), and
   * when each is due by its record, worked out once per records array: records are immutable
   * and an unchanged state file gives the very same array, so the probe loop (run after every
   * cycle) parses no timestamps again for the thousands of boxes not due.
   */
  const scheduleOf = perRecords((records) => {
    const boxes: Array<BoxRecord> = []
    const due: Array<number> = []
    for (const box of records) {
      const at = Supervision.nextProbeAt(box)
      if (at === null) continue
      boxes.push(box)
      due.push(at)
    }
    return { boxes, due }
  })

  /** Starts the probes that are due and returns when the next one will be. */
  const startDueProbes = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    let next: number | null = null
    const { boxes, due: dueByRecord } = scheduleOf(known)
    for (let i = 0; i < boxes.length; i++) {
      const box = boxes[i]!
      if (probing.has(box.id) || busy.has(box.id)) continue
      // A probe whose result is not written yet moves the box's next check on.
      const due = lastProbes.size > 0 && lastProbes.has(box.id) ? Supervision.nextProbeAt(withLastProbe(box)) : dueByRecord[i]!
      if (due === null) continue
      if (due <= now) {
        probing.add(box.id)
        yield* spawn(probeOne(box))
      } else if (next === null || due < next) {
        next = due
      }
    }
    return next
  })

  const probeLoop = Effect.gen(function*() {
    while (true) {
      const next = yield* keepGoing("health checks", startDueProbes, null)
      const now = yield* Clock.currentTimeMillis
      if (next === null) yield* Queue.take(probeWakeups)
      else yield* Effect.timeoutOption(Queue.take(probeWakeups), Duration.millis(Math.max(1, next - now)))
    }
  })

  // -------------------------------------------------------------------------
  // The cycle

  const reportStateError = (error: StateError, now: number) =>
    Effect.gen(function*() {
      const message = error.message
      if (
        lastStateError !== undefined && lastStateError.message === message &&
        now - lastStateError.at < REPEAT_STATE_ERROR_MS
      ) return
      lastStateError = { message, at: now }
      yield* Effect.logError(`monitor: ${message}`)
    })

  /** Logs each new problem of the file's invalid records, once: they are kept as they are and not supervised. */
  const reportInvalid = Effect.gen(function*() {
    const invalid = yield* Effect.orElseSucceed(store.invalid, () => [])
    const keys = new Set<string>()
    for (const record of invalid) {
      const key = invalidRecordKey(record)
      keys.add(key)
      if (reportedInvalid.has(key)) continue
      yield* Effect.logWarning(
        `monitor: state file ${store.path}: ${invalidRecordProblem(record)}; it is kept as it is and not supervised: fix or remove it`
      )
    }
    reportedInvalid = keys
  })

  /** Records by id, made once per records array (an unchanged file gives the very same array). */
  const byIdOf = perRecords((records): ReadonlyMap<string, BoxRecord> => new Map(records.map((box) => [box.id, box])))

  /** The active boxes of `records`, once per records array. */
  const activeOf = perRecords((records) => records.filter(needsLivenessCheck))

  /**
   * `Supervision.restartCandidates`, a pure function of the records and the two sets: with both
   * sets empty and the very same records array as last time, the same answer.
   */
  const candidatesWithNoneHeld = perRecords((records) => Supervision.restartCandidates(records))
  const restartCandidates = (records: ReadonlyArray<BoxRecord>): ReadonlyArray<Candidate> =>
    killedForHealth.size > 0 || busy.size > 0
      ? Supervision.restartCandidates(records, killedForHealth, busy)
      : candidatesWithNoneHeld(records)

  /** Refreshes the supervisor's memory from freshly loaded records. */
  const remember = (records: ReadonlyArray<BoxRecord>, now: number) => {
    known = records
    if (backoffs.size === 0 && killedForHealth.size === 0 && lastProbes.size === 0 && gaveUp.size === 0) return
    const byId = byIdOf(records)
    for (const id of gaveUp) if (byId.get(id)?.status !== "dead") gaveUp.delete(id)
    for (const [id, entry] of backoffs) {
      const box = byId.get(id)
      if (box === undefined || !(box.status === "dead" || isActive(box))) backoffs.delete(id)
      else if (box.status === "running") {
        const next = backoff.running(entry, now)
        if (next === undefined) backoffs.delete(id)
        else backoffs.set(id, next)
      }
    }
    for (const id of killedForHealth) {
      if (byId.get(id)?.status !== "dead" && !busy.has(id)) killedForHealth.delete(id)
    }
    for (const [id, last] of lastProbes) {
      const box = byId.get(id)
      if (box === undefined || box.pid !== last.pid || box.pid_start_time !== last.pidStartTime) lastProbes.delete(id)
    }
  }

  const pidsExist = (pids: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<boolean>> =>
    runtime.liveness(pids.map((pid) => ({ pid, startTime: null })), false)

  /**
   * One poll cycle (SPEC §7). It reads the state without the lock, reconciles and applies the
   * probe results in memory, decides, boots, and then writes everything (reconcile, probe
   * results, restarts) in one update under the lock, re-checked there against the state as it
   * is then; when nothing changed it takes no lock at all.
   */
  const cycle = Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const stampBefore = yield* currentStamp
    // Unchanged since the last cycle read or wrote it: what the monitor knows is the file.
    // (A full cycle always reads it; the write below re-checks everything under the lock.)
    const unchanged = haveKnown && !fullCycleDue && stampBefore !== undefined && stampBefore === lastStamp
    const snapshot = unchanged ? Either.right(known) : yield* Effect.either(store.snapshot)
    if (Either.isLeft(snapshot)) {
      lastStamp = stampBefore
      yield* reportStateError(snapshot.left, startedAt)
      const end = yield* Clock.currentTimeMillis
      return yield* stats.cycleCompleted(end, (end - startedAt) / 1000, false)
    }
    if (lastStateError !== undefined) {
      lastStateError = undefined
      yield* Effect.logInfo(`monitor: state file ${store.path} is readable again`)
    }
    haveKnown = true
    if (!unchanged) yield* reportInvalid
    const full = fullCycleDue
    fullCycleDue = false
    const targets = new Set(suspects)
    suspects.clear()
    // SPEC §3, for every active box in a full cycle, else for the suspects only. Only the
    // deaths are observed (and the boxes awaiting their exit code): a live box's observation
    // changes nothing (see Liveness.observeDeaths), and with none of either, nothing below
    // needs to look at the records one by one.
    const observed = yield* Liveness.observeDeaths(
      runtime,
      full ? activeOf(snapshot.right) : snapshot.right.filter((box) => needsLivenessCheck(box) && targets.has(box.id)),
      awaitedExits
    )
    let observations: Observations = observed
    if (observed.size > 0 || awaitedExits.size > 0) {
      const startNow = yield* Clock.currentTimeMillis
      const held = Supervision.holdUnknownExits(observed, snapshot.right, awaitedExits, startNow, EXIT_CODE_GRACE_MS)
      awaitedExits = held.awaiting
      observations = held.observations
      if (held.held.length > 0) yield* spawn(Effect.zipRight(Effect.sleep(EXIT_CODE_POLL), wakeFor(held.held)))
    }
    const reconciled = reconcile(snapshot.right, observations)
    for (const box of reconciled.died) {
      const limit = gaveUp.has(box.id) || killedForHealth.has(box.id) ? null : RestartPolicy.limitReached(box)
      if (limit === null) continue
      gaveUp.add(box.id)
      yield* Effect.logWarning(`monitor: box ${nameOf(box)}) will not be restarted again: ${limit}`).pipe(aboutBox(box))
    }
    const reports = pendingProbes
    pendingProbes = []
    const records = reports.length > 0 ? Supervision.applyProbes(reports)(reconciled.records)[1] : reconciled.records
    let now = yield* Clock.currentTimeMillis
    const observedMillis = now - startedAt
    remember(records, now)

    const ready: Array<Candidate> = []
    const unhealthy: Array<BoxRecord> = []
    for (const candidate of restartCandidates(records)) {
      const { box } = candidate
      if (box.status !== "dead") {
        // Unhealthy and running: stopped in a fiber of its own, then restarted as a dead box.
        const entry = backoffs.get(box.id)
        if (entry !== undefined && entry.phase._tag === "Waiting" && now < entry.phase.until) continue
        busy.add(box.id)
        unhealthy.push(box)
        continue
      }
      const decision = backoff.decide(backoffs.get(box.id), now)
      if (decision.next === undefined) backoffs.delete(box.id)
      else backoffs.set(box.id, decision.next)
      if (decision._tag === "RestartNow") {
        ready.push(candidate)
      } else if (decision.announce) {
        yield* Effect.logInfo(
          `monitor: box ${nameOf(box)}) backing off (${Backoff.formatSeconds(decision.remaining)} remaining)`
        ).pipe(aboutBox(box), Effect.annotateLogs({ event: "backing_off", backoff_remaining_secs: Backoff.seconds(decision.remaining) }))
      }
    }

    const booted = ready.length > 0 ? yield* bootAll(ready) : []
    now = yield* Clock.currentTimeMillis
    const bootedAt = now
    let wrote = false
    if (reconciled.changed || reports.length > 0 || booted.length > 0) {
      wrote = true
      const commit = Supervision.commitCycle(
        observations,
        reports,
        booted.map((b) => ({ decided: b.candidate.box, boot: b.booted })),
        now
      )
      const written = yield* Effect.either(store.modify(commit))
      if (Either.isRight(written)) {
        known = written.right.records
      } else {
        // What this cycle found is not written: look at everything again next time.
        fullCycleDue = true
        if (booted.length === 0) yield* Effect.logError(`monitor: ${written.left.message}`)
      }
      yield* settleBoots(booted, Either.map(written, (w) => w.outcomes), now)
    }
    lastStamp = wrote ? yield* currentStamp : stampBefore
    for (const box of unhealthy) yield* spawn(unhealthyRestart(box))
    if (watchedFrom !== known) {
      watchedFrom = known
      watched = known.flatMap((box) =>
        isActive(box) && box.pid !== null ? [{ id: box.id, pid: box.pid, alive: true }] : []
      )
      yield* Queue.offer(tickWakeups, undefined)
    }
    if (recheckStamp) {
      recheckStamp = false
      if (yield* stampChanged) yield* wakeFull
    }
    yield* wakeProbes
    const end = yield* Clock.currentTimeMillis
    yield* stats.cycleCompleted(end, (end - startedAt) / 1000, true)
    yield* Effect.logDebug(
      `monitor: cycle took ${end - startedAt} ms (observe ${observedMillis} ms, ${ready.length} boots ${
        bootedAt - startedAt - observedMillis
      } ms, write ${end - bootedAt} ms)`
    )
  })

  /**
   * A cycle runs to its end even when the supervisor is being shut down: the caller waits for
   * it. It is not simply made uninterruptible: races and timeouts inside it (the state lock's
   * wait, a boot's timeout) must still be able to interrupt their losers, so it runs,
   * interruptible, in a daemon fiber of its own that nothing else interrupts.
   */
  const runCycle = Effect.uninterruptible(Effect.flatMap(
    Effect.forkDaemon(Effect.interruptible(Effect.gen(function*() {
      cycling = true
      yield* keepGoing("poll cycle", cycle, undefined)
    }).pipe(Effect.ensuring(Effect.sync(() => cycling = false))))),
    Fiber.join
  ))

  /** The earliest end of a backoff wait still to come. */
  const nextRetryAt = (now: number): number | null => {
    let next: number | null = null
    for (const entry of backoffs.values()) {
      if (entry.phase._tag !== "Waiting" || entry.phase.until <= now) continue
      if (next === null || entry.phase.until < next) next = entry.phase.until
    }
    return next
  }

  const cycleLoop = Effect.gen(function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const retryAt = nextRetryAt(now)
      if (retryAt === null) yield* Queue.take(wakeups)
      else yield* Effect.timeoutOption(Queue.take(wakeups), Duration.millis(retryAt - now))
      yield* runCycle
    }
  })

  // -------------------------------------------------------------------------
  // The short liveness tick

  const stampChanged: Effect.Effect<boolean> = store.stamp === undefined
    ? Effect.succeed(false)
    : Effect.map(store.stamp, (stamp) => {
      if (lastStamp === undefined || stamp === lastStamp) return false
      lastStamp = stamp
      return true
    })

  /** The watched pids the tick polls: those whose exit the monitor does not await (see `exitWatched`). */
  let polled: { readonly from: ReadonlyArray<WatchedPid>; readonly version: number; readonly list: ReadonlyArray<WatchedPid>; readonly pids: ReadonlyArray<number> } | undefined
  const polledPids = () => {
    if (polled?.from !== watched || polled.version !== exitWatchedVersion) {
      const list = exitWatched.size === 0 ? watched : watched.filter((w) => exitWatched.get(w.id) !== w.pid)
      polled = { from: watched, version: exitWatchedVersion, list, pids: list.map((w) => w.pid) }
    }
    return polled
  }

  /**
   * The tick has work only while the state file is not watched (it polls the stamp then) or
   * some active box's process can vanish unnoticed (one the monitor did not boot: its exit is
   * no event here). A monitor of boxes it booted, whose file is watched, sleeps between cycles.
   */
  const tickNeeded = (): boolean => !fileWatched || polledPids().list.length > 0

  /** Marks the watched pids found gone (answers in the same order) and returns their boxes' ids. */
  const markGone = (list: ReadonlyArray<WatchedPid>, answers: ReadonlyArray<boolean>): Array<string> => {
    const gone: Array<string> = []
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!
      if (entry.alive && answers[i] === false) {
        entry.alive = false
        gone.push(entry.id)
      }
    }
    return gone
  }

  const tick = Effect.gen(function*() {
    if (cycling) return
    if (!fileWatched && (yield* stampChanged)) return yield* wakeFull
    const { list, pids } = polledPids()
    if (list.length === 0) return
    const gone = markGone(list, yield* pidsExist(pids))
    if (gone.length > 0) yield* wakeFor(gone)
  })

  // A bare sleep loop rather than a Schedule: at ten ticks a second, the schedule's own
  // bookkeeping would be a measurable share of the tick's CPU budget.
  const tickLoop = Effect.gen(function*() {
    const tickMillis = Math.max(1, Duration.toMillis(config.livenessTick))
    while (true) {
      if (!tickNeeded()) {
        yield* Queue.take(tickWakeups)
        continue
      }
      yield* keepGoing("liveness tick", tick, undefined)
      yield* Effect.sleep(config.livenessTick)
    }
  })

  // The state file watched (inotify): another command's write wakes a full cycle at once,
  // without a stat every tick. A change reported during a cycle is looked at when it ends.
  const supervisorRuntime = yield* Effect.runtime<never>()
  const onStateFileChange = () => {
    if (cycling) {
      recheckStamp = true
      return
    }
    Runtime.runFork(supervisorRuntime)(Effect.flatMap(stampChanged, (changed) => (changed ? wakeFull : Effect.void)))
  }
  const onStateFileWatchLost = () => {
    fileWatched = false
    tickWakeups.unsafeOffer(undefined)
  }
  yield* Effect.forkScoped(Stream.runForEach(store.changes, StateFileChange.$match({
    Watching: () => Effect.sync(() => fileWatched = true),
    Changed: () => Effect.sync(onStateFileChange),
    Unwatched: () => Effect.sync(onStateFileWatchLost)
  })))

  yield* Effect.forkScoped(cycleLoop)
  yield* Effect.forkScoped(probeLoop)
  yield* Effect.forkScoped(Effect.repeat(wakeFull, Schedule.spaced(config.interval)))
  yield* Effect.forkScoped(tickLoop)

  return { wake: wakeFull }
})

/** The supervisor, running for as long as the layer's scope is open. */
export const layer: Layer.Layer<Supervisor, never, StateStore | BoxRuntime | MonitorConfig | MonitorStats> = Layer
  .scoped(Supervisor, make)
