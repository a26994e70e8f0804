/**
 * A cross-process, crash-safe exclusive lock on top of `proper-lockfile` (an atomic
 * `mkdir` of a lock directory whose mtime the holder refreshes; a lock not refreshed
 * for `staleMs` is taken over, so a holder killed with SIGKILL blocks the others for at
 * most `staleMs`).
 *
 * Two hardenings around the library:
 * - Ownership token. proper-lockfile's stale take-over is `stat` then `rmdir` then `mkdir`:
 *   two waiters that both saw the same stale lock can both end up "holding" it (the later
 *   `rmdir` removes the lock the other one has just created; moxystudio/node-proper-lockfile
 *   issue #121). Each holder therefore writes a random token to `<lockPath>.owner` right after
 *   acquiring, and `verify` (run right before committing a write) checks that the token is
 *   still its own. Of two "holders", at most one passes. A holder that lost its lock never
 *   removes the lock directory on release (it may be someone else's by then).
 * - No asynchronous throw. The library's default `onCompromised` throws from a timer, which
 *   would crash the process; here it only marks the lock as lost, and `verify` reports it.
 * - Abandoned locks. The token names its holder (pid and start time, host) and the lock
 *   directory it was written for (inode and birth time). A waiter that finds the lock held by a
 *   process that is gone (no such pid, a zombie, or another start time) takes it over at once
 *   instead of waiting out `staleMs` (`ownerVerdict`, `takeOver`); a lock whose owner is alive,
 *   or cannot be told (another host, an older token, an owner file not yet written for this
 *   directory), keeps the stale rule.
 *
 * Waiting is done here (not with the library's `retries`) so that it is interruptible and
 * fast under contention: a waiter watches the lock directory's parent (fs.watch) and tries
 * again as soon as the lock directory is removed, with polling as the fallback.
 * Node-specific: uses `node:fs` directly.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as ProperLockfile from "proper-lockfile"
import { errnoCode, errorText } from "../platform/ErrorText.js"
import { readProcessInfo } from "../platform/ProcessInfo.js"
import { formatToken, inspectHeld, type Owner, ownerPath, readOwner, statLockId, takeOver } from "./internal/lockOwner.js"
import { fallbackDelay, jitteredDelay, type LockWatch, watchLock } from "./internal/lockWatch.js"

export { formatToken, lockIdOf, type Owner, ownerVerdict, parseToken, takeOver } from "./internal/lockOwner.js"

export interface FileLockOptions {
  /** The lock directory (never the file it protects, and never `boxes.json.lock`: the original a3s-box flocks that one). */
  readonly lockPath: string
  /** A lock not refreshed for this long is considered abandoned and taken over (ms, at least 2000). */
  readonly staleMs: number
  /** How often the holder refreshes the lock (ms, at least 1000, at most staleMs / 2). */
  readonly updateMs: number
  /** Give up waiting for the lock after this long. */
  readonly timeout: Duration.DurationInput
}

/** Defaults: a crashed holder blocks the others for 8 to 10 s. */
export const defaults = (lockPath: string): FileLockOptions => ({
  lockPath,
  staleMs: 10_000,
  updateMs: 2_000,
  timeout: Duration.seconds(30)
})

export class LockFailed extends Data.TaggedError("LockFailed")<{
  readonly lockPath: string
  readonly reason: "timeout" | "lost" | "error"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    switch (this.reason) {
      case "timeout":
        return `timed out waiting for lock ${this.lockPath}: ${this.detail}`
      case "lost":
        return `lost lock ${this.lockPath} while holding it: ${this.detail}`
      case "error":
        return `cannot take lock ${this.lockPath}: ${this.detail}`
    }
  }
}

/** A lock this process holds. */
export interface HeldLock {
  /** Fails with `LockFailed { reason: "lost" }` if the lock is no longer this holder's. */
  readonly verify: Effect.Effect<void, LockFailed>
}

// Lock directories whose removal must be skipped on release: their holder lost them, so the
// directory now present (if any) belongs to someone else. The release still stops the
// library's refresh timer.
const keepOnRelease = new Set<string>()

type Callback<A = void> = (err: NodeJS.ErrnoException | null, result?: A) => void

/** Runs a synchronous fs call and reports to a Node-style callback (outside the try: the callback's own throws propagate). */
const viaSync = <A>(run: () => A, callback: Callback<A>): void => {
  let result: A
  try {
    result = run()
  } catch (error) {
    return callback(error as NodeJS.ErrnoException)
  }
  callback(null, result)
}

/**
 * The subset of `fs` proper-lockfile uses, with a release that can leave the directory alone.
 * Taking and releasing the lock (mkdir, stat, rmdir: a fraction of a millisecond each) are done
 * synchronously: as asynchronous calls each one is a thread-pool round trip, and on a busy
 * machine every round trip waits for the event loop to be scheduled again (a locked write made
 * of a dozen of them took 20-30 ms there instead of a few). The periodic refresh stays asynchronous.
 */
const lockFs = {
  mkdir: (p: string, callback: Callback) => viaSync(() => {
    fs.mkdirSync(p)
  }, callback),
  stat: (p: string, callback: Callback<fs.Stats>) => viaSync(() => fs.statSync(p), callback),
  utimes: fs.utimes,
  realpath: fs.realpath,
  rmdir: (p: string, callback: Callback) => {
    if (keepOnRelease.has(p)) return callback(null)
    viaSync(() => fs.rmdirSync(p), callback)
  },
  rmdirSync: (p: string) => {
    if (!keepOnRelease.has(p)) fs.rmdirSync(p)
  }
}

/** This process as an owner token names it (its start time read once). */
let self: Omit<Owner, "lockId"> | undefined
const selfOwner = Effect.suspend(() =>
  self !== undefined
    ? Effect.succeed(self)
    : Effect.map(readProcessInfo(process.pid), (info) => {
      self = { pid: process.pid, startTime: Option.match(info, { onNone: () => 0, onSome: (p) => p.startTime }), host: os.hostname() }
      return self
    })
)

type Attempt =
  | { readonly _tag: "Held"; readonly release: () => Promise<void>; readonly lost: { error: Error | undefined } }
  | { readonly _tag: "Busy" }

/** One non-blocking attempt. Uninterruptible: a lock obtained must never be dropped on the floor. */
const attempt = (options: FileLockOptions): Effect.Effect<Attempt, LockFailed> =>
  Effect.tryPromise({
    try: async (): Promise<Attempt> => {
      const lost: { error: Error | undefined } = { error: undefined }
      try {
        const release = await ProperLockfile.lock(options.lockPath, {
          lockfilePath: options.lockPath,
          realpath: false,
          retries: 0,
          stale: options.staleMs,
          update: options.updateMs,
          fs: lockFs,
          onCompromised: (error) => {
            lost.error = error
          }
        })
        return { _tag: "Held", release, lost }
      } catch (error) {
        if (errnoCode(error) === "ELOCKED") return { _tag: "Busy" }
        throw error
      }
    },
    catch: (cause) => new LockFailed({ lockPath: options.lockPath, reason: "error", detail: errorText(cause), cause })
  }).pipe(Effect.uninterruptible)

const release = (lockPath: string, held: Extract<Attempt, { _tag: "Held" }>, owned: boolean): Effect.Effect<void> =>
  Effect.promise(async () => {
    if (!owned) keepOnRelease.add(lockPath)
    try {
      await held.release()
    } catch {
      // ERELEASED after a compromise: nothing left to do.
    } finally {
      keepOnRelease.delete(lockPath)
    }
  })

/** Waits for the lock until `deadline`: one attempt, then attempts on each change of the lock directory. */
const acquire = (
  options: FileLockOptions,
  deadline: number,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
): Effect.Effect<Extract<Attempt, { _tag: "Held" }>, LockFailed> => {
  let watch: LockWatch | undefined
  let watching = false
  const judged = {}
  return Effect.gen(function*() {
    for (let round = 0;; round++) {
      const seen = watch?.generation() ?? 0
      const result = yield* attempt(options)
      if (result._tag === "Held") return result
      // Held by a process that is gone: take it over now rather than after `staleMs`.
      const held = yield* inspectHeld(options.lockPath, judged)
      if (held.verdict === "abandoned" && held.lockId !== undefined && takeOver(options.lockPath, held.lockId)) continue
      if ((yield* Clock.currentTimeMillis) >= deadline) {
        const owner = yield* Effect.sync(() => readOwner(options.lockPath))
        const holder = owner === "" ? "" : ` (last holder: pid ${owner.split(":")[0]})`
        return yield* new LockFailed({
          lockPath: options.lockPath,
          reason: "timeout",
          detail: `held by another process for more than ${Duration.format(options.timeout)}${holder}`
        })
      }
      if (!watching) {
        // Contended: watch the lock directory, and try again at once (it may have been
        // released before the watch started).
        watching = true
        watch = watchLock(options.lockPath)
        continue
      }
      yield* restore(
        watch === undefined
          ? Effect.sleep(jitteredDelay(round))
          // The loser of the race is interrupted: it must be interruptible even when the caller
          // runs withLock in an uninterruptible region (`restore` then restores that), or a
          // watch that never fires (a stale lock nobody removes) would block the race forever.
          : Effect.raceFirst(Effect.interruptible(Effect.sleep(fallbackDelay())), Effect.interruptible(watch.changedSince(seen)))
      )
    }
  }).pipe(Effect.ensuring(Effect.sync(() => watch?.close())))
}

/**
 * Runs `use` while holding the lock, waiting for it up to `options.timeout` (woken when the
 * lock directory changes, with polling as the fallback). The lock is released when `use`
 * ends, however it ends.
 */
export const withLock = <A, E, R>(
  options: FileLockOptions,
  use: (held: HeldLock) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | LockFailed, R> =>
  // Only the waits between attempts (and `use`) are interruptible: a lock obtained is
  // always either handed to `use` or released.
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const me = yield* selfOwner
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(options.timeout)
      const held = yield* acquire(options, deadline, restore)
      const lockHeld = held
      // The token names the directory just made: a waiter that reads an older owner file (this
      // holder has not written its own yet) sees another directory's id and does not take over.
      const token = formatToken({ ...me, lockId: statLockId(options.lockPath) ?? "unknown" }, randomBytes(8).toString("hex"))
      yield* Effect.try({
        try: () => fs.writeFileSync(ownerPath(options.lockPath), token, { mode: 0o600 }),
        catch: (cause) =>
          new LockFailed({
            lockPath: options.lockPath,
            reason: "error",
            detail: `cannot write ${ownerPath(options.lockPath)}: ${errorText(cause)}`,
            cause
          })
      }).pipe(Effect.tapError(() => release(options.lockPath, lockHeld, true)))

      const verify = Effect.gen(function*() {
        if (lockHeld.lost.error !== undefined) {
          return yield* new LockFailed({
            lockPath: options.lockPath,
            reason: "lost",
            detail: lockHeld.lost.error.message,
            cause: lockHeld.lost.error
          })
        }
        const owner = yield* Effect.sync(() => readOwner(options.lockPath))
        if (owner !== token) {
          return yield* new LockFailed({
            lockPath: options.lockPath,
            reason: "lost",
            detail: `taken over by another process${owner === "" ? "" : ` (pid ${owner.split(":")[0]})`}`
          })
        }
      })

      const exit = yield* Effect.exit(restore(use({ verify })))
      const owner = yield* Effect.sync(() => readOwner(options.lockPath))
      yield* release(options.lockPath, lockHeld, owner === token && lockHeld.lost.error === undefined)
      return yield* exit
    })
  )

/** The lock directory and its owner file: what `withLock` may leave behind when a holder dies. */
export const artifacts = (lockPath: string): ReadonlyArray<string> => [lockPath, ownerPath(lockPath)]

/** Path helper: the lock directory for a protected file `<dir>/<name>` is `<dir>/<name>.lk`. */
export const lockPathFor = (file: string): string => path.join(path.dirname(file), `${path.basename(file)}.lk`)
