/**
 * Is the monitor that wrote a heartbeat live? A pure verdict over the file, the clock and what
 * the OS says about its pid, and its text and JSON forms for `monitor status`.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as ProcessInfo from "../../runtime/ProcessInfo.js"
import { stalenessThreshold } from "../MonitorConfig.js"
import type { MonitorHeartbeat, ReadResult } from "./heartbeatFile.js"

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

export type Verdict = Data.TaggedEnum<{
  Running: {
    readonly heartbeat: MonitorHeartbeat
    /** Seconds since the last completed cycle; null before the first one. */
    readonly secondsSinceLastCycle: number | null
    readonly thresholdSeconds: number
    /** False when the monitor runs on another host: its pid could not be checked. */
    readonly pidChecked: boolean
  }
  /** The process lives (or cannot be checked) but has not completed a cycle within the threshold. */
  Stale: {
    readonly heartbeat: MonitorHeartbeat
    readonly secondsSinceLastCycle: number
    readonly thresholdSeconds: number
    readonly polled: boolean
    readonly pidChecked: boolean
  }
  NotRunning: {
    readonly reason: NotRunningReason
    readonly heartbeat: MonitorHeartbeat | null
    /** What could not be read, for "unreadable". */
    readonly detail: string
  }
}>

export const Verdict = Data.taggedEnum<Verdict>()

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
  if (found._tag === "Missing") return Verdict.NotRunning({ reason: "missing", heartbeat: null, detail: "" })
  if (found._tag === "Unreadable") return Verdict.NotRunning({ reason: "unreadable", heartbeat: null, detail: found.detail })
  const heartbeat = found.heartbeat
  if (heartbeat.stopped_at !== null) return Verdict.NotRunning({ reason: "stopped", heartbeat, detail: "" })
  const pidChecked = heartbeat.host === input.localHost
  if (pidChecked) {
    const info = input.processInfo
    if (Option.isNone(info) || ProcessInfo.isGoneState(info.value.state) || info.value.pid !== heartbeat.pid) {
      return Verdict.NotRunning({ reason: "gone", heartbeat, detail: "" })
    }
    if (heartbeat.pid_start_time !== null && info.value.startTime !== heartbeat.pid_start_time) {
      return Verdict.NotRunning({ reason: "reused", heartbeat, detail: "" })
    }
  }
  const threshold = thresholdSeconds(heartbeat.interval_secs)
  const since = heartbeat.last_cycle_at ?? heartbeat.started_at
  const seconds = Math.max(0, input.now - since) / 1000
  if (seconds > threshold) {
    return Verdict.Stale({
      heartbeat,
      secondsSinceLastCycle: seconds,
      thresholdSeconds: threshold,
      polled: heartbeat.last_cycle_at !== null,
      pidChecked
    })
  }
  return Verdict.Running({
    heartbeat,
    secondsSinceLastCycle: heartbeat.last_cycle_at === null ? null : seconds,
    thresholdSeconds: threshold,
    pidChecked
  })
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
