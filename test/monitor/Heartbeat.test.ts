import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import packageJson from "../../package.json" with { type: "json" }
import * as Heartbeat from "../../src/monitor/Heartbeat.js"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import type { ProcessInfo } from "../../src/runtime/ProcessInfo.js"

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0)

const beat = (overrides: Partial<Heartbeat.MonitorHeartbeat> = {}): Heartbeat.MonitorHeartbeat => ({
  pid: 321,
  pid_start_time: 9000,
  host: "here",
  interval_secs: 5,
  metrics_addr: "127.0.0.1:9464",
  version: "0.1.0",
  started_at: T0,
  last_cycle_at: T0 + 5_000,
  updated_at: T0 + 5_000,
  stopped_at: null,
  ...overrides
})

const proc = (overrides: Partial<ProcessInfo> = {}): Option.Option<ProcessInfo> =>
  Option.some({ pid: 321, state: "S", ppid: 1, pgid: 321, startTime: 9000, ...overrides })

const found = (heartbeat: Heartbeat.MonitorHeartbeat): Heartbeat.ReadResult => ({ _tag: "Found", heartbeat })

const assessAt = (
  read: Heartbeat.ReadResult,
  now: number,
  processInfo: Option.Option<ProcessInfo> = proc(),
  localHost = "here"
) => Heartbeat.assess({ read, now, localHost, processInfo })

describe("Heartbeat: the file", () => {
  it("round-trips, with RFC 3339 timestamps in the file", () => {
    const hb = beat()
    const text = Heartbeat.render(hb)
    const json = JSON.parse(text) as Record<string, unknown>
    expect(json).toEqual({
      pid: 321,
      pid_start_time: 9000,
      host: "here",
      interval_secs: 5,
      metrics_addr: "127.0.0.1:9464",
      version: "0.1.0",
      started_at: "2026-03-01T12:00:00.000Z",
      last_cycle_at: "2026-03-01T12:00:05.000Z",
      updated_at: "2026-03-01T12:00:05.000Z",
      stopped_at: null
    })
    expect(Heartbeat.parse(text)).toEqual(Either.right(hb))
  })

  it("reads a file without stopped_at (older writer) as running", () => {
    const json = JSON.parse(Heartbeat.render(beat())) as Record<string, unknown>
    delete json["stopped_at"]
    expect(Heartbeat.parse(JSON.stringify(json))).toEqual(Either.right(beat()))
  })

  it.each([
    ["empty", ""],
    ["truncated", Heartbeat.render(beat()).slice(0, 40)],
    ["null", "null"],
    ["a negative pid", Heartbeat.render(beat()).replace("\"pid\": 321", "\"pid\": -1")],
    ["a zero interval", Heartbeat.render(beat()).replace("\"interval_secs\": 5", "\"interval_secs\": 0")],
    ["a bad timestamp", Heartbeat.render(beat()).replace("2026-03-01T12:00:00.000Z", "soon")]
  ])("rejects a heartbeat that is %s", (_, text) => {
    expect(Either.isLeft(Heartbeat.parse(text))).toBe(true)
  })
})

describe("Heartbeat: is this monitor live?", () => {
  it("a fresh heartbeat of a live process with its start time is a running monitor", () => {
    const verdict = assessAt(found(beat()), T0 + 7_000)
    expect(verdict).toMatchObject({ _tag: "Running", secondsSinceLastCycle: 2, thresholdSeconds: 30, pidChecked: true })
    expect(Heartbeat.isSupervising(verdict)).toBe(true)
  })

  it("before the first cycle, the start time stands in for it", () => {
    const hb = beat({ last_cycle_at: null })
    expect(assessAt(found(hb), T0 + 29_000)).toMatchObject({ _tag: "Running", secondsSinceLastCycle: null })
    expect(assessAt(found(hb), T0 + 31_000)).toMatchObject({ _tag: "Stale", polled: false, secondsSinceLastCycle: 31 })
  })

  it("stale after max(3 x interval, 30 s) without a completed cycle", () => {
    // interval 5: 30 s
    expect(assessAt(found(beat()), T0 + 35_000)._tag).toBe("Running")
    expect(assessAt(found(beat()), T0 + 35_001)).toMatchObject({ _tag: "Stale", polled: true, thresholdSeconds: 30 })
    // interval 20: 60 s
    const slow = beat({ interval_secs: 20 })
    expect(assessAt(found(slow), T0 + 65_000)._tag).toBe("Running")
    expect(assessAt(found(slow), T0 + 65_001)._tag).toBe("Stale")
    expect(Heartbeat.isSupervising(assessAt(found(slow), T0 + 65_001))).toBe(false)
  })

  it("a heartbeat from the future (clock change) is not stale", () => {
    expect(assessAt(found(beat()), T0)).toMatchObject({ _tag: "Running", secondsSinceLastCycle: 0 })
  })

  it.each<[string, Heartbeat.ReadResult, Option.Option<ProcessInfo>, Heartbeat.NotRunningReason]>([
    ["no file", { _tag: "Missing" }, proc(), "missing"],
    ["an unreadable file", { _tag: "Unreadable", detail: "EACCES" }, proc(), "unreadable"],
    ["a monitor that stopped cleanly", found(beat({ stopped_at: T0 + 6_000 })), proc(), "stopped"],
    ["a pid that is gone", found(beat()), Option.none(), "gone"],
    ["a zombie", found(beat()), proc({ state: "Z" }), "gone"],
    ["a pid that now belongs to another process", found(beat()), proc({ startTime: 9001 }), "reused"]
  ])("%s is no monitor", (_, read, info, reason) => {
    const verdict = assessAt(read, T0 + 6_000, info)
    expect(verdict).toMatchObject({ _tag: "NotRunning", reason })
    expect(Heartbeat.isSupervising(verdict)).toBe(false)
  })

  it("without a recorded start time, any live process with that pid counts", () => {
    expect(assessAt(found(beat({ pid_start_time: null })), T0 + 6_000, proc({ startTime: 1 }))._tag).toBe("Running")
  })

  it("a heartbeat written on another host is judged by its age alone", () => {
    const remote = beat({ host: "there" })
    expect(assessAt(found(remote), T0 + 6_000, Option.none())).toMatchObject({ _tag: "Running", pidChecked: false })
    expect(assessAt(found(remote), T0 + 60_000, Option.none())._tag).toBe("Stale")
  })

  it("describes each verdict in one line", () => {
    const file = "/h/monitor.json"
    const now = T0 + 7_000
    expect(Heartbeat.describe(assessAt(found(beat()), now), now, file)).toBe(
      "running (pid 321, last poll cycle 2s ago, interval 5s, metrics 127.0.0.1:9464, version 0.1.0)"
    )
    expect(Heartbeat.describe(assessAt(found(beat({ last_cycle_at: null, metrics_addr: null })), now), now, file)).toBe(
      "running (pid 321, no poll cycle completed yet, interval 5s, metrics off, version 0.1.0)"
    )
    const late = T0 + 125_000
    expect(Heartbeat.describe(assessAt(found(beat()), late), late, file)).toBe(
      "NOT RESPONDING: pid 321 is running but its last poll cycle completed 120s ago (threshold 30s)"
    )
    expect(Heartbeat.describe(assessAt({ _tag: "Missing" }, now), now, file)).toBe(
      "not running (no heartbeat file /h/monitor.json)"
    )
    expect(Heartbeat.describe(assessAt({ _tag: "Unreadable", detail: "EACCES" }, now), now, file)).toBe(
      "not running (the heartbeat file /h/monitor.json cannot be read: EACCES)"
    )
    expect(Heartbeat.describe(assessAt(found(beat({ stopped_at: T0 })), late), late, file)).toBe(
      "not running (the last monitor, pid 321, stopped 2m ago)"
    )
    expect(Heartbeat.describe(assessAt(found(beat()), late, Option.none()), late, file)).toBe(
      "not running (the last monitor, pid 321, is gone: it crashed or was killed; last heartbeat 2m ago)"
    )
    expect(Heartbeat.describe(assessAt(found(beat()), now, proc({ startTime: 1 })), now, file)).toContain(
      "its pid now belongs to another process"
    )
  })
})

// ---------------------------------------------------------------------------------------------
// The writer, on the in-memory lease and sink, under TestClock

const startWriter = (options: { readonly interval?: Duration.DurationInput; readonly metrics?: string } = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const host = yield* MonitorLease.makeMemoryHost
    const memory = yield* Heartbeat.memorySink
    const config = {
      ...MonitorConfig.defaults("/h"),
      interval: Duration.decode(options.interval ?? "5 seconds"),
      metricsAddr: Option.some({ host: "::1", port: 0 })
    }
    const endpoint = options.metrics === undefined
      ? Layer.empty
      : Layer.succeed(Heartbeat.MetricsEndpoint, { address: options.metrics })
    const base = Layer.mergeAll(
      MonitorConfig.layer(config),
      MonitorStats.layer,
      MonitorLease.layerHeld({ standby: false }).pipe(Layer.provide(host.layer(77))),
      endpoint
    )
    const ctx = yield* Layer.buildWithScope(Heartbeat.layerWith(memory.sink).pipe(Layer.provideMerge(base)), scope)
    return {
      scope,
      host,
      memory,
      stats: Context.get(ctx, MonitorStats.MonitorStats),
      heartbeat: Context.get(ctx, Heartbeat.Heartbeat),
      lease: Context.get(ctx, MonitorLease.HeldLease)
    }
  })

describe("Heartbeat: the writer", () => {
  it.effect("writes at start, then once per interval in which a cycle completed, then stopped_at on close", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const w = yield* startWriter()
      let written = yield* w.memory.written
      expect(written).toHaveLength(1)
      expect(written[0]).toEqual({
        pid: 77,
        pid_start_time: null,
        host: MonitorLease.MEMORY_HOST,
        interval_secs: 5,
        metrics_addr: "[::1]:0",
        version: packageJson.version,
        started_at: T0,
        last_cycle_at: null,
        updated_at: T0,
        stopped_at: null
      })

      // No cycle completed: nothing to write (the file ages, which is the point).
      yield* TestClock.adjust("20 seconds")
      expect(yield* w.memory.written).toHaveLength(1)

      // Many cycles within one interval: one write, with the last one's time.
      yield* w.stats.cycleCompleted(T0 + 21_000, 0.01, true)
      yield* w.stats.cycleCompleted(T0 + 22_000, 0.01, true)
      yield* w.stats.cycleCompleted(T0 + 23_500, 0.01, true)
      yield* TestClock.adjust("5 seconds")
      written = yield* w.memory.written
      expect(written).toHaveLength(2)
      expect(written[1]).toMatchObject({ last_cycle_at: T0 + 23_500, updated_at: T0 + 25_000, stopped_at: null })

      yield* TestClock.adjust("5 seconds")
      expect(yield* w.memory.written).toHaveLength(2)

      yield* TestClock.adjust("2 seconds")
      yield* Scope.close(w.scope, Exit.void)
      written = yield* w.memory.written
      expect(written).toHaveLength(3)
      expect(written[2]).toMatchObject({ last_cycle_at: T0 + 23_500, stopped_at: T0 + 32_000 })
      expect(yield* w.heartbeat.writes).toBe(3)
    }))

  it.effect("records the bound metrics address when a metrics server runs", () =>
    Effect.gen(function*() {
      const w = yield* startWriter({ metrics: "127.0.0.1:40123" })
      expect((yield* w.memory.written)[0]!.metrics_addr).toBe("127.0.0.1:40123")
      yield* Scope.close(w.scope, Exit.void)
    }))

  it.effect("a failed write is not fatal: the next cycle's write goes through", () =>
    Effect.gen(function*() {
      const w = yield* startWriter()
      yield* w.memory.failWrites(true)
      yield* w.stats.cycleCompleted(1_000, 0.01, true)
      yield* TestClock.adjust("5 seconds")
      expect(yield* w.memory.written).toHaveLength(1)
      yield* w.memory.failWrites(false)
      yield* w.stats.cycleCompleted(6_000, 0.01, true)
      yield* TestClock.adjust("5 seconds")
      const written = yield* w.memory.written
      expect(written).toHaveLength(2)
      expect(written[1]!.last_cycle_at).toBe(6_000)
      yield* Scope.close(w.scope, Exit.void)
    }))

  it.effect("stops writing once the lease is lost (the file is the new holder's)", () =>
    Effect.gen(function*() {
      const w = yield* startWriter()
      yield* w.host.setFile({
        _tag: "Found",
        holder: { pid: 99, pidStartTime: null, host: MonitorLease.MEMORY_HOST, acquiredAt: 0 }
      })
      // pid 99 must be alive on the memory host to win: give it a lease of its own.
      yield* w.host.make(99)
      yield* w.stats.cycleCompleted(1_000, 0.01, true)
      yield* TestClock.adjust("5 seconds")
      expect(yield* w.lease.isLost).toBe(true)
      yield* TestClock.adjust("10 seconds")
      yield* Scope.close(w.scope, Exit.void)
      expect(yield* w.memory.written).toHaveLength(1)
    }))
})
