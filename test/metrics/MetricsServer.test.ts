import * as HttpApp from "@effect/platform/HttpApp"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as HealthzIdentity from "../../src/metrics/HealthzIdentity.js"
import * as MetricsServer from "../../src/metrics/MetricsServer.js"
import * as MonitorConfig from "../../src/domain/MonitorConfig.js"
import * as MonitorStats from "../../src/telemetry/MonitorStats.js"
import { StateFileCorrupt } from "../../src/state/StateStore.js"
import { fakeStore, fixtureRecords, readExposition, valueOf } from "./support.js"

/** The app of the metrics server, called in process (no port), on the test's runtime and TestClock. */
const inProcess = (options: { readonly perBox?: boolean } = {}) =>
  Effect.gen(function*() {
    const app = yield* MetricsServer.makeApp({ startedAt: 0, perBox: options.perBox ?? false })
    const handler = HttpApp.toWebHandlerRuntime(yield* Effect.runtime<never>())(app)
    return (path: string, init?: RequestInit) =>
      Effect.promise(async () => {
        const response = await handler(new Request(`http://metrics.test${path}`, init))
        return { status: response.status, headers: response.headers, body: await response.text() }
      })
  })

const deps = (store = fakeStore(Effect.succeed(fixtureRecords))) =>
  Layer.mergeAll(
    store,
    MonitorStats.layer,
    MonitorConfig.layer({ ...MonitorConfig.defaults("/nonexistent"), interval: Duration.seconds(5) })
  )

describe("MetricsServer app", () => {
  it.scoped("/healthz turns 503 when the poll loop stalls, and back to 200 when it resumes", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const stats = yield* MonitorStats.MonitorStats
      // A stand-in for the supervisor: a cycle every 5 s that hangs while the gate is closed.
      const gate = yield* Effect.makeLatch(true)
      const cycle = Effect.gen(function*() {
        yield* gate.await
        const now = yield* TestClock.currentTimeMillis
        yield* stats.cycleCompleted(now, 0.002, true)
      })
      yield* Effect.forkScoped(Effect.repeat(cycle, Schedule.spaced(Duration.seconds(5))))
      yield* TestClock.adjust(0)
      expect(yield* request("/healthz")).toMatchObject({ status: 200, body: "ok\n" })

      yield* TestClock.adjust(Duration.seconds(10)) // cycles at 5 s and 10 s complete
      yield* gate.close
      yield* TestClock.adjust(Duration.seconds(5)) // the cycle at 15 s hangs
      // threshold: max(3 x 5 s, 30 s) = 30 s after the cycle at 10 s
      yield* TestClock.adjust(Duration.seconds(25))
      expect(yield* request("/healthz")).toMatchObject({ status: 200, body: "ok\n" })
      yield* TestClock.adjust(Duration.seconds(1))
      const stale = yield* request("/healthz")
      expect(stale.status).toBe(503)
      expect(stale.body).toBe("stale: the last poll cycle completed 31s ago (threshold 30s)\n")
      const metrics = readExposition((yield* request("/metrics")).body)
      expect(valueOf(metrics, "a3s_box_monitor_up")).toBe(0)
      expect(valueOf(metrics, "a3s_box_monitor_seconds_since_last_poll")).toBe(31)

      yield* gate.open // the hung cycle completes now
      yield* TestClock.adjust(0)
      expect(yield* request("/healthz")).toMatchObject({ status: 200, body: "ok\n" })
      const after = readExposition((yield* request("/metrics")).body)
      expect(valueOf(after, "a3s_box_monitor_up")).toBe(1)
      expect(valueOf(after, "a3s_box_monitor_seconds_since_last_poll")).toBe(0)
      expect(valueOf(after, "a3s_box_monitor_poll_duration_seconds_count")).toBe(4)
    }).pipe(Effect.provide(deps())))

  it.scoped("before the first cycle: 200 within the threshold of the start, then 503 saying no cycle completed", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      yield* TestClock.adjust(Duration.seconds(30))
      expect(yield* request("/healthz")).toMatchObject({ status: 200, body: "ok\n" })
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* request("/healthz")).toMatchObject({
        status: 503,
        body: "stale: no poll cycle has completed in the 31s since the monitor started (threshold 30s)\n"
      })
    }).pipe(Effect.provide(deps())))

  it.scoped("the threshold follows the interval: 3 x 20 s = 60 s", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      yield* TestClock.adjust(Duration.seconds(60))
      expect((yield* request("/healthz")).status).toBe(200)
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* request("/healthz")).status).toBe(503)
    }).pipe(
      Effect.provide(Layer.mergeAll(
        fakeStore(Effect.succeed([])),
        MonitorStats.layer,
        MonitorConfig.layer({ ...MonitorConfig.defaults("/nonexistent"), interval: Duration.seconds(20) })
      ))
    ))

  it.scoped("/healthz names its monitor (home, pid) in headers, 200 and 503 alike; the body stays `ok`", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const named = (response: { readonly headers: Headers }) => ({
        home: response.headers.get(HealthzIdentity.HOME_HEADER),
        pid: response.headers.get(HealthzIdentity.PID_HEADER)
      })
      const expected = { home: encodeURI("/tmp/a3s home/ü"), pid: String(process.pid) }
      const up = yield* request("/healthz")
      expect(up).toMatchObject({ status: 200, body: "ok\n" })
      expect(named(up)).toEqual(expected)
      expect(HealthzIdentity.decodeHome(expected.home)).toBe("/tmp/a3s home/ü")
      expect(named(yield* request("/healthz", { method: "HEAD" }))).toEqual(expected)
      yield* TestClock.adjust("1 minute") // no cycle yet: stale
      const stale = yield* request("/healthz")
      expect(stale.status).toBe(503)
      expect(named(stale)).toEqual(expected)
      // /metrics does not carry them: they answer "whose /healthz is this", nothing more.
      expect(named(yield* request("/metrics"))).toEqual({ home: null, pid: null })
    }).pipe(Effect.provide(Layer.mergeAll(
      fakeStore(Effect.succeed(fixtureRecords)),
      MonitorStats.layer,
      MonitorConfig.layer({ ...MonitorConfig.defaults("/tmp/a3s home/ü"), interval: Duration.seconds(5) })
    ))))

  it.scoped("routes: GET /metrics and /healthz, 404 elsewhere, 405 with Allow for other methods", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const metrics = yield* request("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      expect(valueOf(readExposition(metrics.body), "a3s_box_total")).toBe(5)
      expect((yield* request("/metrics?debug=1")).status).toBe(200)
      const health = yield* request("/healthz")
      expect(health.headers.get("content-type")).toBe("text/plain; charset=utf-8")
      for (const path of ["/", "/metric", "/metrics/x", "/healthz/", "/HEALTHZ", "//metrics", "/favicon.ico"]) {
        const response = yield* request(path)
        expect(response.status, path).toBe(404)
        expect(response.body, path).toContain("/healthz")
      }
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        for (const path of ["/healthz", "/metrics"]) {
          const response = yield* request(path, { method })
          expect(response.status, `${method} ${path}`).toBe(405)
          expect(response.headers.get("allow"), `${method} ${path}`).toBe("GET, HEAD")
        }
      }
      expect((yield* request("/nowhere", { method: "POST" })).status).toBe(404)
      expect((yield* request("/healthz", { method: "HEAD" })).status).toBe(200)
    }).pipe(Effect.provide(deps())))

  it.scoped("invalid records in the state file are counted by a3s_box_invalid_records", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const out = readExposition((yield* request("/metrics")).body)
      expect(valueOf(out, "a3s_box_invalid_records")).toBe(1)
      expect(valueOf(out, "a3s_box_total")).toBe(fixtureRecords.length)
    }).pipe(Effect.provide(deps(fakeStore(Effect.succeed(fixtureRecords), "/h/boxes.json", [
      { index: 0, label: "at index 0", field: "", reason: "is a number, not an object", raw: 1, validBefore: 0 }
    ])))))

  it.scoped("a corrupt state file: /metrics still 200, state_ok 0, no box gauges; /healthz unaffected", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const response = yield* request("/metrics")
      expect(response.status).toBe(200)
      const out = readExposition(response.body)
      expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(0)
      expect(valueOf(out, "a3s_box_total")).toBeUndefined()
      expect(out.labelsOf("a3s_box_state")).toEqual([])
      expect(out.comments.join("\n")).toContain("/h/boxes.json is corrupt")
      expect((yield* request("/healthz")).status).toBe(200)
    }).pipe(Effect.provide(deps(fakeStore(
      Effect.fail(new StateFileCorrupt({ path: "/h/boxes.json", detail: "Unexpected end of JSON input" }))
    )))))

  it.scoped("a state read that hangs is reported unreadable after the scrape's timeout, not forever", () =>
    Effect.gen(function*() {
      const request = yield* inProcess()
      const fiber = yield* Effect.fork(request("/metrics"))
      yield* TestClock.adjust(MetricsServer.STATE_READ_TIMEOUT)
      const response = yield* Effect.fromFiber(fiber)
      const out = readExposition(response.body)
      expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(0)
      expect(out.comments.join("\n")).toContain("took longer than 5s")
    }).pipe(Effect.provide(deps(fakeStore(Effect.never)))))

  it.scoped("per-box series only with perBox", () =>
    Effect.gen(function*() {
      const plain = readExposition((yield* (yield* inProcess())("/metrics")).body)
      expect(plain.labelsOf("a3s_box_box_restarts_total")).toEqual([])
      const perBox = readExposition((yield* (yield* inProcess({ perBox: true }))("/metrics")).body)
      expect(perBox.labelsOf("a3s_box_box_restarts_total")).toHaveLength(5)
    }).pipe(Effect.provide(deps())))
})
