/** The systemd `--user` service manager: the unit in `~/.config/systemd/user`, `systemctl --user`. */
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { commandLine, type FailedCommand, UnitRemoveFailed } from "../Errors.js"
import { type Commands, type InstallerEnvironment, LingerOutcome, ManagerState } from "../Model.js"
import type { ServiceManagerShape } from "../ServiceManager.js"
import * as Units from "../Units.js"
import { runnerOn } from "./commandRunner.js"
import { systemdUnitPath, systemdWantsLink } from "./paths.js"
import { isSymlink } from "./unitFile.js"

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

const andThen = (...commands: Commands): string => commands.map(commandLine).join(" && ")

/** The manual command that finishes a fresh systemd install. */
export const SYSTEMD_MANUAL_INSTALL = andThen(systemdCommands.daemonReload, systemdCommands.enableNow)
/** ... and a re-install: `enable --now` would not restart a running service with the old flags. */
export const SYSTEMD_MANUAL_REINSTALL = andThen(
  systemdCommands.daemonReload,
  systemdCommands.enable,
  systemdCommands.restart
)
export const SYSTEMD_MANUAL_UNINSTALL = `${commandLine(systemdCommands.stop)}; ${commandLine(systemdCommands.daemonReload)}`

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
  return ManagerState.Known({
    enabled: loaded === "not-found" ? "not-found" : (props["UnitFileState"] || "unknown"),
    active: props["ActiveState"] ?? "unknown",
    sub: props["SubState"] ?? "",
    mainPid: Option.filter(num("MainPID"), (pid) => pid > 0),
    restarts: num("NRestarts"),
    lastExitStatus: Option.none()
  })
}

export const make = (
  env: InstallerEnvironment
): Effect.Effect<ServiceManagerShape, never, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { checked } = runnerOn(yield* CommandExecutor.CommandExecutor)
    const wantsLink = systemdWantsLink(env)

    /** Runs `steps` in order, stopping at the first that fails. */
    const runAll = (steps: Commands) =>
      Effect.gen(function*() {
        const done: Array<ReadonlyArray<string>> = []
        for (const argv of steps) {
          const result = yield* checked(argv)
          if (Either.isLeft(result)) return Either.left({ done, failed: result.left })
          done.push(argv)
        }
        return Either.right<Commands>(done)
      })

    const activate = (replaced: boolean) =>
      Effect.gen(function*() {
        const ran = yield* runAll(
          replaced
            ? [systemdCommands.daemonReload, systemdCommands.enable, systemdCommands.restart]
            : [systemdCommands.daemonReload, systemdCommands.enableNow]
        )
        if (Either.isRight(ran)) return Either.right<Commands>(ran.right)
        return Either.left({
          failed: ran.left.failed,
          // `enable --now` creates the symlink before it fails to reach the manager.
          enabled: yield* isSymlink(fs, wantsLink),
          manualCommand: replaced ? SYSTEMD_MANUAL_REINSTALL : SYSTEMD_MANUAL_INSTALL
        })
      })

    const linger = (requested: boolean) =>
      Effect.gen(function*() {
        if (!requested) return Option.none<LingerOutcome>()
        const argv = ["loginctl", "enable-linger", env.user]
        const result = yield* checked(argv)
        return Option.some(
          Either.isRight(result) ? LingerOutcome.Enabled({ argv }) : LingerOutcome.Failed({ failed: result.left })
        )
      })

    const once = (argv: ReadonlyArray<string>): Effect.Effect<Either.Either<Commands, FailedCommand>> =>
      Effect.map(checked(argv), Either.map(() => [argv]))

    return {
      name: "systemd",
      unitPath: systemdUnitPath(env),
      manualInstallCommand: SYSTEMD_MANUAL_INSTALL,
      render: Units.systemdUnit,
      parse: Units.parseSystemdUnit,
      prepare: () => Effect.void,
      activate,
      linger,
      deactivate: once(systemdCommands.disableNow),
      // disable may not have run at all (no systemctl): the enable symlink is ours by name.
      removeLeftovers: Effect.gen(function*() {
        if (!(yield* isSymlink(fs, wantsLink))) return
        yield* fs.remove(wantsLink).pipe(Effect.mapError((cause) => new UnitRemoveFailed({ path: wantsLink, cause })))
      }),
      forget: once(systemdCommands.daemonReload),
      manualUninstallCommand: SYSTEMD_MANUAL_UNINSTALL,
      state: Effect.map(
        checked(systemdCommands.show),
        Either.match({
          onLeft: (failed) => ManagerState.Unavailable({ failed }),
          onRight: (out) => parseSystemdShow(out.stdout)
        })
      ),
      enabledOnDisk: Effect.map(isSymlink(fs, wantsLink), Option.some)
    } satisfies ServiceManagerShape
  })
