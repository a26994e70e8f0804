import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as Exposition from "../../src/metrics/Exposition.js"
import * as Staleness from "../../src/metrics/Staleness.js"
import { CYCLE_BUCKETS, type MonitorStatsSnapshot } from "../../src/telemetry/MonitorStats.js"
import { box, fixtureRecords, readExposition, valueOf } from "./support.js"

const freshStats: MonitorStatsSnapshot = {
  lastCycleCompletedAt: Option.some(1_000),
  stateOk: true,
  restarts: new Map(),
  probes: new Map(),
  cycleDurations: { bucketCounts: CYCLE_BUCKETS.map(() => 0), count: 0, sum: 0 }
}

const processSample: Exposition.ProcessSample = {
  residentMemoryBytes: 64 * 1024 * 1024,
  cpuSecondsTotal: 1.25,
  startTimeSeconds: 1_790_000_000
}

const render = (overrides: Partial<Exposition.ExpositionInput> & { readonly records?: ReadonlyArray<BoxRecord> }) =>
  Exposition.render({
    state: Exposition.readable(overrides.records ?? []),
    stats: freshStats,
    staleness: Staleness.assess({
      lastCycleCompletedAt: Option.some(1_000),
      startedAt: 0,
      now: 3_500,
      threshold: Duration.seconds(30)
    }),
    process: processSample,
    perBox: false,
    ...overrides
  }).then(readExposition)

const BOX_FAMILIES = ["a3s_box_total", "a3s_box_state", "a3s_box_restarts_total", "a3s_box_health", "a3s_box_invalid_records"]

describe("Exposition.render", () => {
  it("counts the mixed fixture per status (stopped and unknown under other), per health, and sums restarts", async () => {
    const out = await render({ records: fixtureRecords })
    expect(valueOf(out, "a3s_box_total")).toBe(5)
    expect(valueOf(out, "a3s_box_state", { status: "running" })).toBe(1)
    expect(valueOf(out, "a3s_box_state", { status: "paused" })).toBe(1)
    expect(valueOf(out, "a3s_box_state", { status: "dead" })).toBe(1)
    expect(valueOf(out, "a3s_box_state", { status: "created" })).toBe(0)
    // quiet_lovelace (stopped) and keen_dijkstra (restart_starting)
    expect(valueOf(out, "a3s_box_state", { status: "other" })).toBe(2)
    expect(valueOf(out, "a3s_box_restarts_total")).toBe(3 + 2 + 0 + 0 + 1)
    expect(valueOf(out, "a3s_box_health", { status: "healthy" })).toBe(1)
    expect(valueOf(out, "a3s_box_health", { status: "unhealthy" })).toBe(1)
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(1)
    expect(out.duplicates).toEqual([])
    expect(out.repeatedMetadata).toEqual([])
    expect(out.comments).toEqual([])
  })

  it("declares the required families with their types", async () => {
    const out = await render({ records: fixtureRecords })
    expect(Object.fromEntries(out.types)).toMatchObject({
      // a gauge in meaning; `untyped` because promtool refuses `_total` on a gauge
      a3s_box_total: "untyped",
      a3s_box_state: "gauge",
      a3s_box_restarts_total: "counter",
      a3s_box_health: "gauge",
      a3s_box_monitor_up: "gauge",
      a3s_box_monitor_seconds_since_last_poll: "gauge",
      a3s_box_monitor_state_ok: "gauge",
      a3s_box_monitor_restarts_total: "counter",
      a3s_box_monitor_health_probes_total: "counter",
      a3s_box_monitor_poll_duration_seconds: "histogram",
      a3s_box_journal_write_failures_total: "counter",
      process_resident_memory_bytes: "gauge",
      process_cpu_seconds_total: "counter",
      process_start_time_seconds: "gauge"
    })
  })

  it("renders the journal's failed appends (0 when not given)", async () => {
    expect(valueOf(await render({ records: [] }), "a3s_box_journal_write_failures_total")).toBe(0)
    expect(valueOf(await render({ records: [], journalWriteFailures: 3 }), "a3s_box_journal_write_failures_total")).toBe(3)
  })

  it("an empty state is an all-zero fleet with every status series present and state_ok 1", async () => {
    const out = await render({ records: [] })
    expect(valueOf(out, "a3s_box_total")).toBe(0)
    for (const status of ["running", "paused", "dead", "created", "other"]) {
      expect(valueOf(out, "a3s_box_state", { status })).toBe(0)
    }
    expect(out.labelsOf("a3s_box_state")).toHaveLength(5)
    expect(valueOf(out, "a3s_box_restarts_total")).toBe(0)
    expect(valueOf(out, "a3s_box_health", { status: "healthy" })).toBe(0)
    expect(valueOf(out, "a3s_box_health", { status: "unhealthy" })).toBe(0)
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(1)
  })

  it("an unreadable state is not an empty fleet: box families absent, state_ok 0, and a comment saying why", async () => {
    const out = await render({
      state: Exposition.unreadable("state file /h/boxes.json is corrupt and was left untouched: Unexpected token\nat 3")
    })
    for (const family of BOX_FAMILIES) {
      expect(out.types.has(family), family).toBe(false)
      expect(out.labelsOf(family), family).toEqual([])
    }
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(0)
    expect(out.comments).toHaveLength(1)
    expect(out.comments[0]).toContain("/h/boxes.json is corrupt")
    expect(out.comments[0]).toContain("at 3") // the newline of the reason did not break the line
    // the monitor's own families are still there
    expect(valueOf(out, "a3s_box_monitor_up")).toBe(1)
    expect(valueOf(out, "process_resident_memory_bytes")).toBe(processSample.residentMemoryBytes)
  })

  it("invalid records are counted apart (a3s_box_invalid_records), not in a3s_box_total or a3s_box_state", async () => {
    const out = await render({ state: Exposition.readable(fixtureRecords, 2) })
    expect(valueOf(out, "a3s_box_invalid_records")).toBe(2)
    expect(out.types.get("a3s_box_invalid_records")).toBe("gauge")
    expect(valueOf(out, "a3s_box_total")).toBe(5)
    expect(out.labelsOf("a3s_box_state")).toHaveLength(5)
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(1)
    expect(valueOf(await render({ records: fixtureRecords }), "a3s_box_invalid_records")).toBe(0)
    // with the box families when the file cannot be read
    const unreadable = await render({ state: Exposition.unreadable("no") })
    expect(unreadable.types.has("a3s_box_invalid_records")).toBe(false)
  })

  it("state_ok is 0 when the last poll cycle could not use the state file, even if this scrape could read it", async () => {
    const out = await render({ records: fixtureRecords, stats: { ...freshStats, stateOk: false } })
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(0)
    expect(valueOf(out, "a3s_box_total")).toBe(5)
  })

  it("reports the supervisor's counters, with every label combination present", async () => {
    const out = await render({
      stats: {
        ...freshStats,
        restarts: new Map([["dead/ok", 4], ["unhealthy/error", 1]]),
        probes: new Map([["healthy", 10]])
      }
    })
    expect(valueOf(out, "a3s_box_monitor_restarts_total", { reason: "dead", result: "ok" })).toBe(4)
    expect(valueOf(out, "a3s_box_monitor_restarts_total", { reason: "dead", result: "error" })).toBe(0)
    expect(valueOf(out, "a3s_box_monitor_restarts_total", { reason: "unhealthy", result: "ok" })).toBe(0)
    expect(valueOf(out, "a3s_box_monitor_restarts_total", { reason: "unhealthy", result: "error" })).toBe(1)
    expect(valueOf(out, "a3s_box_monitor_health_probes_total", { result: "healthy" })).toBe(10)
    expect(valueOf(out, "a3s_box_monitor_health_probes_total", { result: "unhealthy" })).toBe(0)
  })

  it("renders the poll-duration histogram from MonitorStats' cumulative buckets", async () => {
    const bucketCounts = CYCLE_BUCKETS.map((le) => (le >= 0.01 ? (le >= 1 ? 3 : 2) : 0))
    const out = await render({ stats: { ...freshStats, cycleDurations: { bucketCounts, count: 4, sum: 12.5 } } })
    const name = "a3s_box_monitor_poll_duration_seconds"
    CYCLE_BUCKETS.forEach((le, i) => expect(valueOf(out, `${name}_bucket`, { le: String(le) })).toBe(bucketCounts[i]))
    expect(valueOf(out, `${name}_bucket`, { le: "+Inf" })).toBe(4)
    expect(valueOf(out, `${name}_sum`)).toBe(12.5)
    expect(valueOf(out, `${name}_count`)).toBe(4)
  })

  it("reports staleness and process metrics as given", async () => {
    const out = await render({
      staleness: Staleness.assess({
        lastCycleCompletedAt: Option.some(0),
        startedAt: 0,
        now: 45_500,
        threshold: Duration.seconds(30)
      })
    })
    expect(valueOf(out, "a3s_box_monitor_up")).toBe(0)
    expect(valueOf(out, "a3s_box_monitor_seconds_since_last_poll")).toBe(45.5)
    expect(valueOf(out, "process_cpu_seconds_total")).toBe(1.25)
    expect(valueOf(out, "process_start_time_seconds")).toBe(1_790_000_000)
  })

  it("has no per-box series unless asked", async () => {
    const out = await render({ records: fixtureRecords })
    expect(out.types.has("a3s_box_box_restarts_total")).toBe(false)
    expect(out.types.has("a3s_box_box_health")).toBe(false)
    expect(out.types.has("a3s_box_last_exit_code")).toBe(false)
    expect(out.types.has("a3s_box_start_time_seconds")).toBe(false)
  })

  it("per-box last exit code (last_exit, else exit_code; none when unknown) and start time of active boxes", async () => {
    const records = [
      box({ name: "crashed", status: "dead", exit_code: 137, last_exit: { code: 137, signal: "SIGKILL", at: "2026-01-01T00:00:00.000Z" } }),
      box({ name: "older", status: "stopped", exit_code: 143 }),
      box({ name: "up", status: "running", started_at: "2026-01-01T00:00:10.500Z", last_exit: { code: 1, signal: null, at: "2026-01-01T00:00:09.000Z" } }),
      box({ name: "fresh", status: "running", exit_code: null, started_at: "garbage" })
    ]
    const out = await render({ records, perBox: true })
    const id = (name: string) => records.find((b) => b.name === name)!.short_id
    expect(out.types.get("a3s_box_last_exit_code")).toBe("gauge")
    expect(out.types.get("a3s_box_start_time_seconds")).toBe("gauge")
    expect(valueOf(out, "a3s_box_last_exit_code", { box: "crashed", box_id: id("crashed") })).toBe(137)
    expect(valueOf(out, "a3s_box_last_exit_code", { box: "older", box_id: id("older") })).toBe(143)
    expect(valueOf(out, "a3s_box_last_exit_code", { box: "up", box_id: id("up") })).toBe(1)
    expect(out.labelsOf("a3s_box_last_exit_code")).toHaveLength(3)
    expect(valueOf(out, "a3s_box_start_time_seconds", { box: "up", box_id: id("up") })).toBe(1_767_225_610.5)
    expect(out.labelsOf("a3s_box_start_time_seconds")).toHaveLength(1)
    expect(out.duplicates).toEqual([])
  })

  it("per-box series carry each box's restarts and health, with names escaped", async () => {
    const weird = "we\"ird\\name\nwith ünïcode"
    const records = [
      ...fixtureRecords,
      box({ name: weird, restart_count: 7, health_status: "starting" }),
      box({ name: "odd-health", health_status: "confused" })
    ]
    const text = await Exposition.render({
      state: Exposition.readable(records),
      stats: freshStats,
      staleness: Staleness.assess({ lastCycleCompletedAt: Option.none(), startedAt: 0, now: 0, threshold: Duration.seconds(30) }),
      process: processSample,
      perBox: true
    })
    expect(text).toContain(`box="we\\"ird\\\\name\\nwith ünïcode"`)
    const out = readExposition(text)
    expect(valueOf(out, "a3s_box_box_restarts_total", { box: "calm_turing" })).toBe(3)
    expect(valueOf(out, "a3s_box_box_restarts_total", { box: weird })).toBe(7)
    expect(valueOf(out, "a3s_box_box_health", { box: "calm_turing", status: "healthy" })).toBe(1)
    expect(valueOf(out, "a3s_box_box_health", { box: "tiny_knuth", status: "unhealthy" })).toBe(1)
    expect(valueOf(out, "a3s_box_box_health", { box: weird, status: "starting" })).toBe(1)
    expect(valueOf(out, "a3s_box_box_health", { box: "odd-health", status: "none" })).toBe(1)
    expect(out.labelsOf("a3s_box_box_health")).toHaveLength(records.length)
    expect(out.duplicates).toEqual([])
  })

  it("two boxes sharing a name (a damaged file) still give one series each, never a duplicate", async () => {
    const records = [box({ name: "twin", restart_count: 1 }), box({ name: "twin", restart_count: 2 })]
    const out = await render({ records, perBox: true })
    expect(out.duplicates).toEqual([])
    expect(valueOf(out, "a3s_box_box_restarts_total", { box: "twin" })).toBe(3)
    expect(valueOf(out, "a3s_box_box_health", { box: "twin", status: "none" })).toBe(2)
  })

  it("a negative restart_count (a hand-edited file) counts as 0: the counter neither throws nor drops", async () => {
    const out = await render({ records: [box({ restart_count: -5 }), box({ restart_count: 2 })], perBox: true })
    expect(valueOf(out, "a3s_box_restarts_total")).toBe(2)
  })

  it("builds a fresh registry per scrape: a removed box's series disappear", async () => {
    const before = await render({ records: [box({ name: "gone" })], perBox: true })
    expect(before.labelsOf("a3s_box_box_restarts_total")).toHaveLength(1)
    const after = await render({ records: [], perBox: true })
    expect(after.labelsOf("a3s_box_box_restarts_total")).toEqual([])
  })
})

describe("Exposition.statusBucket", () => {
  it.each([
    ["running", "running"],
    ["paused", "paused"],
    ["dead", "dead"],
    ["created", "created"],
    ["stopped", "other"],
    ["restart_starting", "other"],
    ["", "other"],
    ["RUNNING", "other"]
  ])("%j -> %s", (status, bucket) => {
    expect(Exposition.statusBucket(status)).toBe(bucket)
  })
})

describe("Staleness", () => {
  const threshold = Duration.seconds(30)
  it("is up up to and including the threshold, then stale with how long", () => {
    const at = (now: number) => Staleness.assess({ lastCycleCompletedAt: Option.some(10_000), startedAt: 0, now, threshold })
    expect(at(40_000).up).toBe(true)
    expect(Staleness.healthzBody(at(40_000))).toBe("ok\n")
    expect(at(40_001).up).toBe(false)
    expect(Staleness.healthzBody(at(72_000))).toBe("stale: the last poll cycle completed 62s ago (threshold 30s)\n")
  })

  it("before the first cycle, counts from the monitor's start", () => {
    const at = (now: number) => Staleness.assess({ lastCycleCompletedAt: Option.none(), startedAt: 5_000, now, threshold })
    expect(at(35_000).up).toBe(true)
    expect(at(35_000).polled).toBe(false)
    expect(Staleness.healthzBody(at(36_000))).toBe(
      "stale: no poll cycle has completed in the 31s since the monitor started (threshold 30s)\n"
    )
  })

  it("a clock that went backwards reads as 0 s, not negative", () => {
    const s = Staleness.assess({ lastCycleCompletedAt: Option.some(10_000), startedAt: 0, now: 9_000, threshold })
    expect(s.secondsSinceLastPoll).toBe(0)
    expect(s.up).toBe(true)
  })
})
