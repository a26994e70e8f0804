import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

const observe = (h: CycleHistogram, seconds: number): CycleHistogram => ({
  bucketCounts: h.bucketCounts.map((n, i) => (seconds <= CYCLE_BUCKETS[i]! ? n + 1 : n)),
  count: h.count + 1,
  sum: h.sum + seconds
})

export interface MonitorStatsShape {
  readonly cycleCompleted: (completedAt: number, durationSeconds: number, stateOk: boolean) => Effect.Effect<void>
  readonly restarted: (reason: RestartReason, result: RestartResult) => Effect.Effect<void>
  readonly probed: (outcome: ProbeOutcome) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<MonitorStatsSnapshot>
}

export class MonitorStats extends Context.Tag("a3s-box/MonitorStats")<MonitorStats, MonitorStatsShape>() {}

const initial: MonitorStatsSnapshot = {
  lastCycleCompletedAt: Option.none(),
  stateOk: true,
  restarts: new Map(),
  probes: new Map(),
  cycleDurations: { bucketCounts: CYCLE_BUCKETS.map(() => 0), count: 0, sum: 0 }
}

const bump = <K>(map: ReadonlyMap<K, number>, key: K): ReadonlyMap<K, number> =>
  new Map<K, number>(map).set(key, (map.get(key) ?? 0) + 1)

export const make: Effect.Effect<MonitorStatsShape> = Effect.gen(function*() {
  const ref = yield* Ref.make(initial)
  return {
    cycleCompleted: (completedAt, durationSeconds, stateOk) =>
      Ref.update(ref, (s) => ({
        ...s,
        lastCycleCompletedAt: Option.some(completedAt),
        stateOk,
        cycleDurations: observe(s.cycleDurations, durationSeconds)
      })),
    restarted: (reason, result) => Ref.update(ref, (s) => ({ ...s, restarts: bump(s.restarts, `${reason}/${result}` as const) })),
    probed: (outcome) => Ref.update(ref, (s) => ({ ...s, probes: bump(s.probes, outcome) })),
    snapshot: Ref.get(ref)
  }
})

export const layer: Layer.Layer<MonitorStats> = Layer.effect(MonitorStats, make)
