/**
 * Installs `a3s-box monitor` as a per-user service (SPEC §9): a systemd `--user` unit on Linux, a
 * launchd LaunchAgent on macOS. One algorithm (`fromManager`) over the `ServiceManager` of the
 * platform: files go through `FileSystem`, the manager's commands through `CommandExecutor`, the
 * status probe of `/healthz` through `HttpClient`, so tests swap each of them.
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as os from "node:os"
import {
  type FailedCommand,
  type InstallError,
  type ManagerName,
  ServiceManagerUnavailable,
  type StatusError,
  type UninstallError,
  UnitRemoveFailed,
  type UnrenderablePath,
  UnsupportedPlatform
} from "./Errors.js"
import * as HealthProbe from "./internal/healthProbe.js"
import { nodeHttpGetClient } from "./internal/nodeHttpClient.js"
import * as UnitFile from "./internal/unitFile.js"
import {
  type InstallerEnvironment,
  type InstallOptions,
  type InstallOutcome,
  type ServiceStatus,
  UninstallOutcome
} from "./Model.js"
import * as ServiceManager from "./ServiceManager.js"
import * as Units from "./Units.js"

export {
  type Commands,
  HealthProbe,
  type InstalledUnitStatus,
  type InstallerEnvironment,
  type InstallOptions,
  type InstallOutcome,
  LingerOutcome,
  ManagerState,
  type MissingPath,
  type Responder,
  type ServiceStatus,
  UninstallOutcome
} from "./Model.js"
export { currentProgram, type Program, programFrom } from "./internal/program.js"
export { nodeHttpGetClient } from "./internal/nodeHttpClient.js"

export interface ServiceInstallerShape {
  /** The service manager of this platform; None on other platforms (every operation then fails). */
  readonly manager: Option.Option<ManagerName>
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

/** The installer over the `ServiceManager` in context. */
export const fromManager: Effect.Effect<
  ServiceInstallerShape,
  never,
  ServiceManager.ServiceManager | FileSystem.FileSystem | HttpClient.HttpClient
> = Effect.gen(function*() {
  const manager = yield* ServiceManager.ServiceManager
  const fs = yield* FileSystem.FileSystem
  const client = yield* HttpClient.HttpClient
  const { name, unitPath } = manager
  const unfinished = (operation: "install" | "uninstall", step: ServiceManager.Unfinished) =>
    new ServiceManagerUnavailable({ manager: name, operation, unitPath, ...step })

  const install = (spec: Units.ServiceSpec, options?: InstallOptions) =>
    Effect.gen(function*() {
      const content = yield* Either.match(manager.render(spec), {
        onLeft: (error) => Effect.fail<UnrenderablePath>(error),
        onRight: Effect.succeed
      })
      const replaced = yield* UnitFile.exists(fs, unitPath)
      yield* UnitFile.write(fs, unitPath, content)
      yield* manager.prepare(spec)
      const activated = yield* manager.activate(replaced)
      if (Either.isLeft(activated)) return yield* unfinished("install", activated.left)
      return {
        manager: name,
        unitPath,
        replaced,
        commands: activated.right,
        linger: yield* manager.linger(options?.linger === true)
      } satisfies InstallOutcome
    })

  const uninstall = Effect.gen(function*() {
    if (!(yield* UnitFile.exists(fs, unitPath))) {
      // What the manager left behind a unit removed by hand is ours by name: tidy it.
      yield* Effect.ignore(manager.removeLeftovers)
      return UninstallOutcome.NotInstalled({ manager: name, unitPath })
    }
    const deactivated = yield* manager.deactivate
    yield* manager.removeLeftovers
    yield* fs.remove(unitPath).pipe(Effect.mapError((cause) => new UnitRemoveFailed({ path: unitPath, cause })))
    const forgotten = Either.isLeft(deactivated) ? deactivated : yield* manager.forget
    const failed: Option.Option<FailedCommand> = Either.isLeft(forgotten) ? Option.some(forgotten.left) : Option.none()
    if (Option.isSome(failed)) {
      return yield* unfinished("uninstall", {
        failed: failed.value,
        enabled: false,
        manualCommand: manager.manualUninstallCommand
      })
    }
    const commands = [...Either.getOrElse(deactivated, () => []), ...Either.getOrElse(forgotten, () => [])]
    return UninstallOutcome.Removed({ manager: name, unitPath, commands })
  })

  const status = Effect.gen(function*() {
    const text = yield* UnitFile.readIfExists(fs, unitPath)
    const unit = Option.flatMap(text, manager.parse)
    const description = Option.map(unit, Units.describeUnit)
    const missing = Option.isSome(description) ? yield* UnitFile.missingPaths(fs, description.value) : []
    const managerState = yield* manager.state
    return {
      manager: name,
      unitPath,
      unit: Option.map(text, () => ({
        description,
        argv: Option.match(unit, { onNone: () => [], onSome: (u) => u.argv }),
        missing
      })),
      enabledOnDisk: yield* manager.enabledOnDisk,
      managerState,
      health: yield* HealthProbe.probe(client, Option.flatMap(description, (d) => d.metricsAddr))
    } satisfies ServiceStatus
  })

  return { manager: Option.some(name), unitPath, manualInstallCommand: manager.manualInstallCommand, install, uninstall, status }
})

/** Every operation fails: this platform has neither systemd --user nor launchd. */
const unsupported = (env: InstallerEnvironment): ServiceInstallerShape => {
  const fail = Effect.fail(new UnsupportedPlatform({ platform: env.platform }))
  return { manager: Option.none(), unitPath: "", manualInstallCommand: "", install: () => fail, uninstall: fail, status: fail }
}

/** The service manager of `env`'s platform, if it has one. */
export const managerLayer = (env: InstallerEnvironment) =>
  env.platform === "linux"
    ? Option.some(ServiceManager.layerSystemd(env))
    : env.platform === "darwin"
    ? Option.some(ServiceManager.layerLaunchd(env))
    : Option.none()

/** An installer for `env`, over the given file system, command executor and HTTP client. */
export const make = (
  env: InstallerEnvironment
): Effect.Effect<
  ServiceInstallerShape,
  never,
  FileSystem.FileSystem | CommandExecutor.CommandExecutor | HttpClient.HttpClient
> =>
  Option.match(managerLayer(env), {
    onNone: () => Effect.succeed(unsupported(env)),
    onSome: (manager) => Effect.provide(fromManager, manager)
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

/** The installer for this process. Needs `NodeContext` (file system, commands). */
export const layerNode: Layer.Layer<ServiceInstaller, never, FileSystem.FileSystem | CommandExecutor.CommandExecutor> =
  Layer.suspend(() => layer(processEnvironment())).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, nodeHttpGetClient))
  )
