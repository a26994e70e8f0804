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
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ClaimResult, Confirmation } from "./internal/leaseClaim.js"
import type { MonitorAlreadyRunning, MonitorLeaseLost, MonitorLeaseUnavailable } from "./internal/leaseErrors.js"
import type { LeaseHolder } from "./internal/leaseFile.js"
import { holdLease, type HoldOptions, standbyPoll } from "./internal/leaseHold.js"
import * as LeaseMemory from "./internal/leaseMemory.js"
import { makeNode, type NodeOptions } from "./internal/leaseNode.js"
import { MonitorConfig } from "./MonitorConfig.js"

export { ClaimResult, Confirmation, decideClaim } from "./internal/leaseClaim.js"
export { MonitorAlreadyRunning, MonitorLeaseLost, MonitorLeaseUnavailable } from "./internal/leaseErrors.js"
export {
  describeHolder,
  LeaseFile,
  type LeaseHolder,
  leasePath,
  LeaseState,
  mutexPath,
  parseLease,
  renderLease,
  sameHolder,
  Timestamp
} from "./internal/leaseFile.js"
export { type HoldOptions, standbyPoll } from "./internal/leaseHold.js"
export { MEMORY_HOST } from "./internal/leaseMemory.js"
export { isLiveOn, makeNode, type NodeOptions, processIdentity } from "./internal/leaseNode.js"

// ---------------------------------------------------------------------------------------------
// The service: the lease of one home

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

/** The lease of `home` on this host (`<home>/monitor.lease`). */
export const layerNode = (home: string, options: NodeOptions = {}): Layer.Layer<MonitorLease, never, FileSystem.FileSystem> =>
  Layer.effect(MonitorLease, makeNode(home, options))

/** A simulated host for tests: a lease "file", processes (pids) that live until killed. */
export interface MemoryLeaseHost extends LeaseMemory.MemoryHost {
  /** The lease of one process (`pid`) of this host; the process is alive until `kill(pid)`. */
  readonly layer: (pid: number) => Layer.Layer<MonitorLease>
}

export const makeMemoryHost: Effect.Effect<MemoryLeaseHost> = Effect.map(LeaseMemory.makeMemoryHost, (host) => ({
  ...host,
  layer: (pid) => Layer.effect(MonitorLease, host.make(pid))
}))

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
  Effect.flatMap(MonitorLease, (lease) => holdLease(lease, options))

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
