/**
 * `a3s-box monitor --install/--uninstall` and `a3s-box monitor install|uninstall|status` (SPEC §9):
 * the command-line face of the ServiceInstaller. The `run*` functions return the exit code so
 * tests can check output and code without touching the process.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ListenAddress from "../metrics/ListenAddress.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import { commandLine, describeFailure, shellWord } from "../service/Errors.js"
import * as ServiceInstaller from "../service/ServiceInstaller.js"
import * as Units from "../service/Units.js"
import * as Home from "../state/Home.js"

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

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

/** A failure on one line (stderr lines joined), for a status row. */
const oneLine = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ")

const errorLines = (message: string) =>
  Effect.forEach(message.split("\n"), (line, i) => Console.error(i === 0 ? `Error: ${line}` : line), { discard: true })

/** Prints an expected error (`Error: ...` on stderr) and gives exit code 1. */
const failWith = (error: { readonly message: string }) => Effect.as(errorLines(error.message), EXIT_FAILURE)

const managerName = (manager: "systemd" | "launchd") => (manager === "systemd" ? "systemd --user" : "launchd")

/**
 * The command that re-installs a unit with the same monitor flags, as a user types it: the
 * unit's arguments after `monitor`, and `A3S_HOME=...` when the unit's home is not the one here.
 */
export const reinstallCommand = (
  argv: ReadonlyArray<string>,
  home: Option.Option<string>,
  currentHome: string
): string => {
  const monitorAt = argv.indexOf("monitor")
  // `--standby` is in every unit an install writes (see `carriedMonitorArgs`): not a flag to type.
  const flags = monitorAt < 0 ? [] : argv.slice(monitorAt + 1).filter((arg) => arg !== "--standby")
  const line = ["a3s-box", "monitor", "--install", ...flags].map(shellWord).join(" ")
  return Option.isSome(home) && home.value !== currentHome ? `A3S_HOME=${shellWord(home.value)} ${line}` : line
}

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
        return EXIT_OK
      }
      return yield* failWith(error)
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
    return EXIT_OK
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
      return EXIT_OK
    }
    return yield* failWith(error)
  }
  const outcome = result.right
  if (outcome._tag === "NotInstalled") {
    yield* Console.log(`No a3s-box monitor service is installed (no ${outcome.unitPath}); nothing to do.`)
    return EXIT_OK
  }
  const [first, ...rest] = outcome.commands
  if (first !== undefined) yield* Console.log(`Ran ${commandLine(first)}`)
  yield* Console.log(`Removed ${outcome.unitPath}`)
  for (const argv of rest) yield* Console.log(`Ran ${commandLine(argv)}`)
  yield* Console.log("The a3s-box monitor service is uninstalled.")
  return EXIT_OK
})

// ---------------------------------------------------------------------------------------------
// status

/**
 * What the home's heartbeat file says (SPEC §11): whether a monitor supervises the home,
 * whether the service started it or someone did by hand.
 */
export interface MonitorSeen {
  readonly verdict: Heartbeat.Verdict
  readonly now: number
  readonly file: string
}

/** Reads `<home>/monitor.json` now. Never fails. */
export const seeMonitor = (home: string): Effect.Effect<MonitorSeen, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const verdict = yield* Heartbeat.inspect(home)
    return { verdict, now: yield* Clock.currentTimeMillis, file: Heartbeat.heartbeatPath(home) }
  })

/** The status as JSON (snake_case, like the state file); `monitor` when the heartbeat was read. */
export const statusJson = (status: ServiceInstaller.ServiceStatus, currentHome: string, monitor?: MonitorSeen) => {
  const unit = Option.getOrNull(status.unit)
  const d = unit === null ? null : Option.getOrNull(unit.description)
  const value = <A>(o: Option.Option<A> | undefined) => (o === undefined ? null : Option.getOrNull(o))
  const state = status.managerState
  const health = status.health
  const stale = unit !== null && unit.missing.length > 0
  return {
    manager: status.manager,
    unit_path: status.unitPath,
    installed: unit !== null,
    unit: unit === null ? null : {
      argv: unit.argv,
      understood: d !== null,
      recognized: d?.recognized ?? false,
      node: value(d?.node),
      script: value(d?.script),
      interval_secs: value(d?.intervalSecs),
      metrics_addr: value(d?.metricsAddr),
      home: value(d?.home)
    },
    stale,
    missing: unit?.missing ?? [],
    fix: stale && d !== null ? reinstallCommand(unit.argv, d.home, currentHome) : null,
    home_in_effect: currentHome,
    enabled_on_disk: Option.getOrNull(status.enabledOnDisk),
    service_manager: state._tag === "Known"
      ? {
        available: true,
        enabled: state.enabled,
        active: state.active,
        sub_state: state.sub,
        main_pid: Option.getOrNull(state.mainPid),
        restarts: Option.getOrNull(state.restarts),
        last_exit_status: Option.getOrNull(state.lastExitStatus)
      }
      : { available: false, error: oneLine(describeFailure(state.failed)) },
    health: health._tag === "Answered"
      ? {
        probed: true,
        reachable: true,
        url: health.url,
        status: health.status,
        body: health.body,
        seconds_since_last_poll: Option.getOrNull(health.secondsSinceLastPoll)
      }
      : health._tag === "Unreachable"
      ? { probed: true, reachable: false, url: health.url, error: health.reason }
      : { probed: false, reason: health.reason },
    ...(monitor === undefined ? {} : { monitor: Heartbeat.toJson(monitor.verdict, monitor.now, monitor.file) })
  }
}

const seconds = (s: number) => `${Number.isInteger(s) ? s : s.toFixed(1)}s`

/** The status as lines for a human. */
export const statusText = (
  status: ServiceInstaller.ServiceStatus,
  currentHome: string,
  monitor?: MonitorSeen
): ReadonlyArray<string> => {
  const lines: Array<string> = [`a3s-box monitor service (${managerName(status.manager)})`]
  const row = (label: string, text: string) => lines.push(`  ${`${label}:`.padEnd(10)}${text}`)
  const more = (text: string) => lines.push(`  ${" ".repeat(10)}${text}`)
  if (Option.isNone(status.unit)) {
    row("unit", `not installed (no ${status.unitPath})`)
  } else {
    const unit = status.unit.value
    row("unit", status.unitPath)
    if (Option.isNone(unit.description)) {
      row("runs", "cannot tell: the unit has no command line this tool can read (edited by hand?)")
    } else {
      const d = unit.description.value
      row("runs", commandLine(unit.argv))
      if (!d.recognized) more("(not the `NODE SCRIPT monitor ...` command line --install writes)")
      row("interval", Option.match(d.intervalSecs, { onNone: () => "unknown", onSome: (n) => `${n}s` }))
      row("metrics", Option.getOrElse(d.metricsAddr, () => "off"))
      row("home", Option.getOrElse(d.home, () => "not set (the service's ~/.a3s)"))
      if (Option.isSome(d.home) && d.home.value !== currentHome) {
        more(`note: A3S_HOME here is ${currentHome}; this service supervises the boxes of ${d.home.value}`)
      }
      for (const m of unit.missing) {
        row("STALE", `the ${m.what} ${m.path} no longer exists: the service cannot start.`)
      }
      if (unit.missing.length > 0) {
        more(`Fix: re-run the install with the a3s-box and Node you use now: ${reinstallCommand(unit.argv, d.home, currentHome)}`)
      }
    }
  }
  const state = status.managerState
  if (state._tag === "Unavailable") {
    row("service", `unknown: could not ask ${status.manager}: ${oneLine(describeFailure(state.failed))}`)
    if (Option.isSome(status.enabledOnDisk)) more(`enabled on disk: ${status.enabledOnDisk.value ? "yes" : "no"}`)
  } else {
    const parts = [state.enabled, state.sub === "" ? state.active : `${state.active} (${state.sub})`]
    if (Option.isSome(state.mainPid)) parts.push(`main pid ${state.mainPid.value}`)
    if (Option.isSome(state.restarts)) parts.push(`${state.restarts.value} restarts`)
    if (Option.isSome(state.lastExitStatus)) parts.push(`last exit status ${state.lastExitStatus.value}`)
    row("service", parts.join(", "))
  }
  const health = status.health
  switch (health._tag) {
    case "Answered": {
      const verdict = health.status === 200 ? "ok" : health.body === "" ? `HTTP ${health.status}` : health.body
      const age = Option.match(health.secondsSinceLastPoll, {
        onNone: () => "",
        onSome: (s) => `; last poll ${seconds(s)} ago`
      })
      row("health", `${verdict} (${health.url} answered ${health.status})${age}`)
      break
    }
    case "Unreachable":
      row("health", `no answer from ${health.url}: ${health.reason}`)
      break
    case "NotProbed":
      if (Option.isSome(status.unit)) row("health", `not probed: ${health.reason}`)
      break
  }
  if (monitor !== undefined) {
    // The monitor of this home, whoever started it (SPEC §11).
    row("monitor", Heartbeat.describe(monitor.verdict, monitor.now, monitor.file))
    const pid = monitor.verdict._tag === "NotRunning" ? null : monitor.verdict.heartbeat.pid
    if (pid !== null && state._tag === "Known" && Option.isSome(state.mainPid) && state.mainPid.value !== pid) {
      more(`not the service's process (its main pid is ${state.mainPid.value}): started by hand or by another tool`)
    }
  }
  if (Option.isNone(status.unit)) lines.push("Install it with: a3s-box monitor --install")
  return lines
}

export const runStatus = (
  format: "text" | "json",
  currentHome: string,
  monitor?: MonitorSeen
): Effect.Effect<number, never, ServiceInstaller.ServiceInstaller> =>
  Effect.gen(function*() {
    const installer = yield* ServiceInstaller.ServiceInstaller
    const result = yield* Effect.either(installer.status)
    if (Either.isLeft(result)) return yield* failWith(result.left)
    if (format === "json") {
      yield* Console.log(JSON.stringify(statusJson(result.right, currentHome, monitor), null, 2))
    } else {
      yield* Effect.forEach(statusText(result.right, currentHome, monitor), (line) => Console.log(line), { discard: true })
    }
    return EXIT_OK
  })

// ---------------------------------------------------------------------------------------------
// Wiring into the process: program, home, the Node installer, the exit code

/** What the service commands need from the CLI (they bring their own command executor). */
type NodeServices = FileSystem.FileSystem

const setExitCode = (code: number) =>
  code === EXIT_OK ? Effect.void : Effect.sync(() => { process.exitCode = code })

/** The installer, on a command executor loaded only here (the rest of the CLI runs no programs). */
const withInstaller = <R>(self: Effect.Effect<number, never, R | ServiceInstaller.ServiceInstaller>) =>
  Effect.flatMap(Effect.promise(() => import("@effect/platform-node/NodeCommandExecutor")), (NodeCommandExecutor) =>
    self.pipe(
      Effect.provide(ServiceInstaller.layerNode),
      Effect.provide(NodeCommandExecutor.layer),
      Effect.flatMap(setExitCode)
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
 * differ from the monitor's defaults: `--log-format text`, `--liveness-tick 100`, no per-box metrics),
 * and always `--standby`: a service that finds a monitor started by hand on its home waits and takes
 * over when that one exits, rather than exiting 1 every RestartSec until the service manager's start
 * limit gives up on it (which would leave the boxes unsupervised once the hand-started one is gone).
 */
export const carriedMonitorArgs = (flags: {
  readonly logFormat?: string
  readonly livenessTick?: number
  readonly metricsPerBox?: boolean
  readonly standby?: boolean
}): ReadonlyArray<string> => [
  ...(flags.logFormat !== undefined && flags.logFormat !== "text" ? ["--log-format", flags.logFormat] : []),
  ...(flags.livenessTick !== undefined && flags.livenessTick !== 100 ? ["--liveness-tick", String(flags.livenessTick)] : []),
  ...(flags.metricsPerBox === true ? ["--metrics-per-box"] : []),
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
    if (Either.isLeft(checked)) return yield* Effect.as(Console.error(`Error: ${checked.left}`), EXIT_USAGE)
    const program = yield* Effect.either(ServiceInstaller.currentProgram)
    if (Either.isLeft(program)) return yield* failWith(program.left)
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
const usageError = (message: string) =>
  Effect.zipRight(Console.error(`Error: ${message}`), setExitCode(EXIT_USAGE))

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
