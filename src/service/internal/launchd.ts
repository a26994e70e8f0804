/** The launchd service manager: a LaunchAgent in `~/Library/LaunchAgents`, `launchctl`. */
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { ensureDirectories } from "../../platform/Directories.js"
import { commandLine, type FailedCommand, UnitWriteFailed } from "../Errors.js"
import { type Commands, type InstallerEnvironment, LingerOutcome, ManagerState } from "../Model.js"
import type { ServiceManagerShape } from "../ServiceManager.js"
import * as Units from "../Units.js"
import { type CommandOutput, runnerOn } from "./commandRunner.js"
import { launchdPlistPath } from "./paths.js"

export const launchdCommands = {
  load: (plist: string) => ["launchctl", "load", "-w", plist],
  unload: (plist: string) => ["launchctl", "unload", plist],
  list: ["launchctl", "list", Units.LAUNCHD_LABEL],
  remove: ["launchctl", "remove", Units.LAUNCHD_LABEL]
} as const

/** Reads `launchctl list LABEL`: exit 0 with a `"PID" = N;` line while loaded (and running). */
export const parseLaunchctlList = (out: CommandOutput): ManagerState => {
  if (out.exitCode !== 0) {
    return ManagerState.Known({
      enabled: "not loaded",
      active: "inactive",
      sub: "",
      mainPid: Option.none(),
      restarts: Option.none(),
      lastExitStatus: Option.none()
    })
  }
  const num = (key: string) => {
    const m = new RegExp(`"${key}"\\s*=\\s*(-?\\d+);`).exec(out.stdout)
    return m === null ? Option.none<number>() : Option.some(Number(m[1]))
  }
  const pid = num("PID")
  return ManagerState.Known({
    enabled: "loaded",
    active: Option.isSome(pid) ? "running" : "not running",
    sub: "",
    mainPid: pid,
    restarts: Option.none(),
    lastExitStatus: num("LastExitStatus")
  })
}

export const make = (
  env: InstallerEnvironment
): Effect.Effect<ServiceManagerShape, never, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const { checked, run } = runnerOn(yield* CommandExecutor.CommandExecutor)
    const unitPath = launchdPlistPath(env)
    const load = launchdCommands.load(unitPath)
    const unload = launchdCommands.unload(unitPath)
    const manualInstallCommand = commandLine(load)

    const activate = (_replaced: boolean) =>
      Effect.gen(function*() {
        const done: Array<ReadonlyArray<string>> = []
        // Unloading a job that is not loaded fails: that is expected and ignored.
        if (Either.isRight(yield* checked(unload))) done.push(unload)
        const loaded = yield* checked(load)
        // launchctl load reports some failures on stderr with exit status 0.
        const failed: Option.Option<FailedCommand> = Either.isLeft(loaded)
          ? Option.some(loaded.left)
          : /load failed|error/i.test(loaded.right.stderr)
          ? Option.some({ argv: load, failure: { _tag: "ExitCode", exitCode: 0, stderr: loaded.right.stderr } })
          : Option.none()
        if (Option.isSome(failed)) return Either.left({ failed: failed.value, enabled: false, manualCommand: manualInstallCommand })
        done.push(load)
        return Either.right<Commands>(done)
      })

    return {
      name: "launchd",
      unitPath,
      manualInstallCommand,
      render: Units.launchdPlist,
      parse: Units.parseLaunchdPlist,
      // launchd opens the log file but does not create its directory.
      prepare: (spec) =>
        ensureDirectories(spec.home).pipe(Effect.mapError((cause) => new UnitWriteFailed({ path: spec.home, cause }))),
      activate,
      linger: (requested) =>
        Effect.succeed(
          requested
            ? Option.some(LingerOutcome.NotApplicable({
              reason: "launchd runs LaunchAgents only while you are logged in; there is no linger on macOS"
            }))
            : Option.none()
        ),
      deactivate: Effect.map(checked(unload), Either.map((): Commands => [unload])),
      removeLeftovers: Effect.void,
      forget: Effect.succeed(Either.right<Commands>([])),
      manualUninstallCommand: commandLine(launchdCommands.remove),
      state: Effect.map(
        run(launchdCommands.list),
        Either.match({
          onLeft: (failure) => ManagerState.Unavailable({ failed: { argv: launchdCommands.list, failure } }),
          onRight: parseLaunchctlList
        })
      ),
      enabledOnDisk: Effect.succeed(Option.none())
    } satisfies ServiceManagerShape
  })
