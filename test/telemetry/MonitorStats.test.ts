import * as HttpApp from "@effect/platform/HttpApp"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as MonitorConfig from "../../src/domain/MonitorConfig.js"
import * as MetricsServer from "../../src/metrics/MetricsServer.js"
import * as MonitorStats from "../../src/telemetry/MonitorStats.js"
import { fakeStore, fixtureRecords, readExposition, valueOf } from "../metrics/support.js"

/** The count of the registry's counter `name` with exactly these tags, as a host's exporter reads it. */
const registryCount = (name: string, tags: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const pair = pairs.find((p) =>
      p.metricKey.name === name &&
      p.metricKey.tags.length === Object.keys(tags).length &&
      p.metricKey.tags.every((t) => tags[t.key] === t.value)
    )
    return pair === undefined ? undefined : (pair.metricState as unknown as { readonly count: number }).count
  })

const metricsBody = Effect.gen(function*() {
  const app = yield* MetricsServer.makeApp({ startedAt: 0, perBox: false })
  const handler = HttpApp.toWebHandlerRuntime(yield* Effect.runtime<never>())(app)
  return readExposition(yield* Effect.promise(async () => (await handler(new Request("http://metrics.test/metrics"))).text()))
})

const deps = Layer.mergeAll(
  fakeStore(Effect.succeed(fixtureRecords)),
  MonitorStats.layer,
  MonitorConfig.layer(MonitorConfig.defaults("/nonexistent"))
)

describe("MonitorStats as Effect metrics", () => {
  it.scoped("a restart counted by the stats shows in Metric.snapshot (what a host's exporter reads) and in /metrics", () =>
    Effect.gen(function*() {
      const stats = yield* MonitorStats.MonitorStats
      const tags = { reason: "unhealthy", result: "error" }
      const before = (yield* registryCount("a3s_box_monitor_restarts_total", tags)) ?? 0
      yield* stats.restarted("unhealthy", "error")
      yield* stats.restarted("unhealthy", "error")
      yield* stats.probed("healthy")
      expect(yield* registryCount("a3s_box_monitor_restarts_total", tags)).toBe(before + 2)
      expect(yield* Metric.value(MonitorStats.metrics.restarts.pipe(Metric.tagged("reason", "unhealthy"), Metric.tagged("result", "error"))))
        .toMatchObject({ count: before + 2 })
      const exposition = yield* metricsBody
      expect(valueOf(exposition, "a3s_box_monitor_restarts_total", tags)).toBe(2)
      expect(valueOf(exposition, "a3s_box_monitor_restarts_total", { reason: "dead", result: "ok" })).toBe(0)
      expect(valueOf(exposition, "a3s_box_monitor_health_probes_total", { result: "healthy" })).toBe(1)
    }).pipe(Effect.provide(deps)))

  it.scoped("a completed cycle updates the poll-duration histogram and the gauges; /metrics renders the same buckets", () =>
    Effect.gen(function*() {
      const stats = yield* MonitorStats.MonitorStats
      const countBefore = (yield* Metric.value(MonitorStats.metrics.pollDuration)).count
      yield* stats.cycleCompleted(1_000, 0.003, true)
      yield* stats.cycleCompleted(2_000, 0.2, false)
      expect((yield* Metric.value(MonitorStats.metrics.pollDuration)).count).toBe(countBefore + 2)
      expect(yield* Metric.value(MonitorStats.metrics.stateOk)).toMatchObject({ value: 0 })
      expect(yield* Metric.value(MonitorStats.metrics.lastCycleCompleted)).toMatchObject({ value: 2 })
      const snapshot = yield* stats.snapshot
      expect(snapshot.lastCycleCompletedAt).toStrictEqual(Option.some(2_000))
      expect(snapshot.stateOk).toBe(false)
      expect(snapshot.cycleDurations.count).toBe(2)
      expect(snapshot.cycleDurations.sum).toBeCloseTo(0.203)
      // cumulative: the 3 ms cycle is in every bucket from 0.005 up, the 200 ms one from 0.25 up
      expect(snapshot.cycleDurations.bucketCounts).toStrictEqual(
        MonitorStats.CYCLE_BUCKETS.map((le) => (le >= 0.25 ? 2 : le >= 0.005 ? 1 : 0))
      )
      const exposition = yield* metricsBody
      expect(valueOf(exposition, "a3s_box_monitor_poll_duration_seconds_bucket", { le: "0.005" })).toBe(1)
      expect(valueOf(exposition, "a3s_box_monitor_poll_duration_seconds_bucket", { le: "0.25" })).toBe(2)
      expect(valueOf(exposition, "a3s_box_monitor_poll_duration_seconds_bucket", { le: "+Inf" })).toBe(2)
      expect(valueOf(exposition, "a3s_box_monitor_poll_duration_seconds_count")).toBe(2)
    }).pipe(Effect.provide(deps)))

  it.effect("a MonitorStats counts from when it was made: a second monitor in the process starts at zero", () =>
    Effect.gen(function*() {
      const first = yield* MonitorStats.make
      yield* first.restarted("dead", "ok")
      yield* first.cycleCompleted(5, 0.01, true)
      const second = yield* MonitorStats.make
      const fresh = yield* second.snapshot
      expect(fresh.lastCycleCompletedAt).toStrictEqual(Option.none())
      expect(fresh.stateOk).toBe(true)
      expect(fresh.restarts.get("dead/ok")).toBe(0)
      expect(fresh.cycleDurations.count).toBe(0)
      expect(fresh.cycleDurations.bucketCounts.every((n) => n === 0)).toBe(true)
      yield* second.restarted("dead", "ok")
      expect((yield* second.snapshot).restarts.get("dead/ok")).toBe(1)
      expect((yield* first.snapshot).restarts.get("dead/ok")).toBe(2)
    }))
})
