/** Where each service manager looks for the monitor's unit. */
import * as Option from "effect/Option"
import * as path from "node:path"
import type { InstallerEnvironment } from "../Model.js"
import * as Units from "../Units.js"

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
