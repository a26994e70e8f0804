import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ListenAddress from "../metrics/ListenAddress.js"
import type { MetricsListenFailed } from "../metrics/MetricsServer.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import * as Monitor from "../monitor/Monitor.js"
import type { MonitorConfig, MonitorConfigShape } from "../monitor/MonitorConfig.js"
import * as MonitorLease from "../monitor/MonitorLease.js"
import * as MonitorLogger from "../monitor/MonitorLogger.js"
import type { MonitorStats } from "../monitor/MonitorStats.js"
import * as Supervisor from "../monitor/Supervisor.js"
import type { StateStore } from "../state/StateStore.js"
import * as Home from "../state/Home.js"
import * as ServiceCommands from "./ServiceCommands.js"

/**
 * `a3s-box monitor [--interval N] [--log-format text|json]`: the supervisor in the
 * foreground (SPEC §3–7), until SIGTERM/SIGINT.
 *
 * To run something beside the supervisor (a metrics server, ...), add its flag to `flags`
 * and its layer in `services`: that is the one place the monitor's layers are composed.
 */

const atLeast = (min: number) => (n: number) =>
  n >= min ? Option.some(n) : Option.none<number>()

export const flags = {
  interval: Options.integer("interval").pipe(
    Options.withDescription("Seconds between full poll cycles: an integer >= 1 (default 5)"),
    Options.withDefault(5),
    Options.filterMap(atLeast(1), "--interval must be an integer >= 1 (seconds)")
  ),
  logFormat: Options.choice("log-format", MonitorLogger.LOG_FORMATS).pipe(
    Options.withDescription("Log line format: text (default) or json (one JSON object per line)"),
    Options.withDefault("text" as MonitorLogger.LogFormat)
  ),
  livenessTick: Options.integer("liveness-tick").pipe(
    Options.withDescription(
      "Milliseconds between the cheap crash checks of active boxes between poll cycles: an integer >= 10 (default 100)"
    ),
    Options.withDefault(100),
    Options.filterMap(atLeast(10), "--liveness-tick must be an integer >= 10 (milliseconds)")
  ),
  /** Validated here (a bad value is a usage error, exit 2); kept as text, normalised (`ListenAddress.format`). */
  metricsAddr: Options.text("metrics-addr").pipe(
    Options.withDescription(
      "Serve GET /healthz and GET /metrics (Prometheus) on HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464 (port 0 picks a free one; the bound address is logged). Off by default. No authentication: keep it on loopback"
    ),
    Options.mapEffect((text) =>
      Either.match(ListenAddress.parse(text), {
        onLeft: (error) => Either.left(ValidationError.invalidValue(HelpDoc.p(`--metrics-addr: ${error.message}`))),
        onRight: (address) => Either.right(ListenAddress.format(address))
      })
    ),
    Options.optional
  ),
  metricsPerBox: Options.boolean("metrics-per-box").pipe(
    Options.withDescription(
      "With --metrics-addr: also export one series per box (restarts and health by box name); grows with the fleet"
    )
  ),
  standby: Options.boolean("standby").pipe(
    Options.withDescription(
      "If another monitor already supervises this home, wait quietly and take over within one interval when it exits (without it: exit 1 at once, naming that monitor's pid)"
    )
  )
}

export interface MonitorFlags {
  readonly interval: number
  readonly logFormat: MonitorLogger.LogFormat
  readonly livenessTick: number
  readonly metricsAddr: Option.Option<string>
  readonly metricsPerBox: boolean
  /** `--standby`: wait for the home's lease instead of failing when another monitor holds it. */
  readonly standby?: boolean
}

/** The monitor's configuration from its flags and the environment (`$A3S_HOME`). */
export const configFrom = (options: MonitorFlags): Effect.Effect<MonitorConfigShape> =>
  Effect.map(Home.home, (home) => ({
    ...Monitor.configFor(home, { interval: options.interval, livenessTickMillis: options.livenessTick }),
    metricsAddr: Option.flatMap(options.metricsAddr, (text) => Either.getRight(ListenAddress.parse(text)))
  }))

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

/** Every layer the monitor runs: the supervisor over the host services, and whatever runs beside it. */
export const services = (config: MonitorConfigShape, options: MonitorFlags) =>
  // Monitor.layer(config), with the metrics server between the home's lease and the heartbeat:
  // it shares the host's MonitorStats and StateStore, it binds only once this monitor holds the
  // home (SPEC §11), and it is bound (or has failed, e.g. port in use) before the supervisor
  // starts. Layers built in order: host, lease, metrics, heartbeat, supervisor.
  Supervisor.layer.pipe(
    Layer.provideMerge(Heartbeat.layer()),
    Layer.provideMerge(metricsServer(config, options.metricsPerBox)),
    Layer.provideMerge(MonitorLease.layer({ standby: options.standby === true })),
    Layer.provideMerge(Monitor.hostLayer(config))
  )

/** The monitor's run: logs in the chosen format, until interrupted. */
export const runMonitor = (options: MonitorFlags) =>
  Effect.gen(function*() {
    const config = yield* configFrom(options)
    return yield* Monitor.run(config, services(config, options))
  }).pipe(Effect.provide(MonitorLogger.layer(options.logFormat)))

/**
 * `a3s-box monitor --install/--uninstall [--linger]` install or remove the monitor as a per-user
 * service instead of running it; `monitor install|uninstall|status` are the subcommand spellings
 * (see ServiceCommands.ts).
 */
const monitorCommand = Command.make(
  "monitor",
  { ...flags, ...ServiceCommands.monitorServiceOptions },
  (options) =>
    Effect.gen(function*() {
      const service = ServiceCommands.monitorServiceAction({
        ...options,
        intervalSecs: options.interval,
        extraArgs: ServiceCommands.carriedMonitorArgs(options)
      })
      if (Option.isSome(service)) return yield* service.value
      return yield* runMonitor(options)
    })
).pipe(
  Command.withDescription(
    "Supervise detached boxes in the foreground: restart dead and unhealthy boxes per their restart policy, with backoff, until SIGTERM/SIGINT"
  )
)

export const command = monitorCommand.pipe(
  Command.withSubcommands(ServiceCommands.serviceSubcommands(Effect.map(monitorCommand, (options) => ({
    intervalSecs: options.interval,
    metricsAddr: options.metricsAddr,
    extraArgs: ServiceCommands.carriedMonitorArgs(options),
    linger: options.linger
  }))))
)
