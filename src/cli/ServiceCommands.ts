/**
 * `a3s-box monitor --install/--uninstall` and `a3s-box monitor install|uninstall|status` (SPEC §9):
 * the command-line face of the ServiceInstaller. The `run*` functions return the exit code (Outcome's
 * rule) so tests can check output and code without touching the process.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as EventHooksConfig from "../domain/EventHooksConfig.js"
import * as ListenAddress from "../metrics/ListenAddress.js"
import { commandLine, describeFailure, shellWord } from "../service/Errors.js"
import * as ServiceInstaller from "../service/ServiceInstaller.js"
import * as Units from "../service/Units.js"
import * as Home from "../state/Home.js"
import * as Outcome from "./Outcome.js"
import { type MonitorSeen, seeMonitor, statusJson, statusText } from "./ServiceStatusView.js"

export {
  healthOwner,
  HealthOwner,
  type MonitorSeen,
  reinstallCommand,
  seeMonitor,
  statusJson,
  statusText
} from "./ServiceStatusView.js"

/** What `--install` is told: the monitor's own flags plus `--linger`. */
export interface InstallRequest {
  readonly program: ServiceInstaller.Program
  readonly home: string
  readonly intervalSecs: number
  readonly metricsAddr: Option.Option<string>
  /** Other monitor flags the service must run with (see `carriedMonitorArgs`). */
  readonly extraArgs?: ReadonlyArray<string>
  readonly linger: boolean
}

const printErr = (text: string) => Effect.forEach(text.split("\n"), (line) => Console.error(line), { discard: true })

// ---------------------------------------------------------------------------------------------
// install

/** Installs the service and prints what was done; exit 0 also when only the manual step remains. */
export const runInstall = (request: InstallRequest): Effect.Effect<number, never, ServiceInstaller.ServiceInstaller> =>
  Effect.gen(function*() {
    const installer = yield* ServiceInstaller.ServiceInstaller
    const spec: Units.ServiceSpec = {
      node: request.program.node,
      script: request.program.script,
      intervalSecs: request.intervalSecs,
      metricsAddr: request.metricsAddr,
      home: request.home,
      ...(request.extraArgs === undefined ? {} : { extraArgs: request.extraArgs })
    }
    const result = yield* Effect.either(installer.install(spec, { linger: request.linger }))
    if (Either.isLeft(result)) {
      const error = result.left
      if (error._tag === "ServiceManagerUnavailable") {
        // The unit is written; the manual command finishes the job. Not a failure of the install.
        yield* printErr(error.message)
        return Outcome.EXIT_OK
      }
      return yield* Outcome.failure(error)
    }
    const outcome = result.right
    yield* Console.log(`${outcome.replaced ? "Replaced" : "Wrote"} ${outcome.unitPath}`)
    yield* Console.log(`  runs ${commandLine(Units.programArguments(spec))}`)
    yield* Console.log(`  with A3S_HOME=${shellWord(spec.home)}`)
    if (outcome.manager === "launchd") yield* Console.log(`  logs to ${Units.launchdLogPath(spec.home)}`)
    for (const argv of outcome.commands) yield* Console.log(`Ran ${commandLine(argv)}`)
    yield* Console.log(
      outcome.replaced
        ? "The a3s-box monitor service is installed and was restarted with these settings."
        : "The a3s-box monitor service is installed and started."
    )
    if (Option.isSome(outcome.linger)) {
      const linger = outcome.linger.value
      switch (linger._tag) {
        case "Enabled":
          yield* Console.log(`Ran ${commandLine(linger.argv)}: the monitor keeps running while you are logged out.`)
          break
        case "Failed":
          yield* printErr(`Warning: could not enable lingering: ${describeFailure(linger.failed)}`)
          yield* Console.error(
            `Without it the monitor stops when you log out. Run it yourself (it may need sudo): ${commandLine(linger.failed.argv)}`
          )
          break
        case "NotApplicable":
          yield* Console.error(`Note: --linger has no effect here: ${linger.reason}.`)
          break
      }
    } else if (outcome.manager === "systemd") {
      yield* Console.log(
        "Tip: on a headless host, run `loginctl enable-linger $USER` so the monitor keeps running while you are logged out."
      )
    }
    return Outcome.EXIT_OK
  })

// ---------------------------------------------------------------------------------------------
// uninstall

export const runUninstall: Effect.Effect<number, never, ServiceInstaller.ServiceInstaller> = Effect.gen(function*() {
  const installer = yield* ServiceInstaller.ServiceInstaller
  const result = yield* Effect.either(installer.uninstall)
  if (Either.isLeft(result)) {
    const error = result.left
    if (error._tag === "ServiceManagerUnavailable") {
      yield* printErr(error.message)
      return Outcome.EXIT_OK
    }
    return yield* Outcome.failure(error)
  }
  const outcome = result.right
  if (outcome._tag === "NotInstalled") {
    yield* Console.log(`No a3s-box monitor service is installed (no ${outcome.unitPath}); nothing to do.`)
    return Outcome.EXIT_OK
  }
  const [first, ...rest] = outcome.commands
  if (first !== undefined) yield* Console.log(`Ran ${commandLine(first)}`)
  yield* Console.log(`Removed ${outcome.unitPath}`)
  for (const argv of rest) yield* Console.log(`Ran ${commandLine(argv)}`)
  yield* Console.log("The a3s-box monitor service is uninstalled.")
  return Outcome.EXIT_OK
})

// ---------------------------------------------------------------------------------------------
// status

export const runStatus = (
  format: "text" | "json",
  currentHome: string,
  monitor?: MonitorSeen
): Effect.Effect<number, never, ServiceInstaller.ServiceInstaller> =>
  Effect.gen(function*() {
    const installer = yield* ServiceInstaller.ServiceInstaller
    const result = yield* Effect.either(installer.status)
    if (Either.isLeft(result)) return yield* Outcome.failure(result.left)
    if (format === "json") {
      yield* Console.log(JSON.stringify(statusJson(result.right, currentHome, monitor), null, 2))
    } else {
      yield* Effect.forEach(statusText(result.right, currentHome, monitor), (line) => Console.log(line), { discard: true })
    }
    return Outcome.EXIT_OK
  })

// ---------------------------------------------------------------------------------------------
// Wiring into the process: program, home, the Node installer, the exit code

/** What the service commands need from the CLI (they bring their own command executor). */
type NodeServices = FileSystem.FileSystem

/** The installer, on a command executor loaded only here (the rest of the CLI runs no programs). */
const withInstaller = <R>(self: Effect.Effect<number, never, R | ServiceInstaller.ServiceInstaller>) =>
  Effect.flatMap(Effect.promise(() => import("@effect/platform-node/NodeCommandExecutor")), (NodeCommandExecutor) =>
    self.pipe(
      Effect.provide(ServiceInstaller.layerNode),
      Effect.provide(NodeCommandExecutor.layer),
      Effect.flatMap(Outcome.exitWith)
    ))

/** The monitor's flags as far as installing is concerned. */
export interface InstallFlags {
  readonly intervalSecs: number
  readonly metricsAddr: Option.Option<string>
  readonly extraArgs?: ReadonlyArray<string>
  readonly linger: boolean
}

/**
 * The monitor's other flags, as arguments the installed service must carry too (only those that
 * differ from the monitor's defaults: `--log-format text`, `--liveness-tick 100`, no per-box metrics,
 * no hooks, `--on-event-timeout 10`, `--on-event-concurrency 4`; each `--on-event` and the filter as given),
 * and always `--standby`: a service that finds a monitor started by hand on its home waits and takes
 * over when that one exits, rather than exiting 1 every RestartSec until the service manager's start
 * limit gives up on it (which would leave the boxes unsupervised once the hand-started one is gone).
 */
export const carriedMonitorArgs = (flags: {
  readonly logFormat?: string
  readonly livenessTick?: number
  readonly metricsPerBox?: boolean
  readonly standby?: boolean
  readonly onEvent?: ReadonlyArray<string>
  readonly onEventFilter?: Option.Option<string>
  readonly onEventTimeout?: number
  readonly onEventConcurrency?: number
}): ReadonlyArray<string> => [
  ...(flags.logFormat !== undefined && flags.logFormat !== "text" ? ["--log-format", flags.logFormat] : []),
  ...(flags.livenessTick !== undefined && flags.livenessTick !== 100 ? ["--liveness-tick", String(flags.livenessTick)] : []),
  ...(flags.metricsPerBox === true ? ["--metrics-per-box"] : []),
  ...(flags.onEvent ?? []).flatMap((command) => ["--on-event", command]),
  ...(flags.onEventFilter !== undefined && Option.isSome(flags.onEventFilter) ? ["--on-event-filter", flags.onEventFilter.value] : []),
  ...(flags.onEventTimeout !== undefined && flags.onEventTimeout !== EventHooksConfig.DEFAULT_TIMEOUT_SECS
    ? ["--on-event-timeout", String(flags.onEventTimeout)]
    : []),
  ...(flags.onEventConcurrency !== undefined && flags.onEventConcurrency !== EventHooksConfig.DEFAULT_CONCURRENCY
    ? ["--on-event-concurrency", String(flags.onEventConcurrency)]
    : []),
  "--standby"
]

/** Checks the flags a service would start with, so a bad one fails now rather than in a crash loop. */
const checkFlags = (flags: InstallFlags): Either.Either<InstallFlags, string> => {
  if (!Number.isSafeInteger(flags.intervalSecs) || flags.intervalSecs < 1) {
    return Either.left(`invalid --interval ${flags.intervalSecs}: it must be a whole number of seconds, at least 1`)
  }
  if (Option.isNone(flags.metricsAddr)) return Either.right(flags)
  return Either.match(ListenAddress.parse(flags.metricsAddr.value), {
    onLeft: (error) => Either.left(`invalid --metrics-addr: ${error.message}`),
    onRight: (address) => Either.right({ ...flags, metricsAddr: Option.some(ListenAddress.format(address)) })
  })
}

/** `monitor --install` / `monitor install`: installs this very program with these flags. */
export const installService = (flags: InstallFlags): Effect.Effect<void, never, NodeServices> =>
  withInstaller(Effect.gen(function*() {
    const checked = checkFlags(flags)
    // A bad flag is a usage error (exit 2), as the same flag given to `a3s-box monitor` is.
    if (Either.isLeft(checked)) return yield* Effect.as(Console.error(`Error: ${checked.left}`), Outcome.EXIT_USAGE)
    const program = yield* Effect.either(ServiceInstaller.currentProgram)
    if (Either.isLeft(program)) return yield* Outcome.failure(program.left)
    return yield* runInstall({
      program: program.right,
      home: yield* Home.home,
      intervalSecs: checked.right.intervalSecs,
      metricsAddr: checked.right.metricsAddr,
      ...(flags.extraArgs === undefined ? {} : { extraArgs: flags.extraArgs }),
      linger: checked.right.linger
    })
  }))

/** `monitor --uninstall` / `monitor uninstall`. */
export const uninstallService: Effect.Effect<void, never, NodeServices> = withInstaller(runUninstall)

/** `monitor status`: the service, and the home's heartbeat (a monitor started by hand shows too). */
export const serviceStatus = (format: "text" | "json"): Effect.Effect<void, never, NodeServices> =>
  withInstaller(Effect.gen(function*() {
    const home = yield* Home.home
    return yield* runStatus(format, home, yield* seeMonitor(home))
  }))

/** A usage error of our own flags: printed like @effect/cli's, exit 2. */
const usageError = (message: string) => Outcome.usageError(`Error: ${message}`)

// ---------------------------------------------------------------------------------------------
// For the monitor command

/** The flags `a3s-box monitor` takes for the service: `--install`, `--uninstall`, `--linger`. */
export const monitorServiceOptions = {
  install: Options.boolean("install").pipe(
    Options.withDescription("Install the monitor as a per-user service (systemd --user / launchd) with these flags, and start it.")
  ),
  uninstall: Options.boolean("uninstall").pipe(
    Options.withDescription("Stop and remove the per-user service installed by --install.")
  ),
  linger: Options.boolean("linger").pipe(
    Options.withDescription("With --install on Linux: also run `loginctl enable-linger` so the service runs while you are logged out.")
  )
}

/**
 * What `a3s-box monitor` does with `--install`/`--uninstall`: Some(effect) when either is given
 * (the monitor itself must then not run), None otherwise.
 */
export const monitorServiceAction = (flags: {
  readonly install: boolean
  readonly uninstall: boolean
  readonly linger: boolean
  readonly intervalSecs: number
  readonly metricsAddr: Option.Option<string>
  readonly extraArgs?: ReadonlyArray<string>
}): Option.Option<Effect.Effect<void, never, NodeServices>> => {
  if (flags.install && flags.uninstall) {
    return Option.some(usageError("--install and --uninstall cannot be used together: give one of them"))
  }
  if (flags.install) return Option.some(installService(flags))
  if (flags.linger) return Option.some(usageError("--linger only applies to --install"))
  if (flags.uninstall) return Option.some(uninstallService)
  return Option.none()
}

/** What the `install` subcommand inherits from `a3s-box monitor [--interval N] [--metrics-addr A]`. */
export interface ParentFlags {
  readonly intervalSecs: number
  readonly metricsAddr: Option.Option<string>
  readonly extraArgs?: ReadonlyArray<string>
  readonly linger?: boolean
}

/**
 * The `install`, `uninstall` and `status` subcommands of `a3s-box monitor`. `parentFlags` reads
 * the monitor command's parsed options (a subcommand handler can `yield*` its parent command);
 * flags given to `install` itself win over the parent's.
 */
export const serviceSubcommands = <R>(parentFlags: Effect.Effect<ParentFlags, never, R>) => {
  const install = Command.make(
    "install",
    {
      interval: Options.integer("interval").pipe(
        Options.optional,
        Options.withDescription("Poll interval in seconds for the installed monitor (default: the monitor's, 5).")
      ),
      metricsAddr: Options.text("metrics-addr").pipe(
        Options.optional,
        Options.withDescription("HOST:PORT the installed monitor serves /healthz and /metrics on (default: off).")
      ),
      linger: monitorServiceOptions.linger
    },
    (options) =>
      Effect.gen(function*() {
        const parent = yield* parentFlags
        yield* installService({
          intervalSecs: Option.getOrElse(options.interval, () => parent.intervalSecs),
          metricsAddr: Option.orElse(options.metricsAddr, () => parent.metricsAddr),
          ...(parent.extraArgs === undefined ? {} : { extraArgs: parent.extraArgs }),
          linger: options.linger || parent.linger === true
        })
      })
  ).pipe(Command.withDescription("Install the monitor as a per-user service (same as `monitor --install`)."))

  const uninstall = Command.make("uninstall", {}, () => uninstallService).pipe(
    Command.withDescription("Stop and remove the per-user monitor service (same as `monitor --uninstall`).")
  )

  const status = Command.make(
    "status",
    {
      format: Options.choice("format", ["text", "json"]).pipe(
        Options.withDefault("text" as const),
        Options.withDescription("Output format: text (default) or json.")
      )
    },
    ({ format }) => serviceStatus(format)
  ).pipe(
    Command.withDescription(
      "Show whether the monitor service is installed, what it runs, what the service manager and /healthz say."
    )
  )

  return [install, uninstall, status] as const
}
