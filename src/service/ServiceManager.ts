/**
 * What the installer needs from a service manager (systemd `--user`, launchd): where its unit
 * goes, how to render and read one, and the commands that enable, start, stop and inspect the
 * service. The installer (ServiceInstaller) is one algorithm over this tag; the systemd and
 * launchd layers differ only in what is here, and a host app can provide its own.
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type { FailedCommand, ManagerName, UnitRemoveFailed, UnitWriteFailed, UnrenderablePath } from "./Errors.js"
import * as Launchd from "./internal/launchd.js"
import * as Systemd from "./internal/systemd.js"
import type { Commands, InstallerEnvironment, LingerOutcome, ManagerState } from "./Model.js"
import type * as Units from "./Units.js"

/** A step the manager could not take: the unit file is in place, the user finishes by hand. */
export interface Unfinished {
  readonly failed: FailedCommand
  /** Install: whether the unit is enabled on disk all the same (systemd's half-done `enable --now`). */
  readonly enabled: boolean
  /** The command line that finishes the job. */
  readonly manualCommand: string
}

export interface ServiceManagerShape {
  readonly name: ManagerName
  /** Where the unit file goes. */
  readonly unitPath: string
  /** The commands a user runs by hand to finish a fresh install. */
  readonly manualInstallCommand: string
  /** The unit file for a spec; Left when a path cannot be carried by the unit format. */
  readonly render: (spec: Units.ServiceSpec) => Either.Either<string, UnrenderablePath>
  /** Reads an installed unit back; None when it has no command line this tool can read. */
  readonly parse: (text: string) => Option.Option<Units.InstalledUnit>
  /** Makes what the service needs besides its unit, before it starts (launchd: its log directory). */
  readonly prepare: (spec: Units.ServiceSpec) => Effect.Effect<void, UnitWriteFailed>
  /** Tells the manager about the unit just written and starts (`replaced`: restarts) the service. */
  readonly activate: (replaced: boolean) => Effect.Effect<Either.Either<Commands, Unfinished>>
  /** `--linger`, when `requested`: None when not requested. */
  readonly linger: (requested: boolean) => Effect.Effect<Option.Option<LingerOutcome>>
  /** Stops and disables the service; runs before the unit file is removed. */
  readonly deactivate: Effect.Effect<Either.Either<Commands, FailedCommand>>
  /** What the manager keeps on disk besides the unit (systemd: the enable symlink), removed with it. */
  readonly removeLeftovers: Effect.Effect<void, UnitRemoveFailed>
  /** After the unit file is gone and `deactivate` succeeded: the manager forgets it (systemd: daemon-reload). */
  readonly forget: Effect.Effect<Either.Either<Commands, FailedCommand>>
  /** The command that stops the service by hand when uninstall could not tell the manager. */
  readonly manualUninstallCommand: string
  /** What the manager says about the service. */
  readonly state: Effect.Effect<ManagerState>
  /** Whether the service is enabled by what is on disk; None where the manager keeps no such trace. */
  readonly enabledOnDisk: Effect.Effect<Option.Option<boolean>>
}

/** The service manager the installer talks to. */
export class ServiceManager extends Context.Tag("a3s-box/ServiceManager")<ServiceManager, ServiceManagerShape>() {}

type Needs = FileSystem.FileSystem | CommandExecutor.CommandExecutor

/** systemd `--user` for the user of `env`. */
export const layerSystemd = (env: InstallerEnvironment): Layer.Layer<ServiceManager, never, Needs> =>
  Layer.effect(ServiceManager, Systemd.make(env))

/** launchd LaunchAgents for the user of `env`. */
export const layerLaunchd = (env: InstallerEnvironment): Layer.Layer<ServiceManager, never, Needs> =>
  Layer.effect(ServiceManager, Launchd.make(env))
