/**
 * What the service installer is told and what it answers: the environment it runs in, the
 * outcomes of install and uninstall, and the status of an installed service.
 */
import * as Data from "effect/Data"
import type * as Option from "effect/Option"
import type { FailedCommand, ManagerName } from "./Errors.js"
import type * as Units from "./Units.js"

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
export type LingerOutcome = Data.TaggedEnum<{
  Enabled: { readonly argv: ReadonlyArray<string> }
  Failed: { readonly failed: FailedCommand }
  NotApplicable: { readonly reason: string }
}>
export const LingerOutcome = Data.taggedEnum<LingerOutcome>()

/** Service-manager commands, in the order they ran. */
export type Commands = ReadonlyArray<ReadonlyArray<string>>

export interface InstallOutcome {
  readonly manager: ManagerName
  readonly unitPath: string
  /** A unit was installed before and has been replaced (and the service restarted). */
  readonly replaced: boolean
  /** The service-manager commands run, in order; all succeeded. */
  readonly commands: Commands
  readonly linger: Option.Option<LingerOutcome>
}

export type UninstallOutcome = Data.TaggedEnum<{
  NotInstalled: { readonly manager: ManagerName; readonly unitPath: string }
  Removed: { readonly manager: ManagerName; readonly unitPath: string; readonly commands: Commands }
}>
export const UninstallOutcome = Data.taggedEnum<UninstallOutcome>()

/** What the service manager says about the service, or why it could not be asked. */
export type ManagerState = Data.TaggedEnum<{
  Known: {
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
  Unavailable: { readonly failed: FailedCommand }
}>
export const ManagerState = Data.taggedEnum<ManagerState>()

/** Who answered `/healthz`, as its `X-A3S-Home` and `X-A3S-Pid` headers say (absent from other servers). */
export interface Responder {
  readonly home: Option.Option<string>
  readonly pid: Option.Option<number>
}

/** What the monitor's `/healthz` (and `/metrics`) say, when the unit configures a metrics address. */
export type HealthProbe = Data.TaggedEnum<{
  Answered: {
    readonly url: string
    readonly status: number
    /** The `/healthz` body, trimmed (`ok`, or how stale the poll loop is). */
    readonly body: string
    /** `a3s_box_monitor_seconds_since_last_poll` from `/metrics`, when it could be read. */
    readonly secondsSinceLastPoll: Option.Option<number>
    readonly responder: Responder
  }
  Unreachable: { readonly url: string; readonly reason: string }
  NotProbed: { readonly reason: string }
}>
export const HealthProbe = Data.taggedEnum<HealthProbe>()

/** One path an installed unit starts that no longer exists. */
export interface MissingPath {
  readonly what: "Node binary" | "entry script"
  readonly path: string
}

/** An installed unit as read back. */
export interface InstalledUnitStatus {
  /** The unit's program and settings; None when its command line could not be read back. */
  readonly description: Option.Option<Units.UnitDescription>
  readonly argv: ReadonlyArray<string>
  /** Paths the unit starts that are gone: the unit is stale and must be re-installed. */
  readonly missing: ReadonlyArray<MissingPath>
}

export interface ServiceStatus {
  readonly manager: ManagerName
  readonly unitPath: string
  /** None: no unit file. */
  readonly unit: Option.Option<InstalledUnitStatus>
  /** systemd only: the enable symlink exists on disk (true even when the manager cannot be asked). */
  readonly enabledOnDisk: Option.Option<boolean>
  readonly managerState: ManagerState
  readonly health: HealthProbe
}
