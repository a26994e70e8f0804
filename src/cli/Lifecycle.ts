import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Boxes from "../boxes/Boxes.js"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"
import * as path from "node:path"
import { type BoxRecord, countRestart } from "../domain/BoxRecord.js"
import type { EventJournal } from "../events/EventJournal.js"
import * as BoxStatus from "../domain/BoxStatus.js"
import { type BootedBox, BoxRuntime, type BootFailed, type SignalRefused, type StopFailed } from "../runtime/BoxRuntime.js"
import { boxesDir } from "../state/Home.js"
import { type StateError, StateStore } from "../state/StateStore.js"
import * as BoxNames from "./BoxNames.js"
import * as BoxRef from "./BoxRef.js"
import * as Journal from "./Journal.js"
import { BoxBeingStopped, BoxFileError, BoxIsActive, BoxVanished, NameInUse } from "./CliErrors.js"
import type { RunSpec } from "./RunSpec.js"
import * as Transitions from "./Transitions.js"

/**
 * The box operations behind the commands: create, boot, stop, start, remove. Each keeps the
 * state lock only for its short read-modify-writes, never while a process boots or stops,
 * and re-checks the box (same id, same incarnation) when it records an outcome. What each one
 * recorded is then told to the event journal (issue 14: `Journal.ts`).
 */

/**
 * Runs `effect` to its end even when the caller is interrupted (Ctrl-C) meanwhile: the caller
 * waits for it. Unlike `Effect.uninterruptible`, the effect's own timeouts and races still
 * work (it runs, interruptible, in a daemon fiber of its own: a forked child would be
 * interrupted along with its parent). Every state update of this module is shielded: inside
 * an uninterruptible region (a finalizer, a mask) the lock's wait (a race between a sleep
 * and a file watch) could never finish, since a race must interrupt its loser.
 */
export const shielded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptible(Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), Fiber.join))

const nowIso = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

/** The home of the state file in context (`<home>/boxes.json`). */
export const homeDir: Effect.Effect<string, never, StateStore> = Effect.map(StateStore, (store) => path.dirname(store.path))

/** Loads (and reconciles) the state and resolves one box reference. */
export const resolve = (ref: string): Effect.Effect<BoxRecord, StateError | BoxRef.BoxRefError, StateStore | BoxRuntime> =>
  Effect.flatMap(Boxes.load, (records) => BoxRef.resolve(records, ref))

/**
 * Inserts the record of a new box (status `created`). The name check and the insert happen in
 * one locked update, so two concurrent `run --name x` cannot both get the name.
 */
export const create = (spec: RunSpec): Effect.Effect<BoxRecord, StateError | NameInUse, StateStore | EventJournal> =>
  shielded(Effect.gen(function*() {
    const store = yield* StateStore
    const home = yield* homeDir
    const now = yield* nowIso
    const id = crypto.randomUUID()
    const outcome = yield* store.modify(
      (records): readonly [Either.Either<BoxRecord, NameInUse>, ReadonlyArray<BoxRecord>] => {
        if (spec.name !== null) {
          const holder = records.find((box) => box.name === spec.name)
          if (holder !== undefined) {
            return [Either.left(new NameInUse({ name: spec.name, holder: holder.short_id })), records]
          }
        }
        const name = spec.name ?? BoxNames.generate(id, new Set(records.map((box) => box.name)))
        const record = Transitions.newRecord(spec, { id, name, home, now })
        return [Either.right(record), [...records, record]]
      }
    )
    const record = yield* outcome
    yield* Journal.append([Journal.created(record)])
    return record
  }))

const asIncarnation = (box: BoxRecord, booted: Pick<BootedBox, "pid" | "pidStartTime">): BoxRecord => ({
  ...box,
  pid: booted.pid,
  pid_start_time: booted.pidStartTime
})

/**
 * Drops a process this command booted but could not record: a gated one before its command runs,
 * any other by stopping it; failures are ignored (best effort).
 */
const discard = (box: BoxRecord, booted: BootedBox) =>
  booted.abandon ?? Effect.flatMap(BoxRuntime, (runtime) => Effect.ignore(runtime.stop(asIncarnation(box, booted))))

/** What recording a boot found: the box recorded running, started by someone else meanwhile, or removed. */
type BootOutcome = Data.TaggedEnum<{
  Recorded: { readonly box: BoxRecord }
  Raced: { readonly box: BoxRecord }
  Vanished: {}
}>

const BootOutcome = Data.taggedEnum<BootOutcome>()

/**
 * Boots a box that is not running and records it `running`. If, meanwhile, the box was removed
 * the new process is dropped and this fails; if someone else (the monitor) started it, the new
 * process is dropped and the other run is kept. Never leaves a booted process unrecorded, even
 * when interrupted (the whole section is shielded; a boot takes milliseconds), nor when this
 * process is killed outright: the boot is gated, so the command runs only once it is recorded
 * (a CLI SIGKILLed in between leaves a process that exits 125 without running it).
 */
export const boot = (
  box: BoxRecord,
  options: BootOptions = {}
): Effect.Effect<
  { readonly box: BoxRecord; readonly booted: Option.Option<BootedBox> },
  StateError | BootFailed | BoxVanished,
  StateStore | BoxRuntime | EventJournal
> =>
  shielded(Effect.gen(function*() {
    const store = yield* StateStore
    const runtime = yield* BoxRuntime
    const booted = yield* runtime.boot(box, { gated: true })
    const now = yield* nowIso
    const outcome = yield* store.modify((records): readonly [BootOutcome, ReadonlyArray<BoxRecord>] => {
      const current = BoxRef.findById(records, box.id)
      if (current === undefined) return [BootOutcome.Vanished(), records]
      if (BoxStatus.isActive(current) || BoxStatus.isStopping(current)) return [BootOutcome.Raced({ box: current }), records]
      // Stopped by the user while this boot ran (a `created` box of `run`, a dead one of `start`): the stop wins.
      if (BoxStatus.isStopped(current) && !BoxStatus.isStopped(box)) return [BootOutcome.Raced({ box: current }), records]
      const started = Transitions.started(current, booted, now)
      // A `restart` by the user counts only as a manual one: `restart_count` counts the monitor's (SPEC §2).
      const next = options.manual === true ? { ...started, restarts_by_reason: countRestart(current, "manual") } : started
      return [BootOutcome.Recorded({ box: next }), Transitions.replace(records, next)]
    }).pipe(Effect.tapError(() => discard(box, booted)))
    switch (outcome._tag) {
      case "Recorded":
        if (booted.release !== undefined) yield* booted.release
        yield* Journal.append([
          ...(options.manual === true
            ? [Journal.restarted(outcome.box, outcome.box.restarts_by_reason?.manual ?? 1)]
            : []),
          Journal.started(outcome.box)
        ])
        return { box: outcome.box, booted: Option.some(booted) }
      case "Raced":
        yield* discard(box, booted)
        return { box: outcome.box, booted: Option.none() }
      case "Vanished":
        yield* discard(box, booted)
        return yield* new BoxVanished({ box: box.name })
    }
  }))

export interface BootOptions {
  /** A `restart` by the user: counted in `restarts_by_reason.manual` and journalled as a manual restart. */
  readonly manual?: boolean
}

/**
 * `start`: boots a created, stopped or dead box (clears `stopped_by_user`, `exit_code`; sets
 * `started_at`; `restart_count` is left alone: it counts automatic restarts). A running box is
 * left as it is, as docker does.
 */
export const start = (box: BoxRecord, options: BootOptions = {}) =>
  Effect.gen(function*() {
    if (BoxStatus.isActive(box)) return box
    if (BoxStatus.isStopping(box)) return yield* new BoxBeingStopped({ box: box.name })
    return (yield* boot(box, options)).box
  })

/** What step (1) of `stop` found and did under the lock. */
type StopIntent = Data.TaggedEnum<{
  /** Marked `stopping`: the process is to be stopped. */
  Marked: { readonly before: BoxRecord; readonly marked: BoxRecord }
  /** No process to stop: recorded `stopped` at once. */
  Recorded: { readonly box: BoxRecord }
  AlreadyStopped: { readonly box: BoxRecord }
  NotRunning: { readonly box: BoxRecord }
  Vanished: {}
}>

const StopIntent = Data.taggedEnum<StopIntent>()

/** What `stop` did: `already` when the box was stopped before (a no-op). */
export interface StopOutcome {
  readonly box: BoxRecord
  readonly already: boolean
}

/**
 * Statuses the monitor could (re)start a box from without a process to stop: `dead` (maybe
 * waiting out its backoff) and `created` (a `run` about to boot it). `stop` records them
 * `stopped` at once, so nothing restarts them (SPEC §12: stop means stop).
 */
const stoppableWithoutProcess = (box: BoxRecord): boolean => BoxStatus.isDead(box) || BoxStatus.isCreated(box)

/**
 * `stop`: in three steps so the state lock is not held during the graceful stop (up to the
 * stop timeout): (1) mark the box `stopping` and `stopped_by_user` (nobody restarts or
 * reconciles it from then on), (2) stop the process, (3) record `stopped` with its exit code,
 * only if the box is still `stopping` and still the same incarnation. If the stop fails the
 * record gets its former status back. A `dead` or `created` box (no process: a crash loop
 * waiting out its backoff, a `run` about to boot) is recorded `stopped` in step (1) alone: the
 * monitor drops its backoff and a boot under way is discarded when it is recorded. A box
 * already stopped is left as it is (`already`). Shielded: a Ctrl-C waits for the stop to be
 * recorded.
 */
export const stopWithOutcome = (
  box: BoxRecord,
  timeoutSecs: Option.Option<number> = Option.none()
): Effect.Effect<StopOutcome, StateError | StopFailed | SignalRefused | BoxVanished, StateStore | BoxRuntime | EventJournal> =>
  shielded(Effect.gen(function*() {
    const store = yield* StateStore
    const runtime = yield* BoxRuntime
    const intent = yield* store.modify((records): readonly [StopIntent, ReadonlyArray<BoxRecord>] => {
      const current = BoxRef.findById(records, box.id)
      if (current === undefined) return [StopIntent.Vanished(), records]
      if (BoxStatus.isStopped(current)) return [StopIntent.AlreadyStopped({ box: current }), records]
      if (stoppableWithoutProcess(current)) {
        const next = Transitions.stopped(current, current.exit_code)
        return [StopIntent.Recorded({ box: next }), Transitions.replace(records, next)]
      }
      if (!BoxStatus.isActive(current) && !BoxStatus.isStopping(current)) {
        return [StopIntent.NotRunning({ box: current }), records]
      }
      const marked = Transitions.stopping(current)
      return [StopIntent.Marked({ before: current, marked }), Transitions.replace(records, marked)]
    })
    if (intent._tag === "Vanished") return yield* new BoxVanished({ box: box.name })
    if (intent._tag === "AlreadyStopped") return { box: intent.box, already: true }
    if (intent._tag === "Recorded") yield* Journal.append([Journal.stopped(intent.box)])
    if (intent._tag === "NotRunning" || intent._tag === "Recorded") return { box: intent.box, already: false }
    const { before, marked } = intent
    const target = Option.match(timeoutSecs, { onNone: () => marked, onSome: (secs) => ({ ...marked, stop_timeout: secs }) })
    const stopped = yield* runtime.stop(target).pipe(
      Effect.tapError(() =>
        store.modify((records) => {
          const current = BoxRef.findById(records, box.id)
          if (current === undefined || !BoxStatus.isStopping(current) || !Transitions.sameIncarnation(current, marked)) {
            return [undefined, records] as const
          }
          const restored = { ...current, status: before.status, stopped_by_user: before.stopped_by_user }
          return [undefined, Transitions.replace(records, restored)] as const
        }).pipe(Effect.ignore)
      )
    )
    const exitCode = Option.isSome(stopped) ? stopped : yield* runtime.exitCode(marked)
    const at = yield* Clock.currentTimeMillis
    const [recorded, wrote] = yield* store.modify((records): readonly [readonly [BoxRecord, boolean], ReadonlyArray<BoxRecord>] => {
      const current = BoxRef.findById(records, box.id)
      if (current === undefined || !BoxStatus.isStopping(current) || !Transitions.sameIncarnation(current, marked)) {
        return [[current ?? Transitions.stopped(marked, Option.getOrNull(exitCode)), false], records]
      }
      const next = Transitions.stopped(current, Option.getOrNull(exitCode), at)
      return [[next, true], Transitions.replace(records, next)]
    })
    if (wrote) yield* Journal.append([Journal.stopped(recorded)])
    return { box: recorded, already: false }
  }))

/** {@link stopWithOutcome}, for callers that only need the record after the stop. */
export const stop = (
  box: BoxRecord,
  timeoutSecs: Option.Option<number> = Option.none()
): Effect.Effect<BoxRecord, StateError | StopFailed | SignalRefused | BoxVanished, StateStore | BoxRuntime | EventJournal> =>
  Effect.map(stopWithOutcome(box, timeoutSecs), (outcome) => outcome.box)

/** Whether `dir` is a box directory of this home (`<home>/boxes/<something>`): only those are deleted. */
export const isOwnBoxDir = (home: string, dir: string): boolean => {
  const relative = path.relative(boxesDir(home), path.resolve(dir))
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) && !relative.includes(path.sep)
}

/** Deletes the box's directory (console log, exit code file) when it lies inside this home. */
export const removeBoxDir = (box: BoxRecord) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = yield* homeDir
    if (!isOwnBoxDir(home, box.box_dir)) return
    yield* fs.remove(box.box_dir, { recursive: true, force: true }).pipe(
      Effect.mapError((error) => new BoxFileError({ path: box.box_dir, operation: "remove", reason: error.message }))
    )
  })

/** Drops the record (whatever its state by now) and its directory. */
export const forget = (box: BoxRecord) =>
  shielded(Effect.gen(function*() {
    const store = yield* StateStore
    const removed = yield* store.modify((records) =>
      BoxRef.findById(records, box.id) === undefined
        ? [false, records] as const
        : [true, Transitions.without(records, box.id)] as const
    )
    if (removed) yield* Journal.append([Journal.destroyed(box)])
    yield* removeBoxDir(box)
  }))

/**
 * `rm`: a running box needs `force`, which stops it (gracefully) first. A process the runtime
 * refuses to signal (nothing proves it is the box's: `SignalRefused`) is left alone and the
 * record is forgotten anyway, with a warning naming the process: `-f` asks for the record to
 * go, and no stranger is signalled for it.
 */
export const remove = (box: BoxRecord, force: boolean) =>
  Effect.gen(function*() {
    if (BoxStatus.isActive(box) || BoxStatus.isStopping(box)) {
      if (!force) return yield* new BoxIsActive({ box: box.name, status: box.status })
      yield* stop(box).pipe(
        Effect.catchTag("BoxVanished", () => Effect.void),
        Effect.catchTag("SignalRefused", (refused) =>
          Console.error(
            `warning: box ${box.name} removed without signalling process ${refused.pid}: ${refused.reason}; ` +
              `if it is the box's, stop it yourself (kill ${refused.pid})`
          ))
      )
    }
    yield* forget(box)
  })
