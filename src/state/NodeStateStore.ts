/**
 * The Node implementation of the StateStore (SPEC §2, §3): `<home>/boxes.json`, written with
 * the @effect/platform FileSystem it is given, every read-modify-write under a cross-process
 * lock (`<home>/boxes.json.lk`, see FileLock.ts), every write atomic (unique temp file in
 * the same directory, fsync, rename). A file that does not parse is never written.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import * as AtomicFile from "../platform/AtomicFile.js"
import * as SyncFileSystem from "../platform/SyncFileSystem.js"
import { ensureDirectories } from "../platform/Directories.js"
import { type BoxRecord } from "../domain/BoxRecord.js"
import { emptyState, type ParsedState, parseStateFile, renderState } from "../domain/StateFileCodec.js"
import { decodeStateBytes } from "../domain/StateFileText.js"
import * as FileLock from "./FileLock.js"
import { errorText } from "../platform/ErrorText.js"
import * as Home from "./Home.js"
import * as StateFile from "./internal/stateFile.js"
import {
  type StateError,
  StateFileChange,
  StateFileCorrupt,
  StateFileUnavailable,
  StateStore,
  type StateStoreShape,
  type StateUpdate
} from "./StateStore.js"

export interface Options {
  /** Lock timing; defaults: FileLock.defaults (stale after 10 s, refreshed every 2 s, give up after 30 s). */
  readonly lock?: Partial<Omit<FileLock.FileLockOptions, "lockPath">>
}

/** The lock directory of a home (`Home.stateLockPath`). */
export const lockPath = (home: string): string => Home.stateLockPath(home)

/** The lock options a store of `home` uses (exported so that tests and tools can take the very same lock). */
export const lockOptions = (home: string, options: Options = {}): FileLock.FileLockOptions => ({
  ...FileLock.defaults(lockPath(home)),
  ...options.lock
})

/** Temp files older than this, found while holding the lock, were left by a writer that died. */
const ORPHAN_AGE = Duration.minutes(1)
/**
 * A cached parse is reused on an unchanged stamp only once the file's ctime is this much older
 * than the stat that took the stamp: more than any file system's timestamp granularity (1-2 s
 * for the coarsest) and a little clock skew.
 */
const TRUST_AFTER_MS = 3_000
/** How often a modify that lost its lock (taken over as stale) starts over before giving up. */
const LOST_LOCK_RETRIES = 3

/**
 * Builds a store of `home`. Needs FileSystem for the file. It reads, decodes and writes under
 * the lock; reconciling the records with the box runtime is `Boxes.load`'s (src/boxes).
 */
export const make = (
  home: string,
  options: Options = {}
): Effect.Effect<StateStoreShape, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files = AtomicFile.fromFileSystem(fs)
    const homeDir = path.resolve(home)
    const file = Home.stateFilePath(homeDir)
    const lock = lockOptions(homeDir, options)
    /** One round of writes per process at a time: fibers queue here instead of polling the lock directory. */
    const mutex = yield* Effect.makeSemaphore(1)
    let swept = false

    const unavailable = (operation: "read" | "write" | "lock") => (cause: unknown) =>
      new StateFileUnavailable({ path: file, operation, cause })

    /**
     * The last file read, parsed. The monitor reads the whole file every cycle (and `/metrics` on
     * every scrape), and parsing a large file costs far more than a `stat`; so a read whose `stat`
     * gives the same stamp (inode, size, mtime, ctime) as a trusted cached read returns the
     * cached parse without reading. A stamp is trusted only once its ctime is older than
     * `TRUST_AFTER_MS` at the moment it is taken (as git does with "racily clean" files): file
     * times have a coarse granularity, so two writes within one tick (same size, reused inode)
     * could share a stamp; any write after a trusted stamp was taken is later than that
     * granularity and changes the ctime. An untrusted hit re-reads the text and reuses the parse
     * when the text is the same.
     */
    // A file that does not parse is cached the same way (its problem), so that a monitor polling
    // a large corrupt file reports it without parsing it again every cycle.
    let cache: {
      readonly stamp: string
      readonly trusted: boolean
      readonly bytes: Buffer
      readonly parsed: ParsedState | StateFileCorrupt
    } | undefined
    const fromCache = (parsed: ParsedState | StateFileCorrupt): Effect.Effect<ParsedState, StateFileCorrupt> =>
      parsed instanceof StateFileCorrupt ? Effect.fail(parsed) : Effect.succeed(parsed)

    // Every read, write, sweep and the home's creation go through the FileSystem the store is
    // given. The Node stacks give it platform/SyncFileSystem, synchronous calls: as asynchronous
    // calls, a locked read-modify-write is a dozen thread-pool round trips (stat, open, read,
    // close, open, write, fsync, close, rename, ...), and on a busy machine each round trip
    // waits for the event loop to be scheduled again: a write took 20-30 ms there instead of a
    // few, and a restart waits for it. The file is small (a few KB per box) and the calls take
    // microseconds, but for the fsync. Over that file system the reads keep their precise stamp
    // (internal/stateFile.ts: hostReader); over any other, they use its methods only.
    const reader = StateFile.readerFor(fs, file)

    /** The file's stamp and ctime and the path to read and write (the link's target for a link), or undefined when it does not exist. */
    const statFile = Effect.mapError(reader.stat, unavailable("read"))

    /** The bytes of `target`, or undefined if the (unlinked) file vanished since it was stat'ed. */
    const readBytes = (target: string) => Effect.mapError(reader.readBytes(target), unavailable("read"))

    const parseBytes = (bytes: Buffer): ParsedState | StateFileCorrupt => {
      const text = decodeStateBytes(bytes)
      if (text._tag === "Left") return new StateFileCorrupt({ path: file, detail: text.left.detail })
      const parsed = parseStateFile(text.right)
      if (parsed._tag === "Right") return parsed.right
      const what = parsed.left._tag === "InvalidJson" ? "not valid JSON" : "not a valid list of box records"
      return new StateFileCorrupt({ path: file, detail: `${what}: ${parsed.left.detail}` })
    }

    const read: Effect.Effect<ParsedState, StateError> = Effect.gen(function*() {
      const observedAt = Date.now()
      const info = yield* statFile
      if (info === undefined) {
        cache = undefined
        return emptyState
      }
      if (cache !== undefined && cache.trusted && cache.stamp === info.stamp) return yield* fromCache(cache.parsed)
      const bytes = yield* readBytes(info.target)
      if (bytes === undefined) {
        cache = undefined
        return emptyState
      }
      const trusted = info.ctimeMs + TRUST_AFTER_MS < observedAt
      if (cache !== undefined && cache.bytes.equals(bytes)) {
        cache = { stamp: info.stamp, trusted, bytes, parsed: cache.parsed }
        return yield* fromCache(cache.parsed)
      }
      const parsed = parseBytes(bytes)
      cache = { stamp: info.stamp, trusted, bytes, parsed }
      return yield* fromCache(parsed)
    })

    /**
     * Atomic replace (AtomicFile: unique temp file beside the target, fsync, rename; through a
     * symbolic link, beside its target), checking just before the rename that the lock is
     * still ours. Through the FileSystem the store is given (the Node stacks give it
     * platform/SyncFileSystem: synchronous calls, see above).
     */
    const write = (
      records: ReadonlyArray<BoxRecord>,
      from: ParsedState,
      held: FileLock.HeldLock
    ): Effect.Effect<void, StateFileUnavailable | FileLock.LockFailed> =>
      AtomicFile.write(files, file, renderState(records, from), { mode: 0o600, beforeRename: held.verify }).pipe(
        Effect.catchTag("AtomicWriteFailed", (error) => Effect.fail(unavailable("write")(error.cause)))
      )

    /**
     * Removes temp files that writers which died mid-write left behind (once per store, under the
     * lock: only those older than `ORPHAN_AGE`, since a writer of another store in this process
     * may be mid-write).
     */
    const sweepOrphans = Effect.suspend(() => {
      if (swept) return Effect.void
      swept = true
      return AtomicFile.sweep(files, file, { olderThan: ORPHAN_AGE })
    })

    const ensureHome = Effect.gen(function*() {
      if (yield* fs.exists(homeDir)) return
      yield* ensureDirectories(homeDir, 0o700)
      yield* fs.chmod(homeDir, 0o700)
    }).pipe(Effect.mapError(unavailable("write")))

    // Group commit: every update goes through a queue. One fiber at a time (the holder of
    // `mutex`) takes the cross-process lock, then applies all queued updates in order (each
    // `f` sees the records the previous one returned) with one read and at most one write
    // (one fsync), and hands each caller its result. Waiting for the lock is interruptible;
    // applying and writing are not (a write is never half done).
    interface Pending {
      readonly f: StateUpdate<unknown>
      readonly done: Deferred.Deferred<unknown, StateError>
    }
    const pending: Array<Pending> = []

    const complete = (batch: ReadonlyArray<Pending>, exit: Exit.Exit<ReadonlyArray<Exit.Exit<unknown>>, StateError>) =>
      Effect.forEach(batch, ({ done }, i) =>
        Exit.isSuccess(exit)
          ? Deferred.done(done, exit.value[i] ?? Exit.die(new Error("missing result")))
          : Deferred.failCause(done, exit.cause), { discard: true })

    /** Read, apply the batch, write if anything changed. */
    const apply = (batch: ReadonlyArray<Pending>, held: FileLock.HeldLock) =>
      Effect.gen(function*() {
        const state = yield* read
        let current = state.records
        const results: Array<Exit.Exit<unknown>> = []
        for (const { f } of batch) {
          try {
            const [result, next] = f(current)
            current = next
            results.push(Exit.succeed(result))
          } catch (defect) {
            results.push(Exit.die(defect))
          }
        }
        if (current !== state.records) yield* write(current, state, held)
        return results
      })

    /** One locked round over everything queued. "lost": the lock was taken over, nothing was written, the batch is queued again. */
    const round: Effect.Effect<"done" | "lost", StateError | FileLock.LockFailed> = ensureHome.pipe(
      Effect.zipRight(FileLock.withLock(lock, (held) =>
        Effect.gen(function*() {
          yield* sweepOrphans
          const batch = pending.splice(0)
          const exit = yield* Effect.exit(apply(batch, held))
          if (Exit.isFailure(exit)) {
            const error = Cause.failureOption(exit.cause)
            if (Option.isSome(error) && error.value._tag === "LockFailed") {
              if (error.value.reason === "lost") {
                pending.unshift(...batch)
                return "lost" as const
              }
              yield* complete(batch, Exit.fail(unavailable("lock")(error.value)))
              return "done" as const
            }
          }
          yield* complete(batch, exit as Exit.Exit<ReadonlyArray<Exit.Exit<unknown>>, StateError>)
          return "done" as const
        }).pipe(Effect.uninterruptible)))
    )

    const drain = mutex.withPermits(1)(Effect.gen(function*() {
      let lost = 0
      while (pending.length > 0) {
        const outcome = yield* Effect.either(round)
        if (outcome._tag === "Right" && outcome.right === "done") continue
        if (outcome._tag === "Right") {
          // Taken over (this process stalled past the stale threshold): start over, a few times.
          if (++lost <= LOST_LOCK_RETRIES) continue
        }
        const error = outcome._tag === "Left"
          ? outcome.left._tag === "LockFailed" ? unavailable("lock")(outcome.left) : outcome.left
          : unavailable("lock")(`the lock was taken over ${lost} times in a row`)
        yield* complete(pending.splice(0), Exit.fail(error))
      }
    }))

    const modify = <A>(f: StateUpdate<A>): Effect.Effect<A, StateError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const entry: Pending = { f, done: yield* Deferred.make<unknown, StateError>() }
          pending.push(entry)
          const drained = yield* Effect.exit(restore(drain))
          if (Exit.isInterrupted(drained)) {
            const index = pending.indexOf(entry)
            if (index >= 0) {
              // Interrupted before any round took it: it never happens.
              pending.splice(index, 1)
              return yield* Effect.interrupt
            }
          }
          // Taken by a round (ours or another fiber's): wait for its outcome.
          return (yield* Deferred.await(entry.done)) as A
        })
      ).pipe(Effect.withSpan("StateStore.modify", { attributes: { path: file } }))

    /**
     * One synchronous stat (polled every 100 ms by the monitor: no thread-pool round trip). A file
     * that cannot be read (a dangling link, a FIFO) has a stamp of its own: it must not look like
     * a missing one, which is an empty fleet.
     */
    const stamp: Effect.Effect<string> = Effect.map(Effect.either(statFile), (info) =>
      info._tag === "Left" ? `unreadable: ${info.left.message}` : info.right === undefined ? "" : info.right.stamp)

    /**
     * inotify (fs.watch) on the home directory, for the state file's name: written atomically by
     * a rename, the file itself is a new inode at each write, so its directory is what is
     * watched. Other names (the lock, temp files, the heartbeat) are not reported. A burst of
     * writes keeps only the latest reports (each says only "look at the stamp").
     */
    const hostChanges: Stream.Stream<StateFileChange> = Stream.asyncPush<StateFileChange>((emit) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const fileName = path.basename(file)
          const dirName = path.basename(homeDir)
          let watcher: nodeFs.FSWatcher | undefined
          let lost = false
          // The directory removed or renamed (inotify then names the directory itself and the
          // watch is dead), or the watch failed: the caller polls from now on.
          const lose = (reason: string) => {
            if (lost) return
            lost = true
            watcher?.close()
            emit.single(StateFileChange.Unwatched({ reason }))
            emit.end()
          }
          // Through a symbolic link, writes rename over the target, which may be in another
          // directory: the caller polls the stamp (which follows the link) instead.
          const isLink = () => nodeFs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() === true
          try {
            if (isLink()) {
              lose(`${file} is a symbolic link`)
              return undefined
            }
            watcher = nodeFs.watch(homeDir, { persistent: false }, (_event, name) => {
              if (lost) return
              if (name === dirName) lose(`${homeDir} was moved or removed`)
              else if (name === null || name === fileName) {
                if (isLink()) lose(`${file} became a symbolic link`)
                else emit.single(StateFileChange.Changed())
              }
            })
          } catch (error) {
            lose(`cannot watch ${homeDir}: ${errorText(error)}`)
            return undefined
          }
          watcher.once("error", (error) => lose(`watching ${homeDir} failed: ${errorText(error)}`))
          emit.single(StateFileChange.Watching())
          return watcher
        }),
        (watcher) => Effect.sync(() => watcher?.close())
      ), { bufferSize: 16, strategy: "sliding" })

    /** The same over any other FileSystem, with its `watch` of the home directory (its end or failure is `Unwatched`). */
    const fileSystemChanges: Stream.Stream<StateFileChange> = Stream.unwrap(Effect.gen(function*() {
      if (Option.isSome(yield* Effect.option(fs.readLink(file)))) {
        return Stream.make(StateFileChange.Unwatched({ reason: `${file} is a symbolic link` }))
      }
      const home = yield* Effect.either(fs.stat(homeDir))
      if (home._tag === "Left") return Stream.make(StateFileChange.Unwatched({ reason: `cannot watch ${homeDir}: ${errorText(home.left)}` }))
      const fileName = path.basename(file)
      const events = fs.watch(homeDir).pipe(
        Stream.filter((event) => path.basename(event.path) === fileName),
        Stream.map((): StateFileChange => StateFileChange.Changed()),
        Stream.catchAll((error) => Stream.make(StateFileChange.Unwatched({ reason: `watching ${homeDir} failed: ${errorText(error)}` }))),
        Stream.concat(Stream.make(StateFileChange.Unwatched({ reason: `watching ${homeDir} ended` }))),
        Stream.takeUntil((change) => change._tag === "Unwatched")
      )
      return Stream.concat(Stream.make(StateFileChange.Watching()), events)
    })).pipe(Stream.buffer({ capacity: 16, strategy: "sliding" }))

    const changes = SyncFileSystem.readsHostFiles(fs) ? hostChanges : fileSystemChanges

    const snapshot = Effect.map(read, (state) => state.records).pipe(
      Effect.withSpan("StateStore.snapshot", { attributes: { path: file } })
    )
    const invalid = Effect.map(read, (state) => state.invalid)

    return { path: file, snapshot, invalid, modify, stamp, changes } satisfies StateStoreShape
  })

/** The StateStore of `home`. Requires FileSystem (e.g. NodeContext.layer). */
export const layer = (home: string, options: Options = {}): Layer.Layer<StateStore, never, FileSystem.FileSystem> =>
  Layer.effect(StateStore, make(home, options))

/** The StateStore of the home named by `$A3S_HOME` (default `~/.a3s`). */
export const layerFromEnv: Layer.Layer<StateStore, never, FileSystem.FileSystem> = Layer.effect(
  StateStore,
  Effect.flatMap(Home.home, (home) => make(home))
)
