import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Monitor from "../monitor/Monitor.js"
import type { MonitorConfigShape } from "../monitor/MonitorConfig.js"
import * as MonitorLogger from "../monitor/MonitorLogger.js"
import * as Home from "../state/Home.js"

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
  )
}

export interface MonitorFlags {
  readonly interval: number
  readonly logFormat: MonitorLogger.LogFormat
  readonly livenessTick: number
}

/** The monitor's configuration from its flags and the environment (`$A3S_HOME`). */
export const configFrom = (options: MonitorFlags): Effect.Effect<MonitorConfigShape> =>
  Effect.map(Home.home, (home) =>
    Monitor.configFor(home, { interval: options.interval, livenessTickMillis: options.livenessTick }))

/** Every layer the monitor runs: the supervisor over the host services, and whatever runs beside it. */
export const services = (config: MonitorConfigShape, _options: MonitorFlags) =>
  Layer.mergeAll(
    Monitor.layer(config)
    // Add layers that run beside the supervisor here (they may use its services).
  )

/** The monitor's run: logs in the chosen format, until interrupted. */
export const runMonitor = (options: MonitorFlags) =>
  Effect.gen(function*() {
    const config = yield* configFrom(options)
    return yield* Monitor.run(config, services(config, options))
  }).pipe(Effect.provide(MonitorLogger.layer(options.logFormat)))

export const command = Command.make("monitor", flags, runMonitor).pipe(
  Command.withDescription(
    "Supervise detached boxes in the foreground: restart dead and unhealthy boxes per their restart policy, with backoff, until SIGTERM/SIGINT"
  )
)
