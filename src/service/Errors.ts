import * as Data from "effect/Data"
import { errorText } from "../platform/ErrorText.js"

/** Which service manager a unit is for. */
export type ManagerName = "systemd" | "launchd"

/** `--install`/`--uninstall`/`status` on an OS that has neither systemd --user nor launchd. */
export class UnsupportedPlatform extends Data.TaggedError("UnsupportedPlatform")<{
  readonly platform: string
}> {
  override get message(): string {
    return `installing the monitor as a service is supported on Linux (systemd --user) and macOS (launchd), ` +
      `not on ${this.platform}. Run \`a3s-box monitor\` under your own process supervisor instead.`
  }
}

/**
 * A path the service manager cannot run or the unit format cannot carry (systemd refuses quotes and
 * backslashes in an executable name; XML cannot hold control characters; paths must be absolute).
 * Nothing was written.
 */
export class UnrenderablePath extends Data.TaggedError("UnrenderablePath")<{
  readonly what: string
  readonly path: string
  readonly reason: string
  readonly fix: string
}> {
  override get message(): string {
    return `cannot write a service unit for the ${this.what} ${JSON.stringify(this.path)}: ${this.reason}. ` +
      `Nothing was written. ${this.fix}`
  }
}

/** The program that is running cannot be named by absolute paths a service manager could start. */
export class ProgramNotResolvable extends Data.TaggedError("ProgramNotResolvable")<{
  readonly detail: string
}> {
  override get message(): string {
    return `cannot tell which a3s-box program to install as a service: ${this.detail}`
  }
}

/** Writing the unit file (or creating its directory) failed. Exit non-zero. */
export class UnitWriteFailed extends Data.TaggedError("UnitWriteFailed")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot write the service unit ${this.path}: ${errorText(this.cause)}. ` +
      `Check that the directory is writable by you, then re-run the install.`
  }
}

/** Removing the unit file failed. Exit non-zero. */
export class UnitRemoveFailed extends Data.TaggedError("UnitRemoveFailed")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot remove the service unit ${this.path}: ${errorText(this.cause)}. Remove it by hand.`
  }
}

/** Reading an installed unit file failed for another reason than its absence. */
export class UnitReadFailed extends Data.TaggedError("UnitReadFailed")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot read the service unit ${this.path}: ${errorText(this.cause)}`
  }
}

/** How one service-manager command failed. */
export type CommandFailure =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "SpawnFailed"; readonly detail: string }
  | { readonly _tag: "TimedOut"; readonly seconds: number }
  | { readonly _tag: "ExitCode"; readonly exitCode: number; readonly stderr: string }

/** A service-manager command that failed, with what it printed. */
export interface FailedCommand {
  readonly argv: ReadonlyArray<string>
  readonly failure: CommandFailure
}

/** `systemctl --user daemon-reload` as a user would type it: words joined with single spaces. */
export const commandLine = (argv: ReadonlyArray<string>): string => argv.map(shellWord).join(" ")

/** A word quoted for a POSIX shell only when it needs to be. */
export const shellWord = (word: string): string =>
  /^[A-Za-z0-9_./:@%+,=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`

/** One line saying how a command failed, stderr indented under it. */
export const describeFailure = (failed: FailedCommand): string => {
  const cmd = `\`${commandLine(failed.argv)}\``
  const f = failed.failure
  switch (f._tag) {
    case "NotFound":
      return `${failed.argv[0]} was not found (is ${failed.argv[0] === "launchctl" ? "launchd" : "systemd"} installed and on PATH?)`
    case "SpawnFailed":
      return `${cmd} could not be run: ${f.detail}`
    case "TimedOut":
      return `${cmd} did not finish within ${f.seconds}s`
    case "ExitCode": {
      const stderr = f.stderr.trim()
      return stderr === ""
        ? `${cmd} exited with code ${f.exitCode}`
        : `${cmd} exited with code ${f.exitCode}:\n${stderr.split("\n").map((l) => `  ${l}`).join("\n")}`
    }
  }
}

/**
 * The unit file is written (install) or removed (uninstall), but the service manager could not be
 * told. The CLI prints this message, which ends with the exact manual command, and exits 0.
 */
export class ServiceManagerUnavailable extends Data.TaggedError("ServiceManagerUnavailable")<{
  readonly manager: ManagerName
  readonly operation: "install" | "uninstall"
  readonly unitPath: string
  readonly failed: FailedCommand
  /** Install: whether the unit is enabled on disk all the same (the half-done `enable --now`). */
  readonly enabled: boolean
  /** The command line that finishes the job by hand. */
  readonly manualCommand: string
}> {
  override get message(): string {
    const why = describeFailure(this.failed)
    if (this.operation === "uninstall") {
      return `Removed ${this.unitPath}, but could not tell ${this.manager} to stop the service: ${why}\n` +
        `If a monitor service is still running, stop it with:\n  ${this.manualCommand}`
    }
    const state = this.enabled
      ? (this.manager === "systemd"
        ? `Wrote ${this.unitPath} and it is enabled (it will start with your next systemd --user session), but it could not be started now: ${why}`
        : `Wrote ${this.unitPath}, but could not load it now: ${why}`)
      : `Wrote ${this.unitPath}, but could not enable it: ${why}`
    return `${state}\nTo finish, run:\n  ${this.manualCommand}`
  }
}

export type InstallError = UnsupportedPlatform | UnrenderablePath | UnitWriteFailed | ServiceManagerUnavailable
export type UninstallError = UnsupportedPlatform | UnitRemoveFailed | ServiceManagerUnavailable
export type StatusError = UnsupportedPlatform | UnitReadFailed
