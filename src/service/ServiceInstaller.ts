/**
 * Installs `a3s-box monitor` as a per-user service (SPEC §9): a systemd `--user` unit on Linux, a
 * launchd LaunchAgent on macOS. Files go through `FileSystem`; `systemctl`, `launchctl` and
 * `loginctl` through `CommandExecutor`; the status probe of `/healthz` through `HttpClient`, so
 * tests swap each of them.
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ensureDirectories } from "../platform/Directories.js"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as ListenAddress from "../metrics/ListenAddress.js"
import {
  type CommandFailure,
  commandLine,
  type FailedCommand,
  type InstallError,
  ProgramNotResolvable,
  type ServiceManager,
  ServiceManagerUnavailable,
  type StatusError,
  type UninstallError,
  UnitReadFailed,
  UnitRemoveFailed,
  UnitWriteFailed,
  type UnrenderablePath,
  UnsupportedPlatform
} from "./Errors.js"
import * as Units from "./Units.js"

// ---------------------------------------------------------------------------------------------
// Model

/** Where the installer runs: the OS and the user's directories. */
export interface InstallerEnvironment {
  /** `process.platform`: `linux` → systemd, `darwin` → launchd, anything else is unsupported. */
  readonly platform: string
  /** The user's home directory (`~`). */
  readonly homeDir: string
  /** `$XDG_CONFIG_HOME` (Linux), if set. */
  readonly xdgConfigHome: Option.Option<string>
  /** The user name, for `loginctl enable-linger`. */
  readonly user: string
}

export interface InstallOptions {
  /** Also run `loginctl enable-linger USER` (Linux) so the service outlives the user's sessions. */
  readonly linger?: boolean
}

/** What `loginctl enable-linger` did. */
export type LingerOutcome =
  | { readonly _tag: "Enabled"; readonly argv: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly failed: FailedCommand }
  | { readonly _tag: "NotApplicable"; readonly reason: string }

export interface InstallOutcome {
  readonly manager: ServiceManager
  readonly unitPath: string
  /** A unit was installed before and has been replaced (and the service restarted). */
  readonly replaced: boolean
  /** The service-manager commands run, in order; all succeeded. */
  readonly commands: ReadonlyArray<ReadonlyArray<string>>
  readonly linger: Option.Option<LingerOutcome>
}

export type UninstallOutcome =
  | { readonly _tag: "NotInstalled"; readonly manager: ServiceManager; readonly unitPath: string }
  | {
    readonly _tag: "Removed"
    readonly manager: ServiceManager
    readonly unitPath: string
    readonly commands: ReadonlyArray<ReadonlyArray<string>>
  }

/** What the service manager says about the service, or why it could not be asked. */
export type ManagerState =
  | {
    readonly _tag: "Known"
    /** systemd: `UnitFileState` (enabled, disabled, ...); launchd: loaded or not. */
    readonly enabled: string
    /** systemd: `ActiveState` (active, inactive, failed, activating, ...); launchd: running or not. */
    readonly active: string
    /** systemd: `SubState` (running, auto-restart, dead, ...); launchd: "" */
    readonly sub: string
    readonly mainPid: Option.Option<number>
    /** systemd: `NRestarts`; launchd: none. */
    readonly restarts: Option.Option<number>
    /** launchd: `LastExitStatus`. */
    readonly lastExitStatus: Option.Option<number>
  }
  | { readonly _tag: "Unavailable"; readonly failed: FailedCommand }

/** What the monitor's `/healthz` (and `/metrics`) say, when the unit configures a metrics address. */
export type HealthProbe =
  | {
    readonly _tag: "Answered"
    readonly url: string
    readonly status: number
    /** The `/healthz` body, trimmed (`ok`, or how stale the poll loop is). */
    readonly body: string
    /** `a3s_box_monitor_seconds_since_last_poll` from `/metrics`, when it could be read. */
    readonly secondsSinceLastPoll: Option.Option<number>
  }
  | { readonly _tag: "Unreachable"; readonly url: string; readonly reason: string }
  | { readonly _tag: "NotProbed"; readonly reason: string }

/** One path an installed unit starts that no longer exists. */
export interface MissingPath {
  readonly what: "Node binary" | "entry script"
  readonly path: string
}

export interface ServiceStatus {
  readonly manager: ServiceManager
  readonly unitPath: string
  /** None: no unit file. */
  readonly unit: Option.Option<{
    /** The unit's program and settings; None when its command line could not be read back. */
    readonly description: Option.Option<Units.UnitDescription>
    readonly argv: ReadonlyArray<string>
    /** Paths the unit starts that are gone: the unit is stale and must be re-installed. */
    readonly missing: ReadonlyArray<MissingPath>
  }>
  /** systemd only: the enable symlink exists on disk (true even when the manager cannot be asked). */
  readonly enabledOnDisk: Option.Option<boolean>
  readonly managerState: ManagerState
  readonly health: HealthProbe
  // The heartbeat of SPEC §11 (<home>/monitor.json: pid, interval, last completed cycle) belongs
  // here, read with the unit's home, once the one-monitor-per-home issue adds that file.
}

export interface ServiceInstallerShape {
  /** The service manager of this platform; None on other platforms (every operation then fails). */
  readonly manager: Option.Option<ServiceManager>
  /** Where the unit file goes (empty on unsupported platforms). */
  readonly unitPath: string
  /** The exact commands a user runs by hand to finish a fresh install. */
  readonly manualInstallCommand: string
  /** Writes the unit (replacing one that is there), then enables and (re)starts the service. */
  readonly install: (spec: Units.ServiceSpec, options?: InstallOptions) => Effect.Effect<InstallOutcome, InstallError>
  /** Stops and disables the service, then removes the unit. Nothing installed is an outcome, not an error. */
  readonly uninstall: Effect.Effect<UninstallOutcome, UninstallError>
  /** Whether a unit is installed, what it runs, what the service manager and `/healthz` say. */
  readonly status: Effect.Effect<ServiceStatus, StatusError>
}

/** Installs, removes and inspects the monitor's per-user service. */
export class ServiceInstaller extends Context.Tag("a3s-box/ServiceInstaller")<ServiceInstaller, ServiceInstallerShape>() {}

// ---------------------------------------------------------------------------------------------
// Paths

/** The directory systemd --user reads user units from: `$XDG_CONFIG_HOME/systemd/user`, default `~/.config/...`. */
export const systemdUnitDir = (env: InstallerEnvironment): string => {
  const config = Option.filter(env.xdgConfigHome, (dir) => dir !== "" && path.isAbsolute(dir))
  return path.join(Option.getOrElse(config, () => path.join(env.homeDir, ".config")), "systemd", "user")
}
export const systemdUnitPath = (env: InstallerEnvironment): string => path.join(systemdUnitDir(env), Units.UNIT_NAME)
/** The symlink `systemctl --user enable` creates (from `WantedBy=default.target`). */
export const systemdWantsLink = (env: InstallerEnvironment): string =>
  path.join(systemdUnitDir(env), "default.target.wants", Units.UNIT_NAME)
export const launchdPlistPath = (env: InstallerEnvironment): string =>
  path.join(env.homeDir, "Library", "LaunchAgents", `${Units.LAUNCHD_LABEL}.plist`)

// ---------------------------------------------------------------------------------------------
// Running a service-manager command

/** How long one `systemctl`/`launchctl`/`loginctl` may take before it counts as failed. */
export const COMMAND_TIMEOUT_SECONDS = 30

export interface CommandOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const collect = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>) =>
  stream.pipe(Stream.decodeText(), Stream.mkString)

/** Runs a command to completion; a missing binary, a spawn error or a timeout is a `CommandFailure`. */
export const runCommand = (
  argv: ReadonlyArray<string>
): Effect.Effect<Either.Either<CommandOutput, CommandFailure>, never, CommandExecutor.CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function*() {
      const process = yield* Command.start(Command.make(argv[0]!, ...argv.slice(1)))
      const [stdout, stderr, exitCode] = yield* Effect.all(
        [collect(process.stdout), collect(process.stderr), process.exitCode],
        { concurrency: "unbounded" }
      )
      return { exitCode: Number(exitCode), stdout, stderr }
    })
  ).pipe(
    Effect.timeoutFail({
      duration: Duration.seconds(COMMAND_TIMEOUT_SECONDS),
      onTimeout: (): CommandFailure => ({ _tag: "TimedOut", seconds: COMMAND_TIMEOUT_SECONDS })
    }),
    Effect.mapError((error): CommandFailure =>
      "_tag" in error && error._tag === "TimedOut"
        ? error
        : error._tag === "SystemError" && error.reason === "NotFound"
        ? { _tag: "NotFound" }
        : { _tag: "SpawnFailed", detail: "message" in error ? String(error.message) : String(error) }
    ),
    Effect.either
  )

/** Runs a command; a non-zero exit counts as a failure too. */
const runChecked = (
  argv: ReadonlyArray<string>
): Effect.Effect<Either.Either<CommandOutput, FailedCommand>, never, CommandExecutor.CommandExecutor> =>
  Effect.map(
    runCommand(argv),
    Either.match({
      onLeft: (failure) => Either.left({ argv, failure }),
      onRight: (out) =>
        out.exitCode === 0
          ? Either.right(out)
          : Either.left({ argv, failure: { _tag: "ExitCode", exitCode: out.exitCode, stderr: out.stderr } })
    })
  )

// ---------------------------------------------------------------------------------------------
// The systemd and launchd commands

const SYSTEMCTL = ["systemctl", "--user"] as const
export const systemdCommands = {
  daemonReload: [...SYSTEMCTL, "daemon-reload"],
  enableNow: [...SYSTEMCTL, "enable", "--now", Units.UNIT_NAME],
  enable: [...SYSTEMCTL, "enable", Units.UNIT_NAME],
  restart: [...SYSTEMCTL, "restart", Units.UNIT_NAME],
  disableNow: [...SYSTEMCTL, "disable", "--now", Units.UNIT_NAME],
  stop: [...SYSTEMCTL, "stop", Units.UNIT_NAME],
  show: [
    ...SYSTEMCTL,
    "show",
    Units.UNIT_NAME,
    "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts"
  ]
} as const

export const launchdCommands = {
  load: (plist: string) => ["launchctl", "load", "-w", plist],
  unload: (plist: string) => ["launchctl", "unload", plist],
  list: ["launchctl", "list", Units.LAUNCHD_LABEL],
  remove: ["launchctl", "remove", Units.LAUNCHD_LABEL]
} as const

const andThen = (...commands: ReadonlyArray<ReadonlyArray<string>>): string =>
  commands.map(commandLine).join(" && ")

/** The manual command that finishes a fresh systemd install. */
export const SYSTEMD_MANUAL_INSTALL = andThen(systemdCommands.daemonReload, systemdCommands.enableNow)
/** ... and a re-install: `enable --now` would not restart a running service with the old flags. */
export const SYSTEMD_MANUAL_REINSTALL = andThen(
  systemdCommands.daemonReload,
  systemdCommands.enable,
  systemdCommands.restart
)
export const SYSTEMD_MANUAL_UNINSTALL = `${commandLine(systemdCommands.stop)}; ${commandLine(systemdCommands.daemonReload)}`

// ---------------------------------------------------------------------------------------------
// Shared effects

/** Writes a file atomically (temp file + rename), creating its directory. */
const writeAtomically = (fs: FileSystem.FileSystem, file: string, content: string) =>
  Effect.gen(function*() {
    yield* ensureDirectories(path.dirname(file))
    const temp = `${file}.tmp-${process.pid}`
    yield* fs.writeFileString(temp, content).pipe(
      Effect.zipRight(fs.rename(temp, file)),
      Effect.tapError(() => Effect.ignore(fs.remove(temp)))
    )
  }).pipe(Effect.mapError((cause) => new UnitWriteFailed({ path: file, cause })))

/** The file's text; None when it does not exist. */
const readIfExists = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.map(Option.some),
    Effect.catchIf(
      (error) => error._tag === "SystemError" && error.reason === "NotFound",
      () => Effect.succeedNone
    ),
    Effect.mapError((cause) => new UnitReadFailed({ path: file, cause }))
  )

const isSymlink = (fs: FileSystem.FileSystem, link: string) =>
  fs.readLink(link).pipe(Effect.as(true), Effect.orElseSucceed(() => false))

const missingPaths = (fs: FileSystem.FileSystem, description: Units.UnitDescription) =>
  Effect.gen(function*() {
    const missing: Array<MissingPath> = []
    const check = [
      ["Node binary", description.node],
      ["entry script", description.script]
    ] as const
    for (const [what, p] of check) {
      if (Option.isSome(p) && !(yield* fs.exists(p.value).pipe(Effect.orElseSucceed(() => false)))) {
        missing.push({ what, path: p.value })
      }
    }
    return missing
  })

/** The URL the status probe uses for a listen address (wildcards are asked on loopback). */
export const probeBase = (metricsAddr: string): Either.Either<string, string> =>
  Either.match(ListenAddress.parse(metricsAddr), {
    onLeft: (error) => Either.left(error.message),
    onRight: (address) => {
      if (address.port === 0) {
        return Either.left("the unit listens on port 0 (a free port chosen at start), which cannot be found from here")
      }
      const host = address.host === "0.0.0.0" ? "127.0.0.1" : address.host === "::" ? "::1" : address.host
      return Either.right(`http://${ListenAddress.format({ host, port: address.port })}`)
    }
  })

/** `a3s_box_monitor_seconds_since_last_poll` out of a Prometheus exposition. */
export const secondsSinceLastPoll = (exposition: string): Option.Option<number> => {
  const m = /^a3s_box_monitor_seconds_since_last_poll(?:\{[^}]*\})?\s+(\S+)/m.exec(exposition)
  if (m === null) return Option.none()
  const n = Number(m[1])
  return Number.isFinite(n) ? Option.some(n) : Option.none()
}

/** How long one status probe request may take. */
export const PROBE_TIMEOUT = Duration.seconds(2)

const probeHealth = (client: HttpClient.HttpClient, metricsAddr: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isNone(metricsAddr)) {
      return { _tag: "NotProbed", reason: "the unit sets no --metrics-addr" } satisfies HealthProbe
    }
    const base = probeBase(metricsAddr.value)
    if (Either.isLeft(base)) return { _tag: "NotProbed", reason: base.left } satisfies HealthProbe
    const url = `${base.right}/healthz`
    const get = (u: string) =>
      client.get(u).pipe(
        Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
        Effect.scoped,
        Effect.mapError((error) =>
          error._tag === "RequestError" && error.description !== undefined ? error.description : error.message
        ),
        Effect.timeoutFail({ duration: PROBE_TIMEOUT, onTimeout: () => `no answer within ${Duration.format(PROBE_TIMEOUT)}` })
      )
    const healthz = yield* Effect.either(get(url))
    if (Either.isLeft(healthz)) {
      return { _tag: "Unreachable", url, reason: healthz.left } satisfies HealthProbe
    }
    const metrics = yield* Effect.option(get(`${base.right}/metrics`))
    return {
      _tag: "Answered",
      url,
      status: healthz.right.status,
      body: healthz.right.text.trim(),
      secondsSinceLastPoll: Option.flatMap(metrics, (m) => m.status === 200 ? secondsSinceLastPoll(m.text) : Option.none())
    } satisfies HealthProbe
  })

// ---------------------------------------------------------------------------------------------
// systemd

const makeSystemd = (
  env: InstallerEnvironment,
  fs: FileSystem.FileSystem,
  executor: CommandExecutor.CommandExecutor,
  client: HttpClient.HttpClient
): ServiceInstallerShape => {
  const unitPath = systemdUnitPath(env)
  const wantsLink = systemdWantsLink(env)
  const run = (argv: ReadonlyArray<string>) =>
    Effect.provideService(runChecked(argv), CommandExecutor.CommandExecutor, executor)

  const linger = (options: InstallOptions | undefined) =>
    Effect.gen(function*() {
      if (options?.linger !== true) return Option.none<LingerOutcome>()
      const argv = ["loginctl", "enable-linger", env.user]
      const result = yield* run(argv)
      return Option.some<LingerOutcome>(
        Either.isRight(result) ? { _tag: "Enabled", argv } : { _tag: "Failed", failed: result.left }
      )
    })

  const install = (spec: Units.ServiceSpec, options?: InstallOptions) =>
    Effect.gen(function*() {
      const content = yield* Either.match(Units.systemdUnit(spec), {
        onLeft: (error) => Effect.fail<UnrenderablePath>(error),
        onRight: Effect.succeed
      })
      const replaced = Option.isSome(yield* readIfExists(fs, unitPath).pipe(Effect.orElseSucceed(() => Option.none())))
      yield* writeAtomically(fs, unitPath, content)
      const steps = replaced
        ? [systemdCommands.daemonReload, systemdCommands.enable, systemdCommands.restart]
        : [systemdCommands.daemonReload, systemdCommands.enableNow]
      const done: Array<ReadonlyArray<string>> = []
      for (const argv of steps) {
        const result = yield* run(argv)
        if (Either.isLeft(result)) {
          return yield* new ServiceManagerUnavailable({
            manager: "systemd",
            operation: "install",
            unitPath,
            failed: result.left,
            // `enable --now` creates the symlink before it fails to reach the manager.
            enabled: yield* isSymlink(fs, wantsLink),
            manualCommand: replaced ? SYSTEMD_MANUAL_REINSTALL : SYSTEMD_MANUAL_INSTALL
          })
        }
        done.push(argv)
      }
      return {
        manager: "systemd",
        unitPath,
        replaced,
        commands: done,
        linger: yield* linger(options)
      } satisfies InstallOutcome
    })

  const uninstall = Effect.gen(function*() {
    const present = yield* fs.exists(unitPath).pipe(Effect.orElseSucceed(() => false))
    if (!present) {
      // A dangling enable symlink left behind by hand-removal is ours by name: tidy it.
      if (yield* isSymlink(fs, wantsLink)) yield* Effect.ignore(fs.remove(wantsLink))
      return { _tag: "NotInstalled", manager: "systemd", unitPath } satisfies UninstallOutcome
    }
    const done: Array<ReadonlyArray<string>> = []
    const disabled = yield* run(systemdCommands.disableNow)
    if (Either.isRight(disabled)) done.push(systemdCommands.disableNow)
    // disable could not run at all (no systemctl): remove the enable symlink ourselves.
    if (yield* isSymlink(fs, wantsLink)) {
      yield* fs.remove(wantsLink).pipe(Effect.mapError((cause) => new UnitRemoveFailed({ path: wantsLink, cause })))
    }
    yield* fs.remove(unitPath).pipe(Effect.mapError((cause) => new UnitRemoveFailed({ path: unitPath, cause })))
    const failure = Either.isLeft(disabled)
      ? Option.some(disabled.left)
      : yield* Effect.map(run(systemdCommands.daemonReload), (reloaded) => {
        if (Either.isLeft(reloaded)) return Option.some(reloaded.left)
        done.push(systemdCommands.daemonReload)
        return Option.none<FailedCommand>()
      })
    if (Option.isSome(failure)) {
      return yield* new ServiceManagerUnavailable({
        manager: "systemd",
        operation: "uninstall",
        unitPath,
        failed: failure.value,
        enabled: false,
        manualCommand: SYSTEMD_MANUAL_UNINSTALL
      })
    }
    return { _tag: "Removed", manager: "systemd", unitPath, commands: done } satisfies UninstallOutcome
  })

  const status = Effect.gen(function*() {
    const text = yield* readIfExists(fs, unitPath)
    const unit = Option.map(text, (t) => Units.parseSystemdUnit(t))
    const description = Option.map(Option.flatten(unit), Units.describeUnit)
    const missing = Option.isSome(description) ? yield* missingPaths(fs, description.value) : []
    const shown = yield* run(systemdCommands.show)
    const managerState: ManagerState = Either.match(shown, {
      onLeft: (failed) => ({ _tag: "Unavailable", failed }),
      onRight: (out) => parseSystemdShow(out.stdout)
    })
    return {
      manager: "systemd",
      unitPath,
      unit: Option.map(text, () => ({
        description,
        argv: Option.match(Option.flatten(unit), { onNone: () => [], onSome: (u) => u.argv }),
        missing
      })),
      enabledOnDisk: Option.some(yield* isSymlink(fs, wantsLink)),
      managerState,
      health: yield* probeHealth(client, Option.flatMap(description, (d) => d.metricsAddr))
    } satisfies ServiceStatus
  })

  return {
    manager: Option.some("systemd"),
    unitPath,
    manualInstallCommand: SYSTEMD_MANUAL_INSTALL,
    install,
    uninstall,
    status
  }
}

/** Reads `systemctl show -p ...` output (`Key=Value` lines). */
export const parseSystemdShow = (stdout: string): ManagerState => {
  const props: Record<string, string> = {}
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1).trim()
  }
  const num = (key: string) => {
    const v = props[key]
    return v !== undefined && /^\d+$/.test(v) ? Option.some(Number(v)) : Option.none()
  }
  const loaded = props["LoadState"] ?? ""
  return {
    _tag: "Known",
    enabled: loaded === "not-found" ? "not-found" : (props["UnitFileState"] || "unknown"),
    active: props["ActiveState"] ?? "unknown",
    sub: props["SubState"] ?? "",
    mainPid: Option.filter(num("MainPID"), (pid) => pid > 0),
    restarts: num("NRestarts"),
    lastExitStatus: Option.none()
  }
}

// ---------------------------------------------------------------------------------------------
// launchd

const makeLaunchd = (
  env: InstallerEnvironment,
  fs: FileSystem.FileSystem,
  executor: CommandExecutor.CommandExecutor,
  client: HttpClient.HttpClient
): ServiceInstallerShape => {
  const unitPath = launchdPlistPath(env)
  const run = (argv: ReadonlyArray<string>) =>
    Effect.provideService(runChecked(argv), CommandExecutor.CommandExecutor, executor)
  const load = launchdCommands.load(unitPath)
  const unload = launchdCommands.unload(unitPath)
  const manualInstallCommand = commandLine(load)

  const install = (spec: Units.ServiceSpec, options?: InstallOptions) =>
    Effect.gen(function*() {
      const content = yield* Either.match(Units.launchdPlist(spec), {
        onLeft: (error) => Effect.fail<UnrenderablePath>(error),
        onRight: Effect.succeed
      })
      const replaced = yield* fs.exists(unitPath).pipe(Effect.orElseSucceed(() => false))
      yield* writeAtomically(fs, unitPath, content)
      // launchd opens the log file but does not create its directory.
      yield* ensureDirectories(spec.home).pipe(
        Effect.mapError((cause) => new UnitWriteFailed({ path: spec.home, cause }))
      )
      const done: Array<ReadonlyArray<string>> = []
      // Unloading a job that is not loaded fails: that is expected and ignored.
      if (Either.isRight(yield* run(unload))) done.push(unload)
      const loaded = yield* run(load)
      // launchctl load reports some failures on stderr with exit status 0.
      const failed: Option.Option<FailedCommand> = Either.isLeft(loaded)
        ? Option.some(loaded.left)
        : /load failed|error/i.test(loaded.right.stderr)
        ? Option.some({ argv: load, failure: { _tag: "ExitCode", exitCode: 0, stderr: loaded.right.stderr } })
        : Option.none()
      if (Option.isSome(failed)) {
        return yield* new ServiceManagerUnavailable({
          manager: "launchd",
          operation: "install",
          unitPath,
          failed: failed.value,
          enabled: false,
          manualCommand: manualInstallCommand
        })
      }
      done.push(load)
      const lingerOutcome: Option.Option<LingerOutcome> = options?.linger === true
        ? Option.some({ _tag: "NotApplicable", reason: "launchd runs LaunchAgents only while you are logged in; there is no linger on macOS" })
        : Option.none()
      return { manager: "launchd", unitPath, replaced, commands: done, linger: lingerOutcome } satisfies InstallOutcome
    })

  const uninstall = Effect.gen(function*() {
    const present = yield* fs.exists(unitPath).pipe(Effect.orElseSucceed(() => false))
    if (!present) return { _tag: "NotInstalled", manager: "launchd", unitPath } satisfies UninstallOutcome
    const unloaded = yield* run(unload)
    yield* fs.remove(unitPath).pipe(Effect.mapError((cause) => new UnitRemoveFailed({ path: unitPath, cause })))
    if (Either.isLeft(unloaded)) {
      return yield* new ServiceManagerUnavailable({
        manager: "launchd",
        operation: "uninstall",
        unitPath,
        failed: unloaded.left,
        enabled: false,
        manualCommand: commandLine(launchdCommands.remove)
      })
    }
    return { _tag: "Removed", manager: "launchd", unitPath, commands: [unload] } satisfies UninstallOutcome
  })

  const status = Effect.gen(function*() {
    const text = yield* readIfExists(fs, unitPath)
    const unit = Option.map(text, (t) => Units.parseLaunchdPlist(t))
    const description = Option.map(Option.flatten(unit), Units.describeUnit)
    const missing = Option.isSome(description) ? yield* missingPaths(fs, description.value) : []
    const listed = yield* Effect.provideService(runCommand(launchdCommands.list), CommandExecutor.CommandExecutor, executor)
    const managerState: ManagerState = Either.match(listed, {
      onLeft: (failure) => ({ _tag: "Unavailable", failed: { argv: launchdCommands.list, failure } }),
      onRight: (out) => parseLaunchctlList(out)
    })
    return {
      manager: "launchd",
      unitPath,
      unit: Option.map(text, () => ({
        description,
        argv: Option.match(Option.flatten(unit), { onNone: () => [], onSome: (u) => u.argv }),
        missing
      })),
      enabledOnDisk: Option.none(),
      managerState,
      health: yield* probeHealth(client, Option.flatMap(description, (d) => d.metricsAddr))
    } satisfies ServiceStatus
  })

  return { manager: Option.some("launchd"), unitPath, manualInstallCommand, install, uninstall, status }
}

/** Reads `launchctl list LABEL`: exit 0 with a `"PID" = N;` line while loaded (and running). */
export const parseLaunchctlList = (out: CommandOutput): ManagerState => {
  if (out.exitCode !== 0) {
    return {
      _tag: "Known",
      enabled: "not loaded",
      active: "inactive",
      sub: "",
      mainPid: Option.none(),
      restarts: Option.none(),
      lastExitStatus: Option.none()
    }
  }
  const num = (key: string) => {
    const m = new RegExp(`"${key}"\\s*=\\s*(-?\\d+);`).exec(out.stdout)
    return m === null ? Option.none<number>() : Option.some(Number(m[1]))
  }
  const pid = num("PID")
  return {
    _tag: "Known",
    enabled: "loaded",
    active: Option.isSome(pid) ? "running" : "not running",
    sub: "",
    mainPid: pid,
    restarts: Option.none(),
    lastExitStatus: num("LastExitStatus")
  }
}

// ---------------------------------------------------------------------------------------------
// Unsupported platforms

const makeUnsupported = (env: InstallerEnvironment): ServiceInstallerShape => {
  const fail = Effect.fail(new UnsupportedPlatform({ platform: env.platform }))
  return {
    manager: Option.none(),
    unitPath: "",
    manualInstallCommand: "",
    install: () => fail,
    uninstall: fail,
    status: fail
  }
}

// ---------------------------------------------------------------------------------------------
// Constructors and layers

/** An installer for `env`, over the given file system, command executor and HTTP client. */
export const make = (
  env: InstallerEnvironment
): Effect.Effect<
  ServiceInstallerShape,
  never,
  FileSystem.FileSystem | CommandExecutor.CommandExecutor | HttpClient.HttpClient
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const executor = yield* CommandExecutor.CommandExecutor
    const client = yield* HttpClient.HttpClient
    switch (env.platform) {
      case "linux":
        return makeSystemd(env, fs, executor, client)
      case "darwin":
        return makeLaunchd(env, fs, executor, client)
      default:
        return makeUnsupported(env)
    }
  })

/** The environment of this process: its platform, `os.homedir()`, `$XDG_CONFIG_HOME`, the user. */
export const processEnvironment = (): InstallerEnvironment => ({
  platform: process.platform,
  homeDir: os.homedir(),
  xdgConfigHome: Option.fromNullable(process.env["XDG_CONFIG_HOME"]),
  user: process.env["USER"] ?? os.userInfo().username
})

export const layer = (
  env: InstallerEnvironment
): Layer.Layer<ServiceInstaller, never, FileSystem.FileSystem | CommandExecutor.CommandExecutor | HttpClient.HttpClient> =>
  Layer.effect(ServiceInstaller, make(env))

/**
 * A small plain-`node:http` GET client for the status probe. Not `fetch`: it refuses "bad ports"
 * (6000, 6665-6669, 10080, ...) a metrics server may well listen on. Not the undici client of
 * platform-node either: it would add undici to every CLI start-up for one optional request.
 */
export const nodeHttpGetClient: HttpClient.HttpClient = HttpClient.make((request, url, signal) =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    const req = http.get(url, { signal, headers: { accept: "text/plain" } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", (cause) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))))
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        const status = res.statusCode ?? 0
        resume(Effect.succeed(
          HttpClientResponse.fromWeb(request, new Response(status === 204 || status === 304 ? null : body, { status }))
        ))
      })
    })
    req.on("error", (cause) =>
      resume(Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause,
          description: "code" in cause ? String(cause.code) : cause.message
        })
      )))
    return Effect.sync(() => req.destroy())
  })
)

/** The installer for this process. Needs `NodeContext` (file system, commands). */
export const layerNode: Layer.Layer<ServiceInstaller, never, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =
  Layer.suspend(() => layer(processEnvironment())).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, nodeHttpGetClient))
  )

// ---------------------------------------------------------------------------------------------
// The program that is running

/** The absolute Node binary and entry script of a running a3s-box. */
export interface Program {
  readonly node: string
  readonly script: string
}

const TYPESCRIPT_SOURCE = /\.[cm]?tsx?$/

/**
 * The program to install: `execPath` as given (a stable symlink such as /usr/local/bin/node stays
 * one), and the entry script `argv1` with symlinks resolved (the npm bin link → dist/a3s-box.cjs).
 * When running from TypeScript source (tsx), the package's built bundle stands in for it.
 */
export const programFrom = (input: {
  readonly execPath: string
  readonly argv1: string | undefined
  readonly cwd: string
}): Effect.Effect<Program, ProgramNotResolvable, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!path.isAbsolute(input.execPath)) {
      return yield* new ProgramNotResolvable({ detail: `the Node binary path ${JSON.stringify(input.execPath)} is not absolute` })
    }
    if (input.argv1 === undefined || input.argv1 === "") {
      return yield* new ProgramNotResolvable({ detail: "Node was given no entry script (process.argv[1] is empty)" })
    }
    const given = path.resolve(input.cwd, input.argv1)
    const script = yield* fs.realPath(given).pipe(
      Effect.mapError(() => new ProgramNotResolvable({ detail: `the entry script ${given} cannot be resolved` }))
    )
    if (!TYPESCRIPT_SOURCE.test(script)) return { node: input.execPath, script }
    // From source: find the package root and its bundle.
    for (let dir = path.dirname(script); ; dir = path.dirname(dir)) {
      const manifest = yield* fs.readFileString(path.join(dir, "package.json")).pipe(Effect.option)
      if (Option.isSome(manifest) && /"name"\s*:\s*"a3s-box"/.test(manifest.value)) {
        const bundle = path.join(dir, "dist", "a3s-box.cjs")
        if (yield* fs.exists(bundle).pipe(Effect.orElseSucceed(() => false))) return { node: input.execPath, script: bundle }
        break
      }
      if (path.dirname(dir) === dir) break
    }
    return yield* new ProgramNotResolvable({
      detail: `it runs from TypeScript source (${script}), which a service cannot start without tsx. ` +
        "Build the bundle (`npm run build`) and install from it: node dist/a3s-box.cjs monitor --install"
    })
  })

/** The program this process runs. */
export const currentProgram: Effect.Effect<Program, ProgramNotResolvable, FileSystem.FileSystem> = Effect.suspend(() =>
  programFrom({ execPath: process.execPath, argv1: process.argv[1], cwd: process.cwd() })
)
