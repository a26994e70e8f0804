import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Duration from "effect/Duration"
import { hooksFrom, services, youngGenerationFlag } from "../../src/cli/MonitorRun.js"
import * as EventHooksConfig from "../../src/domain/EventHooksConfig.js"
import * as Heartbeat from "../../src/monitor/Heartbeat.js"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"
import { StateStore } from "../../src/state/StateStore.js"

describe("the monitor's young generation cap", () => {
  it("caps the semi-spaces at 1 MiB unless Node was given its own size", () => {
    expect(youngGenerationFlag([], undefined)).toBe("--max-semi-space-size=1")
    expect(youngGenerationFlag(["--enable-source-maps"], "--trace-warnings")).toBe("--max-semi-space-size=1")
    expect(youngGenerationFlag(["--max-semi-space-size=8"], undefined)).toBeUndefined()
    expect(youngGenerationFlag(["--max_semi_space_size", "8"], undefined)).toBeUndefined()
    expect(youngGenerationFlag([], " --max-semi-space-size=4 --trace-gc")).toBeUndefined()
    // Other sizes are not this one.
    expect(youngGenerationFlag(["--max-old-space-size=100", "--semi-space-growth-factor=2"], "--max-semi-space")).toBe(
      "--max-semi-space-size=1"
    )
  })
})

describe("MonitorRun.hooksFrom: the --on-event flags as the hooks' config", () => {
  const base = { interval: 5, logFormat: "text", livenessTick: 100, metricsAddr: Option.none(), metricsPerBox: false } as const
  it("no --on-event: no commands, the defaults", () => {
    expect(hooksFrom(base)).toEqual(EventHooksConfig.defaults)
  })
  it("the commands, the filter, the timeout and the concurrency as given", () => {
    expect(hooksFrom({
      ...base,
      onEvent: ["a", "b"],
      onEventFilter: Option.some("unhealthy,stop"),
      onEventTimeout: 3,
      onEventConcurrency: 1
    })).toEqual({ commands: ["a", "b"], filter: ["unhealthy", "stop"], timeout: Duration.seconds(3), concurrency: 1 })
  })
})

describe("MonitorRun.services: Monitor.layer, the one composition root, with the metrics server beside it", () => {
  it.live("builds on a temp home: the lease is held, then the metrics server (here off), the heartbeat, the supervisor", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-monitorrun-"))
    const flags = { interval: 1, logFormat: "text", livenessTick: 100, metricsAddr: Option.none(), metricsPerBox: false } as const
    const config = { ...Monitor.configFor(home, { interval: 1 }), metricsAddr: Option.none() }
    return Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(services(config, flags))
      // the host's services, the lease and the heartbeat's endpoint are all in the one context
      expect(Context.get(context, StateStore).path).toBe(path.join(home, "boxes.json"))
      expect(Option.isSome(Context.getOption(context, MonitorLease.HeldLease))).toBe(true)
      expect(Context.get(context, Heartbeat.MetricsEndpoint).address).toBeNull()
      expect(fs.existsSync(MonitorLease.leasePath(home))).toBe(true)
    })).pipe(
      Effect.provide(NodeContext.layer),
      Effect.ensuring(Effect.sync(() => fs.rmSync(home, { recursive: true, force: true })))
    )
  })
})
