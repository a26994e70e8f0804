/**
 * Writing the heartbeat of the monitor that holds the lease: to the file (atomically) or to
 * memory, at start, after completed poll cycles, and `stopped_at` at the end.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import * as path from "node:path"
import packageJson from "../../../package.json" with { type: "json" }
import * as AtomicFile from "../../platform/AtomicFile.js"
import { errorText } from "../../platform/ErrorText.js"
import * as ThrottledLog from "../../platform/ThrottledLog.js"
import type { HeartbeatShape, HeartbeatSink } from "../Heartbeat.js"
import { MonitorConfig } from "../MonitorConfig.js"
import { HeldLease } from "../MonitorLease.js"
import { MonitorStats } from "../MonitorStats.js"
import { heartbeatPath, type MonitorHeartbeat, render } from "./heartbeatFile.js"

export interface HeartbeatOptions {
  /** Recorded as `version` (default: this package's version). */
  readonly version?: string
}

/** `<home>/monitor.json`, written atomically (AtomicFile: unique temp file, fsync, rename), mode 0600. */
export const fileSink = (home: string): Effect.Effect<HeartbeatSink> =>
  Effect.sync(() => {
    const file = heartbeatPath(path.resolve(home))
    // Synchronous node:fs: the file is a few hundred bytes, written every interval by an
    // otherwise idle monitor, and each asynchronous step (open, write, fsync, close, rename) would
    // be a thread-pool round trip and a wake-up of its own.
    const write = (heartbeat: MonitorHeartbeat) =>
      AtomicFile.write(AtomicFile.nodeSync, file, render(heartbeat), { mode: 0o600 }).pipe(
        Effect.mapError((error) => ({ message: `cannot write the heartbeat ${file}: ${errorText(error.cause)}` }))
      )
    const sweep = Effect.asVoid(AtomicFile.sweep(AtomicFile.nodeSync, file))
    return { path: file, write, sweep }
  })

/** Heartbeats kept in memory, for tests: `written` lists them in order. */
export const memorySink: Effect.Effect<{
  readonly sink: HeartbeatSink
  readonly written: Effect.Effect<ReadonlyArray<MonitorHeartbeat>>
  /** Makes the next writes fail (or succeed again). */
  readonly failWrites: (fail: boolean) => Effect.Effect<void>
}> = Effect.gen(function*() {
  const written = yield* Ref.make<ReadonlyArray<MonitorHeartbeat>>([])
  const failing = yield* Ref.make(false)
  return {
    sink: {
      path: "memory:monitor.json",
      write: (heartbeat) =>
        Effect.flatMap(Ref.get(failing), (fail) =>
          fail
            ? Effect.fail({ message: "cannot write the heartbeat memory:monitor.json: disk full" })
            : Ref.update(written, (list) => [...list, heartbeat])),
      sweep: Effect.void
    },
    written: Ref.get(written),
    failWrites: (fail) => Ref.set(failing, fail)
  }
})

const formatAddress = (address: { readonly host: string; readonly port: number }): string =>
  net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

/**
 * Writes the heartbeat of the lease holder to `sink` for the lifetime of the scope: once at
 * start, then every interval if a poll cycle completed since the last write (so at most once
 * per interval, and not at all while the loop is stuck: the file goes stale, which readers
 * notice), and `stopped_at` on scope close. Stops writing once the lease is lost (the file is
 * then the new holder's). Write failures are logged, never fatal.
 */
export const writeHeartbeat = (
  sink: HeartbeatSink,
  /** The metrics server's bound address (`MetricsEndpoint`), if it is known. */
  endpoint: Option.Option<{ readonly address: string | null }>,
  options: HeartbeatOptions = {}
): Effect.Effect<HeartbeatShape, never, MonitorConfig | MonitorStats | HeldLease | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* MonitorConfig
    const stats = yield* MonitorStats
    const lease = yield* HeldLease
    const startedAt = yield* Clock.currentTimeMillis
    const metricsAddr = Option.match(endpoint, {
      onSome: (e) => e.address,
      onNone: () => Option.getOrNull(Option.map(config.metricsAddr, formatAddress))
    })
    const current = yield* Ref.make<MonitorHeartbeat>({
      pid: lease.holder.pid,
      pid_start_time: lease.holder.pidStartTime,
      host: lease.holder.host,
      interval_secs: Duration.toSeconds(config.interval),
      metrics_addr: metricsAddr,
      version: options.version ?? packageJson.version,
      started_at: startedAt,
      last_cycle_at: null,
      updated_at: startedAt,
      stopped_at: null
    })
    const writes = yield* Ref.make(0)
    const writeErrors = yield* ThrottledLog.make()

    const write = (change: (heartbeat: MonitorHeartbeat, now: number) => MonitorHeartbeat) =>
      Effect.gen(function*() {
        if (!(yield* lease.verify)) return
        const now = yield* Clock.currentTimeMillis
        const next = yield* Ref.updateAndGet(current, (hb) => ({ ...change(hb, now), updated_at: now }))
        const result = yield* Effect.either(sink.write(next))
        if (Either.isRight(result)) {
          yield* writeErrors.clear
          yield* Ref.update(writes, (n) => n + 1)
          return
        }
        const message = result.left.message
        yield* writeErrors.log(message, Effect.logWarning(`monitor: ${message}`))
      })

    yield* sink.sweep
    yield* write((hb) => hb)
    yield* Effect.addFinalizer(() => write((hb, now) => ({ ...hb, stopped_at: now })))

    const tick = Effect.gen(function*() {
      const last = Option.getOrNull((yield* stats.snapshot).lastCycleCompletedAt)
      const written = (yield* Ref.get(current)).last_cycle_at
      if (last !== null && last !== written) yield* write((hb) => ({ ...hb, last_cycle_at: last }))
    })
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(tick, config.interval), Schedule.forever))

    return { path: sink.path, current: Ref.get(current), writes: Ref.get(writes) }
  })
