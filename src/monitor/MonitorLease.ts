/**
 * One monitor per home (SPEC §11): an exclusive lease on `<home>` that a monitor takes before
 * it supervises anything and that dies with its process, however the process dies.
 *
 * Design (portable, no daemon, nothing to clean up after a crash):
 * - The lease is the file `<home>/monitor.lease`: `{pid, pid_start_time, host, acquired_at}`
 *   of the holder. It is **live** while that process exists on this host, is not a zombie and
 *   still has that start time (the start time rejects a reused pid). A SIGKILLed holder leaves
 *   the file behind, but the file then names a dead process, so the next claimant takes over
 *   at once: there is never a stale lock to wait out.
 * - Claims (read, decide, write) happen under a short-held cross-process mutex, the FileLock
 *   `<home>/monitor.lease.lk` (proper-lockfile; never the original a3s-box's
 *   `boxes.json.lock`), so two claimants that both find a dead holder cannot both win. Writes
 *   are atomic (temp file, fsync, rename). The mutex is held for milliseconds; a claimant
 *   killed while holding it delays the others by at most FileLock's stale time (10 s).
 * - A holder on another host cannot be checked from here: it counts as live (the safe side:
 *   never two monitors). Boxes are host-local processes, so a home shared between hosts is
 *   not a supported set-up anyway; the error message says which file to remove if that host's
 *   monitor is gone.
 * - The holder re-reads the file every interval: a lease file someone deleted is written
 *   again; a lease that another live process now holds is *lost*, and the monitor stops.
 *
 * `MonitorLease` is the home's lease as a service (Node layer, in-memory layer for tests);
 * `hold` / `layerHeld` take it for the lifetime of a scope (with `--standby`, waiting for it),
 * which is what the supervisor layer stack builds first.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import * as AtomicFile from "../platform/AtomicFile.js"
import { ensureDirectories } from "../platform/Directories.js"
import { errorText, isNotFound } from "../platform/ErrorText.js"
import * as ThrottledLog from "../platform/ThrottledLog.js"
import * as ProcessInfo from "../runtime/ProcessInfo.js"
import * as FileLock from "../state/FileLock.js"
import { MonitorConfig } from "./MonitorConfig.js"

// ---------------------------------------------------------------------------------------------
// Data

/** Who holds (or held) the lease. */
export interface LeaseHolder {
  readonly pid: number
  /** Start-time identity of `pid` (Linux: field 22 of /proc/PID/stat); null where unknown. */
  readonly pidStartTime: number | null
  /** `os.hostname()` of the holder. */
  readonly host: string
  /** Epoch milliseconds. */
  readonly acquiredAt: number
}

/** An RFC 3339 timestamp in the file, epoch milliseconds in memory. */
export const Timestamp = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (text, _, ast) => {
    const millis = Date.parse(text)
    return Number.isNaN(millis)
      ? ParseResult.fail(new ParseResult.Type(ast, text, `not an RFC 3339 timestamp: ${JSON.stringify(text)}`))
      : ParseResult.succeed(millis)
  },
  encode: (millis, _, ast) => {
    const date = new Date(millis)
    return Number.isNaN(date.getTime())
      ? ParseResult.fail(new ParseResult.Type(ast, millis, "not a valid time"))
      : ParseResult.succeed(date.toISOString())
  }
})

const Pid = Schema.Int.pipe(Schema.positive())

/** `<home>/monitor.lease` */
export const LeaseFile = Schema.Struct({
  pid: Pid,
  pid_start_time: Schema.NullOr(Schema.Number),
  host: Schema.String,
  acquired_at: Timestamp
})

const LeaseJson = Schema.parseJson(LeaseFile)
const decodeLease = Schema.decodeUnknownEither(LeaseJson)
const encodeLease = Schema.encodeSync(Schema.parseJson(LeaseFile, { space: 2 }))

/** Parses the lease file's text; Left names what is wrong with it. */
export const parseLease = (text: string): Either.Either<LeaseHolder, string> =>
  Either.match(decodeLease(text), {
    onLeft: (error) => Either.left(ParseResult.TreeFormatter.formatErrorSync(error)),
    onRight: (file) =>
      Either.right({ pid: file.pid, pidStartTime: file.pid_start_time, host: file.host, acquiredAt: file.acquired_at })
  })

export const renderLease = (holder: LeaseHolder): string =>
  `${encodeLease({ pid: holder.pid, pid_start_time: holder.pidStartTime, host: holder.host, acquired_at: holder.acquiredAt })}\n`

/** Same process: pid, start time and host (the acquisition time is not part of the identity). */
export const sameHolder = (a: Omit<LeaseHolder, "acquiredAt">, b: Omit<LeaseHolder, "acquiredAt">): boolean =>
  a.pid === b.pid && a.pidStartTime === b.pidStartTime && a.host === b.host

/** `pid 123` or `pid 123 on host h` when it is not this host. */
export const describeHolder = (holder: LeaseHolder, localHost: string): string =>
  holder.host === localHost ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`

export const leasePath = (home: string): string => path.join(home, "monitor.lease")
export const mutexPath = (home: string): string => path.join(home, "monitor.lease.lk")

// ---------------------------------------------------------------------------------------------
// Errors

/** Another live monitor holds the lease on this home (and this one was not started with --standby). */
export class MonitorAlreadyRunning extends Data.TaggedError("MonitorAlreadyRunning")<{
  readonly home: string
  readonly holder: LeaseHolder
  /** False when the holder runs on another host, so that its liveness cannot be checked from here. */
  readonly checkable: boolean
}> {
  override get message(): string {
    const { holder, home } = this
    const since = new Date(holder.acquiredAt).toISOString()
    if (!this.checkable) {
      return `another a3s-box monitor (pid ${holder.pid} on host ${holder.host}, since ${since}) holds the lease on ${home}: only one monitor may supervise a home. If that monitor is gone, remove ${
        leasePath(home)
      }; or start this one with --standby to take over when the lease is released`
    }
    return `another a3s-box monitor (pid ${holder.pid}, since ${since}) is already supervising ${home}: only one monitor may run per home. Stop it first (kill ${holder.pid}), or start this one with --standby to take over when it exits`
  }
}

/** The lease file or its mutex could not be read, written or taken. */
export class MonitorLeaseUnavailable extends Data.TaggedError("MonitorLeaseUnavailable")<{
  readonly path: string
  readonly operation: "read" | "write" | "lock"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `cannot ${this.operation} the monitor lease ${this.path}: ${this.detail}`
  }
}

/** The lease this monitor held is now held by another live process: this monitor must stop supervising. */
export class MonitorLeaseLost extends Data.TaggedError("MonitorLeaseLost")<{
  readonly home: string
  readonly holder: LeaseHolder
}> {
  override get message(): string {
    return `this monitor lost its lease on ${this.home} (${
      leasePath(this.home)
    }) to another monitor (pid ${this.holder.pid} on host ${this.holder.host}): stopping so that only one monitor supervises the home`
  }
}

// ---------------------------------------------------------------------------------------------
// The service: the lease of one home

export type ClaimResult =
  | {
    readonly _tag: "Claimed"
    readonly holder: LeaseHolder
    /** The previous holder named by the lease, no longer running. */
    readonly previous: Option.Option<LeaseHolder>
  }
  | { readonly _tag: "Busy"; readonly holder: LeaseHolder; readonly checkable: boolean }

export type Confirmation =
  | { readonly _tag: "Held" }
  /** The lease file was missing, unreadable, or named a process that is gone: written again. */
  | { readonly _tag: "Rewritten"; readonly reason: string }
  | { readonly _tag: "Lost"; readonly holder: LeaseHolder }

export interface MonitorLeaseShape {
  readonly home: string
  /** Where the lease lives (for messages). */
  readonly path: string
  /** This process's identity (`acquiredAt` is when it was computed). */
  readonly self: Effect.Effect<LeaseHolder>
  /** The host name holders are compared against. */
  readonly host: string
  /** The live holder, if any. A missing or corrupt lease, or one naming a dead process, is none. */
  readonly holder: Effect.Effect<Option.Option<LeaseHolder>, MonitorLeaseUnavailable>
  /** One attempt to take the lease for this process; never waits for a live holder. */
  readonly claim: Effect.Effect<ClaimResult, MonitorLeaseUnavailable>
  /** Whether the lease still names `self`; a missing, corrupt or dead lease is written again. */
  readonly confirm: (self: LeaseHolder) => Effect.Effect<Confirmation, MonitorLeaseUnavailable>
  /** Gives the lease up if it still names `self` (best effort, never fails). */
  readonly release: (self: LeaseHolder) => Effect.Effect<void>
}

export class MonitorLease extends Context.Tag("a3s-box/MonitorLease")<MonitorLease, MonitorLeaseShape>() {}

/** What one read of the lease finds. */
export type LeaseState =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Corrupt"; readonly detail: string }
  | { readonly _tag: "Found"; readonly holder: LeaseHolder }

/**
 * The claim decision, pure: given what the lease says and whether its holder is live, either
 * the lease is busy or `self` takes it (recording the previous holder, if there was one).
 */
export const decideClaim = (
  state: LeaseState,
  holderLive: boolean,
  self: LeaseHolder,
  localHost: string
): ClaimResult => {
  if (state._tag === "Found" && holderLive) {
    return { _tag: "Busy", holder: state.holder, checkable: state.holder.host === localHost }
  }
  return {
    _tag: "Claimed",
    holder: self,
    previous: state._tag === "Found" && !sameHolder(state.holder, self) ? Option.some(state.holder) : Option.none()
  }
}

/**
 * The common logic of both layers: `read` the lease, tell whether a holder is `live`, `write`
 * it, all `locked` against other claimants.
 */
const makeWith = (parts: {
  readonly home: string
  readonly path: string
  readonly host: string
  readonly identity: Effect.Effect<Omit<LeaseHolder, "acquiredAt">>
  readonly read: Effect.Effect<LeaseState, MonitorLeaseUnavailable>
  readonly live: (holder: LeaseHolder) => Effect.Effect<boolean>
  readonly write: (holder: LeaseHolder, verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<void, MonitorLeaseUnavailable>
  readonly remove: (verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<void, MonitorLeaseUnavailable>
  readonly locked: <A, E>(
    use: (verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | MonitorLeaseUnavailable>
}): MonitorLeaseShape => {
  const self = Effect.gen(function*() {
    const identity = yield* parts.identity
    return { ...identity, acquiredAt: yield* Clock.currentTimeMillis }
  })
  const liveHolder = (state: LeaseState): Effect.Effect<boolean> =>
    state._tag === "Found" ? parts.live(state.holder) : Effect.succeed(false)

  const claim = parts.locked((verify) =>
    Effect.gen(function*() {
      const state = yield* parts.read
      const me = yield* self
      const decision = decideClaim(state, yield* liveHolder(state), me, parts.host)
      if (decision._tag === "Claimed") yield* parts.write(decision.holder, verify)
      return decision
    })
  )

  const confirm = (me: LeaseHolder): Effect.Effect<Confirmation, MonitorLeaseUnavailable> =>
    Effect.gen(function*() {
      // The common case needs no mutex: the file still names us.
      const seen = yield* parts.read
      if (seen._tag === "Found" && sameHolder(seen.holder, me)) return { _tag: "Held" } as const
      return yield* parts.locked((verify) =>
        Effect.gen(function*() {
          const state = yield* parts.read
          if (state._tag === "Found" && sameHolder(state.holder, me)) return { _tag: "Held" } as const
          if (state._tag === "Found" && (yield* parts.live(state.holder))) {
            return { _tag: "Lost", holder: state.holder } as const
          }
          yield* parts.write(me, verify)
          const reason = state._tag === "Missing"
            ? "the lease file was missing"
            : state._tag === "Corrupt"
            ? `the lease file was unreadable (${state.detail})`
            : `the lease file named pid ${state.holder.pid}, which is not running`
          return { _tag: "Rewritten", reason } as const
        })
      )
    })

  const release = (me: LeaseHolder): Effect.Effect<void> =>
    parts.locked((verify) =>
      Effect.gen(function*() {
        const state = yield* parts.read
        if (state._tag === "Found" && sameHolder(state.holder, me)) yield* parts.remove(verify)
      })
    ).pipe(Effect.catchAll((error) => Effect.logWarning(`monitor: could not release the lease: ${error.message}`)))

  const holder = Effect.gen(function*() {
    const state = yield* parts.read
    return state._tag === "Found" && (yield* parts.live(state.holder)) ? Option.some(state.holder) : Option.none()
  })

  return { home: parts.home, path: parts.path, host: parts.host, self, holder, claim, confirm, release }
}

// ---------------------------------------------------------------------------------------------
// Node: the lease file

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
          onLeft: (detail) => ({ _tag: "Corrupt", detail }),
          onRight: (holder) => ({ _tag: "Found", holder })
        })
      ),
      Effect.catchIf(isNotFound, () => Effect.succeed<LeaseState>({ _tag: "Missing" })),
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

/** The lease of `home` on this host. */
export const layerNode = (home: string, options: NodeOptions = {}): Layer.Layer<MonitorLease, never, FileSystem.FileSystem> =>
  Layer.effect(MonitorLease, makeNode(home, options))

// ---------------------------------------------------------------------------------------------
// In memory: one simulated host with processes that can be killed

/** A simulated host for tests: a lease "file", processes (pids) that live until killed. */
export interface MemoryLeaseHost {
  /** The lease of one process (`pid`) of this host; the process is alive until `kill(pid)`. */
  readonly layer: (pid: number) => Layer.Layer<MonitorLease>
  readonly make: (pid: number) => Effect.Effect<MonitorLeaseShape>
  /** The process dies (SIGKILL): the lease it holds, if any, stays in the "file" but is no longer live. */
  readonly kill: (pid: number) => Effect.Effect<void>
  /** What the "file" says now. */
  readonly file: Effect.Effect<LeaseState>
  /** Replaces the "file", as a hand edit would (`Missing` deletes it). */
  readonly setFile: (state: LeaseState) => Effect.Effect<void>
  /** How many times the "file" was written. */
  readonly writes: Effect.Effect<number>
}

export const MEMORY_HOST = "memory-host"

export const makeMemoryHost: Effect.Effect<MemoryLeaseHost> = Effect.sync(() => {
  let file: LeaseState = { _tag: "Missing" }
  let writes = 0
  const alive = new Set<number>()
  const mutex = Effect.unsafeMakeSemaphore(1)
  const make = (pid: number) =>
    Effect.sync(() => {
      alive.add(pid)
      return makeWith({
        home: "memory",
        path: "memory:monitor.lease",
        host: MEMORY_HOST,
        identity: Effect.succeed({ pid, pidStartTime: null, host: MEMORY_HOST }),
        read: Effect.sync(() => file),
        live: (holder) => Effect.sync(() => holder.host !== MEMORY_HOST || alive.has(holder.pid)),
        write: (holder, verify) =>
          Effect.zipRight(verify, Effect.sync(() => {
            file = { _tag: "Found", holder }
            writes++
          })),
        remove: (verify) => Effect.zipRight(verify, Effect.sync(() => (file = { _tag: "Missing" }))),
        locked: (use) => mutex.withPermits(1)(use(Effect.void))
      })
    })
  return {
    make,
    layer: (pid) => Layer.effect(MonitorLease, make(pid)),
    kill: (pid) => Effect.sync(() => alive.delete(pid)),
    file: Effect.sync(() => file),
    setFile: (state) => Effect.sync(() => (file = state)),
    writes: Effect.sync(() => writes)
  }
})

// ---------------------------------------------------------------------------------------------
// Holding the lease for the lifetime of a scope

export interface HeldLeaseShape {
  /** This process, as recorded in the lease. */
  readonly holder: LeaseHolder
  /** The holder before us, if the lease named a process that was gone. */
  readonly previous: Option.Option<LeaseHolder>
  /** Fails with `MonitorLeaseLost` once another live process holds the lease; never succeeds. */
  readonly lost: Effect.Effect<never, MonitorLeaseLost>
  /** Whether the lease was lost (no I/O). */
  readonly isLost: Effect.Effect<boolean>
  /**
   * Checks now that the lease is still ours (one small read; see `MonitorLeaseShape.confirm`):
   * false once it is lost. Writers of files that belong to the holder (the heartbeat) call it
   * right before writing.
   */
  readonly verify: Effect.Effect<boolean>
}

/** The lease, held: present in a layer stack only while this process holds it. */
export class HeldLease extends Context.Tag("a3s-box/HeldMonitorLease")<HeldLease, HeldLeaseShape>() {}

export interface HoldOptions {
  /** Wait for the lease instead of failing when a live monitor holds it (`--standby`). */
  readonly standby: boolean
  /** How often a standby looks at the lease (default 1 s). */
  readonly poll?: Duration.DurationInput
  /** How often the holder checks the lease is still its own (default 5 s: the default interval). */
  readonly watch?: Duration.DurationInput
}

/** A standby looks at the lease this often, so that it takes over well within one poll interval. */
export const standbyPoll = (interval: Duration.DurationInput): Duration.Duration =>
  Duration.min(Duration.decode(interval), Duration.seconds(1))

/**
 * Takes the lease for the lifetime of the current scope. Without standby, a live holder fails
 * it at once with `MonitorAlreadyRunning`; with standby it waits quietly (one log line) and
 * logs when it takes over. While held, the lease is checked every `watch`: a lease file that
 * vanished is written again, a lease another live process took is lost (`lost` fails). On
 * scope close the lease is released unless it was lost.
 */
export const hold = (
  options: HoldOptions
): Effect.Effect<HeldLeaseShape, MonitorAlreadyRunning | MonitorLeaseUnavailable, MonitorLease | Scope.Scope> =>
  Effect.gen(function*() {
    const lease = yield* MonitorLease
    const poll = Duration.decode(options.poll ?? Duration.seconds(1))
    const watch = Duration.decode(options.watch ?? Duration.seconds(5))

    let waitingFor: LeaseHolder | undefined
    const claimErrors = yield* ThrottledLog.make()
    const claimed = yield* Effect.acquireRelease(
      Effect.gen(function*() {
        while (true) {
          const attempt = yield* Effect.either(lease.claim)
          if (Either.isRight(attempt)) {
            const result = attempt.right
            if (result._tag === "Claimed") return result
            const busy = result
            if (!options.standby) {
              return yield* new MonitorAlreadyRunning({ home: lease.home, holder: busy.holder, checkable: busy.checkable })
            }
            if (waitingFor === undefined || !sameHolder(waitingFor, busy.holder)) {
              yield* Effect.logInfo(
                `monitor: standby: ${describeHolder(busy.holder, lease.host)} is supervising ${lease.home}; this monitor takes over when it exits`
              )
            }
            waitingFor = busy.holder
          } else {
            if (!options.standby) return yield* attempt.left
            yield* claimErrors.log(attempt.left.message, Effect.logWarning(`monitor: standby: ${attempt.left.message} (retrying)`))
          }
          // Interruptible wait: Ctrl-C of a standby monitor ends it at once.
          yield* Effect.interruptible(Effect.sleep(poll))
        }
      }),
      // Removes the lease file only if it still names us: a lost lease is someone else's.
      (claimed) => lease.release(claimed.holder)
    )

    if (waitingFor !== undefined) {
      const was = Option.getOrElse(claimed.previous, () => waitingFor!)
      yield* Effect.logInfo(
        `monitor: standby: ${describeHolder(was, lease.host)} is gone; this monitor (pid ${claimed.holder.pid}) takes over supervision of ${lease.home}`
      )
    } else if (Option.isSome(claimed.previous)) {
      yield* Effect.logInfo(
        `monitor: the previous monitor of ${lease.home} (${describeHolder(claimed.previous.value, lease.host)}) is gone; taking over its lease`
      )
    }

    const lostSignal = yield* Deferred.make<never, MonitorLeaseLost>()

    const watchErrors = yield* ThrottledLog.make()
    const checking = yield* Effect.makeSemaphore(1)
    const check = checking.withPermits(1)(Effect.gen(function*() {
      if (yield* Deferred.isDone(lostSignal)) return false
      const result = yield* Effect.either(lease.confirm(claimed.holder))
      if (Either.isLeft(result)) {
        yield* watchErrors.log(result.left.message, Effect.logWarning(`monitor: ${result.left.message}`))
        return true
      }
      yield* watchErrors.clear
      const confirmation = result.right
      switch (confirmation._tag) {
        case "Held":
          return true
        case "Rewritten":
          yield* Effect.logWarning(`monitor: ${confirmation.reason}; wrote the lease ${lease.path} again`)
          return true
        case "Lost": {
          const error = new MonitorLeaseLost({ home: lease.home, holder: confirmation.holder })
          yield* Effect.logError(`monitor: ${error.message}`)
          yield* Deferred.fail(lostSignal, error)
          return false
        }
      }
    }))
    yield* Effect.forkScoped(
      Effect.repeat(Effect.delay(check, watch), Schedule.recurWhile((keepGoing: boolean) => keepGoing))
    )

    return {
      holder: claimed.holder,
      previous: claimed.previous,
      lost: Deferred.await(lostSignal),
      isLost: Deferred.isDone(lostSignal),
      verify: check
    }
  })

/** The lease held for the lifetime of the layer. */
export const layerHeld = (
  options: HoldOptions
): Layer.Layer<HeldLease, MonitorAlreadyRunning | MonitorLeaseUnavailable, MonitorLease> =>
  Layer.scoped(HeldLease, hold(options))

/**
 * The lease held for the lifetime of the layer, timed from the monitor's configuration: a
 * standby polls every `standbyPoll(interval)`, the holder checks the lease every interval.
 */
export const layerHeldFromConfig = (options: {
  readonly standby: boolean
}): Layer.Layer<HeldLease, MonitorAlreadyRunning | MonitorLeaseUnavailable, MonitorLease | MonitorConfig> =>
  Layer.scoped(
    HeldLease,
    Effect.flatMap(MonitorConfig, (config) =>
      hold({ standby: options.standby, poll: standbyPoll(config.interval), watch: config.interval }))
  )

/** The lease of the configured home on this host, held for the lifetime of the layer. */
export const layer = (options: {
  readonly standby: boolean
  readonly node?: NodeOptions
}): Layer.Layer<HeldLease, MonitorAlreadyRunning | MonitorLeaseUnavailable, MonitorConfig | FileSystem.FileSystem> =>
  layerHeldFromConfig(options).pipe(
    Layer.provide(Layer.unwrapEffect(Effect.map(MonitorConfig, (config) => layerNode(config.home, options.node ?? {}))))
  )
