/**
 * What the supervisor has done since it started, as Effect `Metric`s (effect/Metric): a host
 * program's own exporter (OpenTelemetry, Prometheus, ...) sees them in the metric registry
 * like its own, and `/metrics` renders them from the `snapshot` of this service. The supervisor
 * writes through the `MonitorStats` service; the metrics server and `/healthz` read its
 * `snapshot`. Lives below both (src/telemetry): neither imports the other.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

export type RestartReason = "dead" | "unhealthy"
export type RestartResult = "ok" | "error"
export type ProbeOutcome = "healthy" | "unhealthy"

/** What the supervisor has done since it started; the metrics server and `/healthz` read it. */
export interface MonitorStatsSnapshot {
  /** Epoch milliseconds of the last completed poll cycle. */
  readonly lastCycleCompletedAt: Option.Option<number>
  /** Whether the last cycle could read the state file. */
  readonly stateOk: boolean
  readonly restarts: ReadonlyMap<`${RestartReason}/${RestartResult}`, number>
  readonly probes: ReadonlyMap<ProbeOutcome, number>
  /** Durations of completed cycles, in seconds, as a cumulative histogram. */
  readonly cycleDurations: CycleHistogram
}

/** Upper bounds (seconds) of the poll-duration histogram's buckets. */
export const CYCLE_BUCKETS: ReadonlyArray<number> = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export interface CycleHistogram {
  /** Per bucket of `CYCLE_BUCKETS`: how many cycles took at most that long (cumulative). */
  readonly bucketCounts: ReadonlyArray<number>
  readonly count: number
  readonly sum: number
}

export const RESTART_KEYS: ReadonlyArray<readonly [RestartReason, RestartResult]> = [
  ["dead", "ok"],
  ["dead", "error"],
  ["unhealthy", "ok"],
  ["unhealthy", "error"]
]
export const PROBE_OUTCOMES: ReadonlyArray<ProbeOutcome> = ["healthy", "unhealthy"]

/**
 * The monitor's metrics, named as the `/metrics` families that render them (SPEC §8). The
 * counters carry tags (`reason`, `result`); the gauges are set at the end of each cycle.
 */
export const metrics = {
  restarts: Metric.counter("a3s_box_monitor_restarts_total", {
    description: "Restarts attempted by this monitor, by reason (dead, unhealthy) and result (ok, error)."
  }),
  probes: Metric.counter("a3s_box_monitor_health_probes_total", {
    description: "Health probes run by this monitor, by result."
  }),
  pollDuration: Metric.histogram(
    "a3s_box_monitor_poll_duration_seconds",
    MetricBoundaries.fromIterable(CYCLE_BUCKETS),
    "Duration of completed poll cycles."
  ),
  stateOk: Metric.gauge("a3s_box_monitor_state_ok", {
    description: "1 if the last poll cycle could read the state file, else 0."
  }),
  lastCycleCompleted: Metric.gauge("a3s_box_monitor_last_cycle_completed_seconds", {
    description: "Unix time (seconds) at which the last poll cycle completed."
  })
} as const

const restartCounter = (reason: RestartReason, result: RestartResult) =>
  metrics.restarts.pipe(Metric.tagged("reason", reason), Metric.tagged("result", result))
const probeCounter = (outcome: ProbeOutcome) => metrics.probes.pipe(Metric.tagged("result", outcome))

/** The counters and the histogram as read from the metric registry. */
interface Totals {
  readonly restarts: ReadonlyArray<number>
  readonly probes: ReadonlyArray<number>
  readonly cycleDurations: CycleHistogram
}

const totals: Effect.Effect<Totals> = Effect.gen(function*() {
  const restarts = yield* Effect.forEach(RESTART_KEYS, ([reason, result]) =>
    Effect.map(Metric.value(restartCounter(reason, result)), (state) => state.count))
  const probes = yield* Effect.forEach(PROBE_OUTCOMES, (outcome) =>
    Effect.map(Metric.value(probeCounter(outcome)), (state) => state.count))
  const histogram = yield* Metric.value(metrics.pollDuration)
  return {
    restarts,
    probes,
    cycleDurations: {
      // The registry's buckets are cumulative and end with +Inf, which `count` already says.
      bucketCounts: CYCLE_BUCKETS.map((_, i) => histogram.buckets[i]?.[1] ?? 0),
      count: histogram.count,
      sum: histogram.sum
    }
  }
})

/** `now - base`, entry by entry. */
const since = (base: Totals, now: Totals): Totals => ({
  restarts: now.restarts.map((n, i) => n - (base.restarts[i] ?? 0)),
  probes: now.probes.map((n, i) => n - (base.probes[i] ?? 0)),
  cycleDurations: {
    bucketCounts: now.cycleDurations.bucketCounts.map((n, i) => n - (base.cycleDurations.bucketCounts[i] ?? 0)),
    count: now.cycleDurations.count - base.cycleDurations.count,
    sum: now.cycleDurations.sum - base.cycleDurations.sum
  }
})

export interface MonitorStatsShape {
  readonly cycleCompleted: (completedAt: number, durationSeconds: number, stateOk: boolean) => Effect.Effect<void>
  readonly restarted: (reason: RestartReason, result: RestartResult) => Effect.Effect<void>
  readonly probed: (outcome: ProbeOutcome) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<MonitorStatsSnapshot>
}

export class MonitorStats extends Context.Tag("a3s-box/MonitorStats")<MonitorStats, MonitorStatsShape>() {}

/**
 * A fresh MonitorStats over the process's metrics. The metrics are process-wide (that is what
 * lets a host's exporter see them), so a snapshot counts from the values they had when this
 * MonitorStats was made: a monitor's `/metrics` says what that monitor did, also when another
 * one ran in the same process before it (tests). The last cycle's time and state are this
 * monitor's own (also set on the gauges).
 */
export const make: Effect.Effect<MonitorStatsShape> = Effect.gen(function*() {
  const base = yield* totals
  const lastCycle = yield* Ref.make<{ readonly completedAt: Option.Option<number>; readonly stateOk: boolean }>({
    completedAt: Option.none(),
    stateOk: true
  })
  return {
    cycleCompleted: (completedAt, durationSeconds, stateOk) =>
      Effect.all([
        Ref.set(lastCycle, { completedAt: Option.some(completedAt), stateOk }),
        Metric.update(metrics.pollDuration, durationSeconds),
        Metric.set(metrics.stateOk, stateOk ? 1 : 0),
        Metric.set(metrics.lastCycleCompleted, completedAt / 1000)
      ], { discard: true }),
    restarted: (reason, result) => Metric.increment(restartCounter(reason, result)),
    probed: (outcome) => Metric.increment(probeCounter(outcome)),
    snapshot: Effect.gen(function*() {
      const { completedAt, stateOk } = yield* Ref.get(lastCycle)
      const counted = since(base, yield* totals)
      return {
        lastCycleCompletedAt: completedAt,
        stateOk,
        restarts: new Map(RESTART_KEYS.map(([reason, result], i) => [`${reason}/${result}` as const, counted.restarts[i]!])),
        probes: new Map(PROBE_OUTCOMES.map((outcome, i) => [outcome, counted.probes[i]!])),
        cycleDurations: counted.cycleDurations
      }
    })
  }
})

export const layer: Layer.Layer<MonitorStats> = Layer.effect(MonitorStats, make)
