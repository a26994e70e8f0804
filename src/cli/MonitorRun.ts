import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EventHooksConfig from "../domain/EventHooksConfig.js"
import * as ListenAddress from "../metrics/ListenAddress.js"
import type { MetricsListenFailed } from "../metrics/MetricsServer.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import * as Monitor from "../monitor/Monitor.js"
import type { MonitorConfig, MonitorConfigShape } from "../monitor/MonitorConfig.js"
import * as MonitorLogger from "../monitor/MonitorLogger.js"
import type { MonitorStats } from "../monitor/MonitorStats.js"
import type { StateStore } from "../state/StateStore.js"
import * as Home from "../state/Home.js"
import type { MonitorFlags } from "./MonitorCommand.js"
import * as v8 from "node:v8"

/**
 * `a3s-box monitor` running (SPEC §3–7): what MonitorCommand.ts loads once the monitor runs
 * (not for `--help`, the box commands or `monitor install`). To run something beside the
 * supervisor (a metrics server, ...), add its flag in MonitorCommand.ts and its layer to
 * `services`' `beside`; the monitor's layers themselves are composed in one place, `Monitor.layer`.
 */

/** The monitor's configuration from its flags and the environment (`$A3S_HOME`). */
export const configFrom = (options: MonitorFlags): Effect.Effect<MonitorConfigShape> =>
  Effect.map(Home.home, (home) => ({
    ...Monitor.configFor(home, { interval: options.interval, livenessTickMillis: options.livenessTick }),
    metricsAddr: Option.flatMap(options.metricsAddr, (text) => Either.getRight(ListenAddress.parse(text))),
    hooks: hooksFrom(options)
  }))

/** The event hooks' configuration from the `--on-event*` flags (already validated by the parser). */
export const hooksFrom = (options: MonitorFlags): EventHooksConfig.EventHooksConfig => ({
  commands: options.onEvent ?? [],
  filter: Option.match(options.onEventFilter ?? Option.none(), {
    onNone: () => EventHooksConfig.DEFAULT_FILTER,
    onSome: (text) => Either.getOrElse(EventHooksConfig.parseFilter(text), () => EventHooksConfig.DEFAULT_FILTER)
  }),
  timeout: Duration.seconds(options.onEventTimeout ?? EventHooksConfig.DEFAULT_TIMEOUT_SECS),
  concurrency: options.onEventConcurrency ?? EventHooksConfig.DEFAULT_CONCURRENCY
})

/**
 * The metrics server (`--metrics-addr`), or nothing. Its modules (HTTP server, prom-client)
 * are loaded only when it is asked for, so a monitor without it does not pay their start-up time.
 * Outputs the bound address for the heartbeat (`Heartbeat.MetricsEndpoint`).
 */
const metricsServer = (
  config: MonitorConfigShape,
  perBox: boolean
): Layer.Layer<Heartbeat.MetricsEndpoint, MetricsListenFailed, StateStore | MonitorStats | MonitorConfig> =>
  Option.match(config.metricsAddr, {
    onNone: () => Layer.succeed(Heartbeat.MetricsEndpoint, { address: null }),
    onSome: (address) =>
      Layer.unwrapEffect(
        Effect.map(Effect.promise(() => import("../metrics/MetricsServer.js")), (MetricsServer) =>
          Layer.effect(
            Heartbeat.MetricsEndpoint,
            Effect.map(MetricsServer.MetricsServer, (server) => ({ address: ListenAddress.format(server.address) }))
          ).pipe(Layer.provide(MetricsServer.layer({ address, perBox }))))
      )
  })

/** Every layer the monitor runs: `Monitor.layer` (the one composition root), with the metrics server beside the supervisor. */
export const services = (config: MonitorConfigShape, options: MonitorFlags) =>
  Monitor.layer(config, { standby: options.standby === true, beside: metricsServer(config, options.metricsPerBox) })

/**
 * The V8 flag that caps the monitor's young generation, unless Node was given its own
 * `--max-semi-space-size` (command line or NODE_OPTIONS). V8 grows the young generation's
 * semi-spaces up to 16 MiB under the allocation of a restart storm, and they then stay
 * resident: about 13 MiB of an idle monitor's RSS at 100 boxes (85 -> 72 MiB measured). Idle,
 * the monitor allocates little, so the more frequent scavenges cost no measurable CPU.
 */
export const youngGenerationFlag = (execArgv: ReadonlyArray<string>, nodeOptions: string | undefined): string | undefined =>
  [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((arg) => /^--max[-_]semi[-_]space[-_]size\b/.test(arg))
    ? undefined
    : "--max-semi-space-size=1"

/** Applies `youngGenerationFlag` to this process (V8 honours it at run time: the next growth is capped). */
const capYoungGeneration = Effect.sync(() => {
  const flag = youngGenerationFlag(process.execArgv, process.env["NODE_OPTIONS"])
  if (flag !== undefined) v8.setFlagsFromString(flag)
})

/** The monitor's run: logs in the chosen format, until interrupted. */
export const runMonitor = (options: MonitorFlags) =>
  Effect.gen(function*() {
    yield* capYoungGeneration
    const config = yield* configFrom(options)
    return yield* Monitor.run(config, services(config, options))
  }).pipe(Effect.provide(MonitorLogger.layer(options.logFormat)))
