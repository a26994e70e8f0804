import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as EventHooksConfig from "../domain/EventHooksConfig.js"
import * as ListenAddress from "../metrics/ListenAddress.js"
import * as MonitorLogger from "../monitor/MonitorLogger.js"
import * as ServiceCommands from "./ServiceCommands.js"

/**
 * `a3s-box monitor [--interval N] [--log-format text|json]`: the supervisor in the
 * foreground (SPEC §3–7), until SIGTERM/SIGINT.
 *
 * To run something beside the supervisor (a metrics server, ...), add its flag to `flags`
 * and its layer in `services` (MonitorRun.ts): that is the one place the monitor's layers are composed.
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
      "Milliseconds between the cheap crash checks of active boxes: an integer >= 10 (default 100)"
    ),
    Options.withDefault(100),
    Options.filterMap(atLeast(10), "--liveness-tick must be an integer >= 10 (milliseconds)")
  ),
  /** Validated here (a bad value is a usage error, exit 2); kept as text, normalised (`ListenAddress.format`). */
  metricsAddr: Options.text("metrics-addr").pipe(
    Options.withDescription(
      "Serve /healthz and Prometheus /metrics on HOST:PORT or [IPV6]:PORT (port 0: any free one; no authentication, keep it on loopback; default: off)"
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
      "With --metrics-addr: also export restarts, health, last exit code and start time per box"
    )
  ),
  onEvent: Options.text("on-event").pipe(
    Options.withDescription(
      "Run CMD (by sh -c) for each event that passes --on-event-filter: the event as JSON on stdin, its fields in A3S_* variables (repeatable; see docs/behaviour.md)"
    ),
    Options.repeated
  ),
  /** Validated here (an unknown event is a usage error, exit 2); kept as text, normalised. */
  onEventFilter: Options.text("on-event-filter").pipe(
    Options.withDescription(
      `With --on-event: the events to run it for, comma-separated (default ${EventHooksConfig.formatFilter(EventHooksConfig.DEFAULT_FILTER)}; unhealthy: a health change to unhealthy; or any event type)`
    ),
    Options.mapEffect((text) =>
      Either.match(EventHooksConfig.parseFilter(text), {
        onLeft: (message) => Either.left(ValidationError.invalidValue(HelpDoc.p(message))),
        onRight: (filter) => Either.right(EventHooksConfig.formatFilter(filter))
      })
    ),
    Options.optional
  ),
  onEventTimeout: Options.integer("on-event-timeout").pipe(
    Options.withDescription(
      `Seconds a hook run may take before its process group is killed: an integer >= 1 (default ${EventHooksConfig.DEFAULT_TIMEOUT_SECS})`
    ),
    Options.withDefault(EventHooksConfig.DEFAULT_TIMEOUT_SECS),
    Options.filterMap(atLeast(1), "--on-event-timeout must be an integer >= 1 (seconds)")
  ),
  onEventConcurrency: Options.integer("on-event-concurrency").pipe(
    Options.withDescription(
      `At most this many hook runs at once, the rest queue: an integer >= 1 (default ${EventHooksConfig.DEFAULT_CONCURRENCY})`
    ),
    Options.withDefault(EventHooksConfig.DEFAULT_CONCURRENCY),
    Options.filterMap(atLeast(1), "--on-event-concurrency must be an integer >= 1")
  ),
  standby: Options.boolean("standby").pipe(
    Options.withDescription(
      "If another monitor supervises this home, wait and take over when it exits (default: exit 1)"
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
  /** `--on-event CMD` (repeatable) and its settings; absent: no hooks, defaults. */
  readonly onEvent?: ReadonlyArray<string>
  readonly onEventFilter?: Option.Option<string>
  readonly onEventTimeout?: number
  readonly onEventConcurrency?: number
}

/**
 * The monitor's run (MonitorRun.ts): its modules (supervisor, lease, heartbeat, state store,
 * runtime) are loaded only when the monitor runs, so the other commands and `--help` do not pay
 * their start-up time.
 */
export const runMonitor = (options: MonitorFlags) =>
  Effect.flatMap(Effect.promise(() => import("./MonitorRun.js")), (MonitorRun) => MonitorRun.runMonitor(options))

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
    "Keep boxes alive: restart dead and unhealthy ones per their restart policy. Runs in the foreground; restarts back off exponentially; SIGTERM or SIGINT ends it after its current cycle"
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
