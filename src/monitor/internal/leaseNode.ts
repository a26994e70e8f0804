/** The lease as a file on this host: `<home>/monitor.lease`, claimed under the FileLock `<home>/monitor.lease.lk`. */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as os from "node:os"
import * as path from "node:path"
import * as AtomicFile from "../../platform/AtomicFile.js"
import { ensureDirectories } from "../../platform/Directories.js"
import { errorText, isNotFound } from "../../platform/ErrorText.js"
import * as ProcessInfo from "../../runtime/ProcessInfo.js"
import * as FileLock from "../../state/FileLock.js"
import type { MonitorLeaseShape } from "../MonitorLease.js"
import { makeWith } from "./leaseClaim.js"
import { MonitorLeaseUnavailable } from "./leaseErrors.js"
import { type LeaseHolder, leasePath, LeaseState, mutexPath, parseLease, renderLease } from "./leaseFile.js"

export interface NodeOptions {
  /** Timing of the claim mutex; defaults: FileLock.defaults. */
  readonly lock?: Partial<Omit<FileLock.FileLockOptions, "lockPath">>
  /** The host name to record and compare (default `os.hostname()`). */
  readonly host?: string
}

/** This process: its pid, its start time (as ProcessInfo reads it), the host name. */
export const processIdentity = (host: string = os.hostname()): Effect.Effect<Omit<LeaseHolder, "acquiredAt">> =>
  Effect.map(ProcessInfo.readProcessInfo(process.pid), (info) => ({
    pid: process.pid,
    pidStartTime: Option.match(info, { onNone: () => null, onSome: (i) => i.startTime }),
    host
  }))

/**
 * Liveness of a holder as this host sees it: on this host, SPEC §3 liveness of its pid (with
 * its start time); on another host, unknown, so live.
 */
export const isLiveOn = (localHost: string) => (holder: LeaseHolder): Effect.Effect<boolean> =>
  holder.host !== localHost ? Effect.succeed(true) : ProcessInfo.isAlive(holder.pid, holder.pidStartTime)

/** The lease of `home` in `<home>/monitor.lease`. */
export const makeNode = (
  home: string,
  options: NodeOptions = {}
): Effect.Effect<MonitorLeaseShape, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const homeDir = path.resolve(home)
    const file = leasePath(homeDir)
    const host = options.host ?? os.hostname()
    const lock: FileLock.FileLockOptions = { ...FileLock.defaults(mutexPath(homeDir)), ...options.lock }
    const identity = yield* Effect.cached(processIdentity(host))

    const unavailable = (operation: "read" | "write" | "lock") => (cause: unknown) =>
      new MonitorLeaseUnavailable({ path: file, operation, detail: errorText(cause), cause })

    const read: Effect.Effect<LeaseState, MonitorLeaseUnavailable> = fs.readFileString(file).pipe(
      Effect.map((text): LeaseState =>
        Either.match(parseLease(text), {
          onLeft: (detail) => LeaseState.Corrupt({ detail }),
          onRight: (holder) => LeaseState.Found({ holder })
        })
      ),
      Effect.catchIf(isNotFound, () => Effect.succeed(LeaseState.Missing())),
      Effect.mapError(unavailable("read"))
    )

    const ensureHome = Effect.gen(function*() {
      if (yield* fs.exists(homeDir)) return
      yield* ensureDirectories(homeDir, 0o700)
    }).pipe(Effect.mapError(unavailable("write")))

    const files = AtomicFile.fromFileSystem(fs)
    /** Temp files of writers that died mid-write (we hold the mutex: nobody else is writing). */
    const sweep = AtomicFile.sweep(files, file)

    const write = (holder: LeaseHolder, verify: Effect.Effect<void, MonitorLeaseUnavailable>) =>
      AtomicFile.write(files, file, renderLease(holder), { mode: 0o600, beforeRename: verify }).pipe(
        Effect.catchTag("AtomicWriteFailed", (error) => Effect.fail(unavailable("write")(error.cause)))
      )

    const remove = (verify: Effect.Effect<void, MonitorLeaseUnavailable>) =>
      Effect.zipRight(verify, fs.remove(file).pipe(Effect.catchIf(isNotFound, () => Effect.void), Effect.mapError(unavailable("write"))))

    const locked = <A, E>(use: (verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<A, E>) =>
      Effect.zipRight(
        ensureHome,
        FileLock.withLock(lock, (held) =>
          Effect.zipRight(sweep, use(Effect.mapError(held.verify, unavailable("lock"))))).pipe(
            Effect.catchTag("LockFailed", (error) => Effect.fail(unavailable("lock")(error)))
          )
      )

    return makeWith({ home: homeDir, path: file, host, identity, read, live: isLiveOn(host), write, remove, locked })
  })
