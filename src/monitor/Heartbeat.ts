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
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import packageJson from "../../package.json" with { type: "json" }
import * as AtomicFile from "../platform/AtomicFile.js"
import { errorText, isNotFound } from "../platform/ErrorText.js"
import * as ThrottledLog from "../platform/ThrottledLog.js"
import * as ProcessInfo from "../runtime/ProcessInfo.js"
import { MonitorConfig, stalenessThreshold } from "./MonitorConfig.js"
import { HeldLease, Timestamp } from "./MonitorLease.js"
import { MonitorStats } from "./MonitorStats.js"

// ---------------------------------------------------------------------------------------------
// The file

export const heartbeatPath = (home: string): string => path.join(home, "monitor.json")

/** `<home>/monitor.json`; timestamps are RFC 3339 in the file, epoch milliseconds in memory. */
export const MonitorHeartbeat = Schema.Struct({
  pid: Schema.Int.pipe(Schema.positive()),
  pid_start_time: Schema.NullOr(Schema.Number),
  host: Schema.String,
  interval_secs: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  /** `HOST:PORT` the metrics server is bound to, or null when it is off. */
  metrics_addr: Schema.NullOr(Schema.String),
  version: Schema.String,
  started_at: Timestamp,
  /** Null until the first poll cycle completes. */
  last_cycle_at: Schema.NullOr(Timestamp),
  updated_at: Timestamp,
  /** Set by a monitor that exits cleanly. */
  stopped_at: Schema.optionalWith(Schema.NullOr(Timestamp), { default: () => null })
})

export type MonitorHeartbeat = typeof MonitorHeartbeat.Type

const decodeHeartbeat = Schema.decodeUnknownEither(Schema.parseJson(MonitorHeartbeat))
const encodeHeartbeat = Schema.encodeSync(Schema.parseJson(MonitorHeartbeat, { space: 2 }))

/** Parses the file's text; Left names what is wrong. */
export const parse = (text: string): Either.Either<MonitorHeartbeat, string> =>
  Either.mapLeft(decodeHeartbeat(text), (error) => ParseResult.TreeFormatter.formatErrorSync(error))

export const render = (heartbeat: MonitorHeartbeat): string => `${encodeHeartbeat(heartbeat)}\n`

/** What a read of the file finds. Never an error: "cannot read" is a result like the others. */
export type ReadResult =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Unreadable"; readonly detail: string }
  | { readonly _tag: "Found"; readonly heartbeat: MonitorHeartbeat }

/** Reads `<home>/monitor.json`. Never fails. */
export const read = (home: string): Effect.Effect<ReadResult, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFileString(heartbeatPath(home)).pipe(
      Effect.map((text): ReadResult =>
        Either.match(parse(text), {
          onLeft: (detail) => ({ _tag: "Unreadable", detail: `not a valid heartbeat: ${detail}` }),
          onRight: (heartbeat) => ({ _tag: "Found", heartbeat })
        })
      ),
      Effect.catchAll((error) =>
        Effect.succeed<ReadResult>(isNotFound(error) ? { _tag: "Missing" } : { _tag: "Unreadable", detail: errorText(error) })
      )
    )
  })

// ---------------------------------------------------------------------------------------------
// Is this monitor live? (pure)

export type NotRunningReason =
  /** No heartbeat file: no monitor ever ran here, or it was removed. */
  | "missing"
  /** The file cannot be read or does not parse. */
  | "unreadable"
  /** The monitor exited cleanly. */
  | "stopped"
  /** The pid is gone (or a zombie): the monitor crashed or was killed. */
  | "gone"
  /** The pid now belongs to another process (other start time). */
  | "reused"

export type Verdict =
  | {
    readonly _tag: "Running"
    readonly heartbeat: MonitorHeartbeat
    /** Seconds since the last completed cycle; null before the first one. */
    readonly secondsSinceLastCycle: number | null
    readonly thresholdSeconds: number
    /** False when the monitor runs on another host: its pid could not be checked. */
    readonly pidChecked: boolean
  }
  /** The process lives (or cannot be checked) but has not completed a cycle within the threshold. */
  | {
    readonly _tag: "Stale"
    readonly heartbeat: MonitorHeartbeat
    readonly secondsSinceLastCycle: number
    readonly thresholdSeconds: number
    readonly polled: boolean
    readonly pidChecked: boolean
  }
  | {
    readonly _tag: "NotRunning"
    readonly reason: NotRunningReason
    readonly heartbeat: MonitorHeartbeat | null
    /** What could not be read, for "unreadable". */
    readonly detail: string
  }

/** Staleness threshold of a heartbeat: `max(3 × interval, 30 s)`, in seconds (SPEC §8). */
export const thresholdSeconds = (intervalSecs: number): number =>
  Duration.toSeconds(stalenessThreshold({ interval: Duration.seconds(intervalSecs) }))

/**
 * The verdict on a heartbeat read at `now`, given `processInfo`, what the OS says about the
 * heartbeat's pid on `localHost` (ignored for a heartbeat written on another host, whose
 * process cannot be checked from here: staleness alone decides).
 */
export const assess = (input: {
  readonly read: ReadResult
  readonly now: number
  readonly localHost: string
  readonly processInfo: Option.Option<ProcessInfo.ProcessInfo>
}): Verdict => {
  const found = input.read
  if (found._tag === "Missing") return { _tag: "NotRunning", reason: "missing", heartbeat: null, detail: "" }
  if (found._tag === "Unreadable") return { _tag: "NotRunning", reason: "unreadable", heartbeat: null, detail: found.detail }
  const heartbeat = found.heartbeat
  if (heartbeat.stopped_at !== null) return { _tag: "NotRunning", reason: "stopped", heartbeat, detail: "" }
  const pidChecked = heartbeat.host === input.localHost
  if (pidChecked) {
    const info = input.processInfo
    if (Option.isNone(info) || ProcessInfo.isGoneState(info.value.state) || info.value.pid !== heartbeat.pid) {
      return { _tag: "NotRunning", reason: "gone", heartbeat, detail: "" }
    }
    if (heartbeat.pid_start_time !== null && info.value.startTime !== heartbeat.pid_start_time) {
      return { _tag: "NotRunning", reason: "reused", heartbeat, detail: "" }
    }
  }
  const threshold = thresholdSeconds(heartbeat.interval_secs)
  const since = heartbeat.last_cycle_at ?? heartbeat.started_at
  const seconds = Math.max(0, input.now - since) / 1000
  if (seconds > threshold) {
    return {
      _tag: "Stale",
      heartbeat,
      secondsSinceLastCycle: seconds,
      thresholdSeconds: threshold,
      polled: heartbeat.last_cycle_at !== null,
      pidChecked
    }
  }
  return {
    _tag: "Running",
    heartbeat,
    secondsSinceLastCycle: heartbeat.last_cycle_at === null ? null : seconds,
    thresholdSeconds: threshold,
    pidChecked
  }
}

/** A live monitor supervises the home: only a `Running` verdict. */
export const isSupervising = (verdict: Verdict): boolean => verdict._tag === "Running"

const secs = (s: number): string => `${Math.floor(s)}s`

/** A short age: `42s`, `5m`, `3h`, `2d`. */
export const age = (seconds: number): string => {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 120) return `${s}s`
  if (s < 7_200) return `${Math.floor(s / 60)}m`
  if (s < 172_800) return `${Math.floor(s / 3_600)}h`
  return `${Math.floor(s / 86_400)}d`
}

/** One line about the verdict, for `monitor status` (`now` for the ages of stopped/gone monitors). */
export const describe = (verdict: Verdict, now: number, file: string): string => {
  switch (verdict._tag) {
    case "Running": {
      const hb = verdict.heartbeat
      const parts = [
        `pid ${hb.pid}${verdict.pidChecked ? "" : ` on host ${hb.host}`}`,
        verdict.secondsSinceLastCycle === null
          ? "no poll cycle completed yet"
          : `last poll cycle ${secs(verdict.secondsSinceLastCycle)} ago`,
        `interval ${hb.interval_secs}s`,
        `metrics ${hb.metrics_addr ?? "off"}`,
        `version ${hb.version}`
      ]
      return `running (${parts.join(", ")})`
    }
    case "Stale": {
      const hb = verdict.heartbeat
      const what = verdict.polled
        ? `its last poll cycle completed ${secs(verdict.secondsSinceLastCycle)} ago`
        : `no poll cycle completed in the ${secs(verdict.secondsSinceLastCycle)} since it started`
      const where = verdict.pidChecked ? "is running" : `on host ${hb.host} may be running`
      return `NOT RESPONDING: pid ${hb.pid} ${where} but ${what} (threshold ${secs(verdict.thresholdSeconds)})`
    }
    case "NotRunning": {
      const hb = verdict.heartbeat
      switch (verdict.reason) {
        case "missing":
          return `not running (no heartbeat file ${file})`
        case "unreadable":
          return `not running (the heartbeat file ${file} cannot be read: ${verdict.detail})`
        case "stopped":
          return `not running (the last monitor, pid ${hb!.pid}, stopped ${age((now - hb!.stopped_at!) / 1000)} ago)`
        case "gone":
          return `not running (the last monitor, pid ${hb!.pid}, is gone: it crashed or was killed; last heartbeat ${
            age((now - hb!.updated_at) / 1000)
          } ago)`
        case "reused":
          return `not running (the last monitor, pid ${hb!.pid}, is gone and its pid now belongs to another process; last heartbeat ${
            age((now - hb!.updated_at) / 1000)
          } ago)`
      }
    }
  }
}

const iso = (millis: number | null): string | null => (millis === null ? null : new Date(millis).toISOString())

/** The verdict as JSON (snake_case, like the files), for `monitor status --format json`. */
export const toJson = (verdict: Verdict, now: number, file: string) => {
  const hb = verdict.heartbeat
  return {
    heartbeat_path: file,
    state: verdict._tag === "Running" ? "running" : verdict._tag === "Stale" ? "not-responding" : "not-running",
    supervising: verdict._tag === "Running",
    reason: verdict._tag === "NotRunning" ? verdict.reason : null,
    detail: verdict._tag === "NotRunning" && verdict.detail !== "" ? verdict.detail : null,
    pid: hb?.pid ?? null,
    pid_start_time: hb?.pid_start_time ?? null,
    host: hb?.host ?? null,
    interval_secs: hb?.interval_secs ?? null,
    metrics_addr: hb?.metrics_addr ?? null,
    version: hb?.version ?? null,
    started_at: iso(hb?.started_at ?? null),
    last_cycle_at: iso(hb?.last_cycle_at ?? null),
    seconds_since_last_cycle: hb === null || hb.last_cycle_at === null ? null : Math.max(0, now - hb.last_cycle_at) / 1000,
    stopped_at: iso(hb?.stopped_at ?? null)
  }
}

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
export const make = (
  sink: HeartbeatSink,
  options: HeartbeatOptions = {}
) =>
  Effect.gen(function*() {
    const config = yield* MonitorConfig
    const stats = yield* MonitorStats
    const lease = yield* HeldLease
    const endpoint = yield* Effect.serviceOption(MetricsEndpoint)
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

    return { path: sink.path, current: Ref.get(current), writes: Ref.get(writes) } satisfies HeartbeatShape
  })

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
