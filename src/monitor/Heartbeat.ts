/**
 * The monitor's heartbeat (SPEC §11): `<home>/monitor.json`, written by the monitor that holds
 * the home's lease, read by anyone who wants to know whether a live monitor supervises the home
 * (`a3s-box ps`/`run -d`/`start` for their warning, `a3s-box monitor status`).
 *
 * - Content: pid and its start time, host, poll interval, metrics address, version, when the
 *   monitor started, when its last poll cycle completed, when the file was written, and, after
 *   a clean exit, when it stopped.
 * - Written at start, then at most once per poll interval, and only when a cycle completed
 *   since the last write; always atomically (temp file, fsync, rename; mode 0600). On a clean
 *   exit the file is kept and marked stopped (`stopped_at`), so `monitor status` can tell
 *   "stopped cleanly" from "crashed".
 * - Reading never fails: a missing or unparseable file is "no monitor". Whether the monitor
 *   that wrote it is live is a pure verdict (`assess`) over the file, the clock and what the
 *   OS says about its pid: a stopped, gone, reused (other start time) or stale pid (no cycle
 *   within `max(3 × interval, 30 s)`) is not a live monitor.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as os from "node:os"
import * as ProcessInfo from "../runtime/ProcessInfo.js"
import { type MonitorHeartbeat, read } from "./internal/heartbeatFile.js"
import { assess, type Verdict } from "./internal/heartbeatVerdict.js"
import { fileSink, type HeartbeatOptions, writeHeartbeat } from "./internal/heartbeatWriter.js"
import { MonitorConfig } from "./MonitorConfig.js"
import type { HeldLease } from "./MonitorLease.js"
import type { MonitorStats } from "./MonitorStats.js"

export { heartbeatPath, MonitorHeartbeat, parse, read, ReadResult, render } from "./internal/heartbeatFile.js"
export {
  age,
  assess,
  describe,
  isSupervising,
  type NotRunningReason,
  thresholdSeconds,
  toJson,
  Verdict
} from "./internal/heartbeatVerdict.js"
export { fileSink, type HeartbeatOptions, memorySink } from "./internal/heartbeatWriter.js"

/** Reads `<home>/monitor.json` and judges it now, on this host. Never fails. */
export const inspect = (home: string): Effect.Effect<Verdict, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const found = yield* read(home)
    const localHost = os.hostname()
    const processInfo = found._tag === "Found" && found.heartbeat.host === localHost
      ? yield* ProcessInfo.readProcessInfo(found.heartbeat.pid)
      : Option.none()
    const now = yield* Clock.currentTimeMillis
    return assess({ read: found, now, localHost, processInfo })
  })

// ---------------------------------------------------------------------------------------------
// Writing it: the heartbeat of the monitor that holds the lease

/**
 * The address the metrics server is actually bound to (`HOST:PORT`; the real port when 0 was
 * asked), or null when it is off. Optional: without it the heartbeat records the configured
 * `metricsAddr`.
 */
export class MetricsEndpoint extends Context.Tag("a3s-box/MetricsEndpoint")<MetricsEndpoint, {
  readonly address: string | null
}>() {}

/** Where heartbeats go: the file, or memory (tests). */
export interface HeartbeatSink {
  readonly path: string
  readonly write: (heartbeat: MonitorHeartbeat) => Effect.Effect<void, { readonly message: string }>
  /** Removes what writers that died mid-write left behind (called once, while holding the lease). */
  readonly sweep: Effect.Effect<void>
}

export interface HeartbeatShape {
  readonly path: string
  /** The heartbeat as last written (or attempted). */
  readonly current: Effect.Effect<MonitorHeartbeat>
  /** How many heartbeats were written. */
  readonly writes: Effect.Effect<number>
}

/** The running monitor's heartbeat writer. */
export class Heartbeat extends Context.Tag("a3s-box/Heartbeat")<Heartbeat, HeartbeatShape>() {}

/**
 * Writes the heartbeat of the lease holder to `sink` for the lifetime of the scope: once at
 * start, then every interval if a poll cycle completed since the last write (so at most once
 * per interval, and not at all while the loop is stuck: the file goes stale, which readers
 * notice), and `stopped_at` on scope close. Stops writing once the lease is lost (the file is
 * then the new holder's). Write failures are logged, never fatal.
 */
export const make = (sink: HeartbeatSink, options: HeartbeatOptions = {}) =>
  Effect.flatMap(Effect.serviceOption(MetricsEndpoint), (endpoint) => writeHeartbeat(sink, endpoint, options))

/** The heartbeat in `<home>/monitor.json` of the configured home. */
export const layer = (
  options: HeartbeatOptions = {}
): Layer.Layer<Heartbeat, never, MonitorConfig | MonitorStats | HeldLease | FileSystem.FileSystem> =>
  Layer.scoped(
    Heartbeat,
    Effect.gen(function*() {
      const config = yield* MonitorConfig
      return yield* make(yield* fileSink(config.home), options)
    })
  )

/** The heartbeat written to `sink` (e.g. `memorySink` in tests). */
export const layerWith = (
  sink: HeartbeatSink,
  options: HeartbeatOptions = {}
): Layer.Layer<Heartbeat, never, MonitorConfig | MonitorStats | HeldLease> => Layer.scoped(Heartbeat, make(sink, options))
