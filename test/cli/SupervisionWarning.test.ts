import * as FileSystem from "@effect/platform/FileSystem"
import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as SupervisionWarning from "../../src/cli/SupervisionWarning.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as Heartbeat from "../../src/monitor/Heartbeat.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { StateFileCorrupt, StateStore, unwatchable } from "../../src/state/StateStore.js"
import { healthCheck, makeBox } from "../monitor/boxes.js"
import { capturedConsole } from "../service/CapturedConsole.js"

const needs = (overrides: Partial<BoxRecord>) => SupervisionWarning.needsSupervision(makeBox(overrides))

describe("SupervisionWarning: which boxes need a monitor", () => {
  it.each<[string, Partial<BoxRecord>, boolean]>([
    ["running, restart always", { status: "running", restart_policy: "always" }, true],
    ["running, unless-stopped", { status: "running", restart_policy: "unless-stopped" }, true],
    ["running, on-failure:3 with 1 restart so far", { status: "running", restart_policy: "on-failure:3", restart_count: 1 }, true],
    ["paused, restart always", { status: "paused", restart_policy: "always" }, true],
    ["running, restart no", { status: "running", restart_policy: "no" }, false],
    ["running, a malformed policy (behaves like no)", { status: "running", restart_policy: "sometimes" }, false],
    ["running, on-failure:3 with its 3 restarts used up", { status: "running", restart_policy: "on-failure:3", restart_count: 3 }, false],
    ["running, always, max_restart_count reached", { status: "running", restart_policy: "always", max_restart_count: 2, restart_count: 2 }, false],
    ["running --rm with a policy", { status: "running", restart_policy: "always", auto_remove: true }, false],
    ["running, restart no, health check", { status: "running", restart_policy: "no", health_check: healthCheck() }, true],
    ["running, restart no, health check disabled", {
      status: "running",
      restart_policy: "no",
      health_check: healthCheck(),
      healthcheck_disabled: true
    }, false],
    ["paused, restart no, health check (not probed while paused)", {
      status: "paused",
      restart_policy: "no",
      health_check: healthCheck()
    }, false],
    ["dead, restart always (waiting for its restart)", { status: "dead", restart_policy: "always", exit_code: 137 }, true],
    ["dead, on-failure, exit 0 (stays dead)", { status: "dead", restart_policy: "on-failure", exit_code: 0 }, false],
    ["dead, restart no", { status: "dead", restart_policy: "no", exit_code: 1 }, false],
    ["stopped by the user, restart always", { status: "stopped", restart_policy: "always", stopped_by_user: true }, false],
    ["created, restart always", { status: "created", restart_policy: "always", pid: null }, false],
    ["an unknown status written by another tool", { status: "restarting", restart_policy: "always" }, false]
  ])("%s: %s", (_, overrides, expected) => {
    expect(needs(overrides)).toBe(expected)
  })
})

describe("SupervisionWarning: the decision", () => {
  const missing: Heartbeat.Verdict = { _tag: "NotRunning", reason: "missing", heartbeat: null, detail: "" }
  const hb: Heartbeat.MonitorHeartbeat = {
    pid: 4321,
    pid_start_time: 1,
    host: "h",
    interval_secs: 5,
    metrics_addr: null,
    version: "0.1.0",
    started_at: 0,
    last_cycle_at: 0,
    updated_at: 0,
    stopped_at: null
  }
  const running: Heartbeat.Verdict = { _tag: "Running", heartbeat: hb, secondsSinceLastCycle: 1, thresholdSeconds: 30, pidChecked: true }
  const stale: Heartbeat.Verdict = {
    _tag: "Stale",
    heartbeat: hb,
    secondsSinceLastCycle: 95.4,
    thresholdSeconds: 30,
    polled: true,
    pidChecked: true
  }
  const boxes = [
    makeBox({ restart_policy: "always" }),
    makeBox({ restart_policy: "no" }),
    makeBox({ status: "dead", restart_policy: "on-failure", exit_code: 2 })
  ]
  const decide = (input: Partial<Parameters<typeof SupervisionWarning.decide>[0]>) =>
    SupervisionWarning.decide({ quiet: false, env: undefined, verdict: missing, records: boxes, home: "/h", ...input })

  it("warns in one line naming how many boxes, the home, and both fixes", () => {
    expect(decide({})).toEqual(Option.some(
      "Warning: 2 boxes with a restart policy or health check are not supervised: no a3s-box monitor is running for /h. Run `a3s-box monitor`, or install it as a service with `a3s-box monitor --install` (--quiet or A3S_NO_MONITOR_WARNING=1 hides this warning)."
    ))
    const line = Option.getOrThrow(decide({ records: [boxes[0]!] }))
    expect(line).toContain("Warning: 1 box with a restart policy or health check is not supervised")
    expect(line).not.toContain("\n")
  })

  it("says when the monitor is there but not responding", () => {
    expect(Option.getOrThrow(decide({ verdict: stale }))).toContain(
      "not supervised: the a3s-box monitor for /h (pid 4321) is not responding (no poll cycle completed for 95s)."
    )
  })

  it("is silent with a live monitor, with --quiet, with A3S_NO_MONITOR_WARNING, or when no box needs a monitor", () => {
    expect(decide({ verdict: running })).toEqual(Option.none())
    expect(decide({ quiet: true })).toEqual(Option.none())
    expect(decide({ env: "1" })).toEqual(Option.none())
    expect(decide({ records: [boxes[1]!] })).toEqual(Option.none())
    expect(decide({ records: [] })).toEqual(Option.none())
  })

  it.each([["1", true], ["true", true], ["YES", true], [" 1 ", true], ["0", false], ["", false], ["false", false], ["no", false]])(
    "A3S_NO_MONITOR_WARNING=%j silences: %s",
    (value, silenced) => {
      expect(SupervisionWarning.silencedBy(value)).toBe(silenced)
    }
  )
})

// ---------------------------------------------------------------------------------------------
// The effect: a stub state store and a file system that only has a heartbeat (or not)

const notFound = (path: string) =>
  new SystemError({ reason: "NotFound", module: "FileSystem", method: "readFileString", pathOrDescriptor: path })

const selfStart = Option.getOrThrow(ProcessInfo.parseProcStat(fs.readFileSync(`/proc/${process.pid}/stat`, "latin1")))
  .startTime

const liveHeartbeat = (): string =>
  Heartbeat.render({
    pid: process.pid,
    pid_start_time: selfStart,
    host: os.hostname(),
    interval_secs: 5,
    metrics_addr: null,
    version: "0.1.0",
    started_at: Date.now() - 5_000,
    last_cycle_at: Date.now() - 1_000,
    updated_at: Date.now() - 1_000,
    stopped_at: null
  })

const run = (options: {
  readonly records: ReadonlyArray<BoxRecord>
  readonly heartbeat?: string
  readonly env?: Record<string, string>
  readonly quiet?: boolean
  readonly corrupt?: boolean
  readonly passRecords?: boolean
}) =>
  Effect.gen(function*() {
    const captured = capturedConsole()
    let snapshots = 0
    const store = Layer.succeed(StateStore, {
      path: "/home/u/.a3s/boxes.json",
      changes: unwatchable("a test store"),
      snapshot: Effect.suspend(() => {
        snapshots++
        return options.corrupt === true
          ? Effect.fail(new StateFileCorrupt({ path: "/home/u/.a3s/boxes.json", detail: "not JSON" }))
          : Effect.succeed(options.records)
      }),
      invalid: Effect.succeed([]),
      modify: () => Effect.dieMessage("the warning never writes")
    })
    const files = FileSystem.layerNoop({
      readFileString: (path) =>
        path === "/home/u/.a3s/monitor.json" && options.heartbeat !== undefined
          ? Effect.succeed(options.heartbeat)
          : Effect.fail(notFound(path))
    })
    yield* SupervisionWarning.warnIfUnsupervised({
      quiet: options.quiet ?? false,
      ...(options.passRecords === true ? { records: options.records } : {})
    }).pipe(
      Effect.provide(Layer.merge(store, files)),
      Effect.withConsole(captured.console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {}))))
    )
    return { out: captured.out, err: captured.err, snapshots }
  })

describe("SupervisionWarning: the effect", () => {
  const supervised = [makeBox({ restart_policy: "always" }), makeBox({ restart_policy: "unless-stopped" })]

  it.live("prints the line on stderr, nothing on stdout, when no monitor runs", () =>
    Effect.gen(function*() {
      const result = yield* run({ records: supervised })
      expect(result.out).toEqual([])
      expect(result.err).toHaveLength(1)
      expect(result.err[0]).toMatch(/^Warning: 2 boxes .* no a3s-box monitor is running for \/home\/u\/\.a3s\. /)
    }))

  it.live("a live monitor's heartbeat: no warning, and the state is not even read", () =>
    Effect.gen(function*() {
      const result = yield* run({ records: supervised, heartbeat: liveHeartbeat() })
      expect(result.err).toEqual([])
      expect(result.snapshots).toBe(0)
    }))

  it.live("a corrupt heartbeat counts as no monitor", () =>
    Effect.gen(function*() {
      const result = yield* run({ records: supervised, heartbeat: liveHeartbeat().slice(0, 30) })
      expect(result.err).toHaveLength(1)
    }))

  it.live("silenced by --quiet or A3S_NO_MONITOR_WARNING=1 without reading anything", () =>
    Effect.gen(function*() {
      const quiet = yield* run({ records: supervised, quiet: true })
      expect(quiet).toEqual({ out: [], err: [], snapshots: 0 })
      const env = yield* run({ records: supervised, env: { A3S_NO_MONITOR_WARNING: "1" } })
      expect(env).toEqual({ out: [], err: [], snapshots: 0 })
      const notSilenced = yield* run({ records: supervised, env: { A3S_NO_MONITOR_WARNING: "0" } })
      expect(notSilenced.err).toHaveLength(1)
    }))

  it.live("uses the records the command already has; an unreadable state file means no warning, never a failure", () =>
    Effect.gen(function*() {
      const given = yield* run({ records: supervised, passRecords: true })
      expect(given.err).toHaveLength(1)
      expect(given.snapshots).toBe(0)
      const corrupt = yield* run({ records: supervised, corrupt: true })
      expect(corrupt.err).toEqual([])
    }))
})
