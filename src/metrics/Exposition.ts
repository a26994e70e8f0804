/**
 * The Prometheus text exposition of `/metrics` (SPEC §8), built with prom-client on a
 * registry of its own made fresh for every scrape: prom-client does the format and
 * the escaping, and nothing outlives a scrape (no stale per-box series, no global state).
 *
 * Everything here is a function of its input; `sampleProcess` is the one reader of the
 * outside world, kept apart so that tests can pass fixed numbers.
 */
import { Counter, Gauge, type Metric, Registry } from "prom-client"
import { type BoxRecord, lastExitOf } from "../domain/BoxRecord.js"
import * as BoxStatus from "../domain/BoxStatus.js"
import { CYCLE_BUCKETS, type MonitorStatsSnapshot, PROBE_OUTCOMES, RESTART_KEYS } from "../telemetry/MonitorStats.js"
import type { Staleness } from "./Staleness.js"

/**
 * `text/plain; version=0.0.4; charset=utf-8`: the Prometheus text format 0.0.4, as
 * prom-client and the Go client send it. The charset says how box names in label
 * values are encoded.
 */
export const CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE

/** What one read-only snapshot of the state file gave. */
export type StateView =
  | {
    readonly _tag: "Readable"
    readonly records: ReadonlyArray<BoxRecord>
    /** Elements of the file that are not box records (SPEC §12): counted apart, not in the box families. */
    readonly invalid: number
  }
  | { readonly _tag: "Unreadable"; readonly reason: string }

export const readable = (records: ReadonlyArray<BoxRecord>, invalid = 0): StateView => ({ _tag: "Readable", records, invalid })
export const unreadable = (reason: string): StateView => ({ _tag: "Unreadable", reason })

/** The standard process metrics, as numbers. */
export interface ProcessSample {
  readonly residentMemoryBytes: number
  readonly cpuSecondsTotal: number
  readonly startTimeSeconds: number
}

export interface ExpositionInput {
  readonly state: StateView
  readonly stats: MonitorStatsSnapshot
  readonly staleness: Staleness
  readonly process: ProcessSample
  /** Also emit one series per box (restarts, health, last exit code, start time): grows with the fleet. */
  readonly perBox: boolean
  /** This process's failed event journal appends (telemetry/JournalStats.ts); 0 when not given. */
  readonly journalWriteFailures?: number
}

export const STATUS_BUCKETS = ["running", "paused", "dead", "created", "other"] as const
export type StatusBucket = (typeof STATUS_BUCKETS)[number]

/** `stopped` and every status this project does not know count as `other`. */
export const statusBucket = (status: string): StatusBucket => {
  const box = { status }
  return BoxStatus.isRunning(box)
    ? "running"
    : BoxStatus.isPaused(box)
    ? "paused"
    : BoxStatus.isDead(box)
    ? "dead"
    : BoxStatus.isCreated(box)
    ? "created"
    : "other"
}

export const PER_BOX_HEALTH = ["healthy", "unhealthy", "starting", "none"] as const
/** A recorded `health_status`, with unknown values read as `none`. */
export const perBoxHealth = (status: string): (typeof PER_BOX_HEALTH)[number] =>
  (PER_BOX_HEALTH as ReadonlyArray<string>).includes(status) ? (status as (typeof PER_BOX_HEALTH)[number]) : "none"

/** The code the box's last run ended with (its `last_exit`, else the recorded `exit_code`), null when none is known. */
export const lastExitCode = (box: BoxRecord): number | null => {
  const code = lastExitOf(box)?.code ?? box.exit_code
  return code !== null && Number.isFinite(code) ? code : null
}

/** When the box's current run started (epoch seconds), for active boxes with a readable `started_at`; else null. */
export const startTimeSeconds = (box: BoxRecord): number | null => {
  if (!BoxStatus.isActive(box) || box.started_at === null) return null
  const millis = Date.parse(box.started_at)
  return Number.isNaN(millis) ? null : millis / 1000
}

/** A restart count as a counter can carry it: a negative or non-finite count (a hand-edited file) reads as 0. */
const restarts = (box: Pick<BoxRecord, "restart_count">): number =>
  Number.isFinite(box.restart_count) && box.restart_count > 0 ? box.restart_count : 0

export interface FleetSummary {
  readonly total: number
  readonly byStatus: Readonly<Record<StatusBucket, number>>
  readonly restarts: number
  readonly healthy: number
  readonly unhealthy: number
}

/** The fleet-wide numbers of the required families. */
export const summarize = (records: ReadonlyArray<BoxRecord>): FleetSummary => {
  const byStatus: Record<StatusBucket, number> = { running: 0, paused: 0, dead: 0, created: 0, other: 0 }
  let restartSum = 0
  let healthy = 0
  let unhealthy = 0
  for (const box of records) {
    byStatus[statusBucket(box.status)] += 1
    restartSum += restarts(box)
    if (BoxStatus.isHealthy(box)) healthy += 1
    if (BoxStatus.isUnhealthy(box)) unhealthy += 1
  }
  return { total: records.length, byStatus, restarts: restartSum, healthy, unhealthy }
}

/** Reads this process's resident memory, CPU time and start time. */
export const sampleProcess = (nowMs: number = Date.now()): ProcessSample => {
  const cpu = process.cpuUsage()
  return {
    residentMemoryBytes: process.memoryUsage.rss(),
    cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
    startTimeSeconds: Math.round(nowMs / 1000 - process.uptime())
  }
}

// ---------------------------------------------------------------------------

interface Sample {
  readonly metricName?: string
  readonly labels: Readonly<Record<string, string | number>>
  readonly value: number
}

/**
 * A family whose samples were computed elsewhere, handed to the registry as a collector:
 * the registry reads `name`, `type` and `get()` and formats and escapes the samples as it
 * does for its own metrics. Used where prom-client's classes cannot say it: a histogram
 * whose buckets MonitorStats counted (`Histogram` can only `observe`), and an `untyped` family.
 */
const collector = (name: string, help: string, type: "histogram" | "untyped", values: ReadonlyArray<Sample>) => {
  const metric = { name, help, type, aggregator: "sum", values }
  return { ...metric, reset: () => undefined, get: async () => metric } as unknown as Metric
}

const histogramSamples = (name: string, data: MonitorStatsSnapshot["cycleDurations"]): ReadonlyArray<Sample> => [
  ...CYCLE_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: data.bucketCounts[i] ?? 0 })),
  { metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: data.count },
  { metricName: `${name}_sum`, labels: {}, value: data.sum },
  { metricName: `${name}_count`, labels: {}, value: data.count }
]

/** A `#` comment line (ignored by parsers) telling a human why the box families are missing. */
const stateComment = (reason: string): string =>
  `# a3s-box: the state file could not be read, so the a3s_box_total, a3s_box_state, a3s_box_restarts_total and a3s_box_health families are omitted (a3s_box_monitor_state_ok is 0): ${
    reason.replace(/[\r\n]+/g, " ")
  }\n`

/** The `/metrics` body. */
export const render = async (input: ExpositionInput): Promise<string> => {
  const registry = new Registry()
  const registers = [registry]

  if (input.state._tag === "Readable") {
    const fleet = summarize(input.state.records)
    // A gauge in meaning, declared `untyped`: its SPEC name ends in `_total`, which
    // `promtool check metrics` refuses on a gauge (exit 3) but accepts on untyped.
    registry.registerMetric(collector("a3s_box_total", "Boxes in the state file (a gauge).", "untyped", [
      { labels: {}, value: fleet.total }
    ]))
    const state = new Gauge({
      name: "a3s_box_state",
      help: "Boxes per status; stopped and unknown statuses count as other.",
      labelNames: ["status"] as const,
      registers
    })
    for (const status of STATUS_BUCKETS) state.set({ status }, fleet.byStatus[status])
    new Counter({
      name: "a3s_box_restarts_total",
      help: "Sum of the boxes' restart_count; drops (a counter reset) when boxes are removed.",
      registers
    }).inc(fleet.restarts)
    const health = new Gauge({
      name: "a3s_box_health",
      help: "Boxes per recorded health status.",
      labelNames: ["status"] as const,
      registers
    })
    health.set({ status: "healthy" }, fleet.healthy)
    health.set({ status: "unhealthy" }, fleet.unhealthy)
    new Gauge({
      name: "a3s_box_invalid_records",
      help: "Elements of the state file that are not valid box records: kept as they are, not supervised, not counted in a3s_box_total.",
      registers
    }).set(input.state.invalid)

    if (input.perBox) {
      const boxRestarts = new Counter({
        name: "a3s_box_box_restarts_total",
        help: "restart_count of each box, by box name.",
        labelNames: ["box"] as const,
        registers
      })
      const boxHealth = new Gauge({
        name: "a3s_box_box_health",
        help: "1 for each box, labelled with its recorded health status (healthy, unhealthy, starting, none).",
        labelNames: ["box", "status"] as const,
        registers
      })
      // Labelled by name and short id too (issue 14): one series per box even if names clash.
      const lastExit = new Gauge({
        name: "a3s_box_last_exit_code",
        help: "The exit code of each box's last run (128 + N: killed by signal N), for boxes with a known one.",
        labelNames: ["box", "box_id"] as const,
        registers
      })
      const startTime = new Gauge({
        name: "a3s_box_start_time_seconds",
        help: "When each running or paused box's current run started, in seconds since the unix epoch.",
        labelNames: ["box", "box_id"] as const,
        registers
      })
      for (const box of input.state.records) {
        // Names are unique in a sound file; should two boxes share one, their numbers add up
        // (inc) rather than producing a duplicate series.
        boxRestarts.inc({ box: box.name }, restarts(box))
        boxHealth.inc({ box: box.name, status: perBoxHealth(box.health_status) }, 1)
        const code = lastExitCode(box)
        if (code !== null) lastExit.set({ box: box.name, box_id: box.short_id }, code)
        const started = startTimeSeconds(box)
        if (started !== null) startTime.set({ box: box.name, box_id: box.short_id }, started)
      }
    }
  }

  new Gauge({
    name: "a3s_box_monitor_up",
    help: "1 if the poll loop completed a cycle within the staleness threshold max(3 x interval, 30s), as /healthz.",
    registers
  }).set(input.staleness.up ? 1 : 0)
  new Gauge({
    name: "a3s_box_monitor_seconds_since_last_poll",
    help: "Seconds since the last completed poll cycle (since the monitor started, before the first one).",
    registers
  }).set(input.staleness.secondsSinceLastPoll)
  new Gauge({
    name: "a3s_box_monitor_state_ok",
    help: "1 if the state file could be read by this scrape and by the last poll cycle, else 0.",
    registers
  }).set(input.state._tag === "Readable" && input.stats.stateOk ? 1 : 0)
  const monitorRestarts = new Counter({
    name: "a3s_box_monitor_restarts_total",
    help: "Restarts attempted by this monitor, by reason (dead, unhealthy) and result (ok, error).",
    labelNames: ["reason", "result"] as const,
    registers
  })
  for (const [reason, result] of RESTART_KEYS) {
    monitorRestarts.inc({ reason, result }, input.stats.restarts.get(`${reason}/${result}`) ?? 0)
  }
  const probes = new Counter({
    name: "a3s_box_monitor_health_probes_total",
    help: "Health probes run by this monitor, by result.",
    labelNames: ["result"] as const,
    registers
  })
  for (const result of PROBE_OUTCOMES) probes.inc({ result }, input.stats.probes.get(result) ?? 0)
  registry.registerMetric(collector(
    "a3s_box_monitor_poll_duration_seconds",
    "Duration of completed poll cycles.",
    "histogram",
    histogramSamples("a3s_box_monitor_poll_duration_seconds", input.stats.cycleDurations)
  ))

  new Counter({
    name: "a3s_box_journal_write_failures_total",
    help: "Event journal appends by this monitor that failed (the events were not written: a full disk, a read-only home).",
    registers
  }).inc(input.journalWriteFailures ?? 0)

  new Gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", registers }).set(
    input.process.residentMemoryBytes
  )
  new Counter({ name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", registers })
    .inc(input.process.cpuSecondsTotal)
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers
  }).set(input.process.startTimeSeconds)

  const text = await registry.metrics()
  return input.state._tag === "Unreadable" ? stateComment(input.state.reason) + text : text
}
