/**
 * The monitor's service units (SPEC §9), pure: what a unit runs (`ServiceSpec`), the systemd
 * `--user` unit and the launchd LaunchAgent plist rendered from it and parsed back, and what an
 * installed unit says about the monitor it runs. No I/O here. The formats' details are in
 * internal/systemdUnit.ts (quoting rules measured against systemd 252) and internal/launchdPlist.ts.
 */
import * as Option from "effect/Option"
import type { InstalledUnit } from "./internal/unitSpec.js"

export {
  type InstalledUnit,
  LAUNCHD_LABEL,
  programArguments,
  type ServiceSpec,
  UNIT_NAME
} from "./internal/unitSpec.js"
export {
  escapeSpecifiers,
  parseSystemdUnit,
  systemdArgument,
  systemdEnvironment,
  systemdExecutable,
  systemdUnit,
  systemdWords,
  unescapeSpecifiers
} from "./internal/systemdUnit.js"
export { launchdLogPath, launchdPlist, parseLaunchdPlist, xmlEscape, xmlUnescape } from "./internal/launchdPlist.js"

/** What an installed unit says about the monitor it runs; fields absent when the unit does not say. */
export interface UnitDescription {
  readonly node: Option.Option<string>
  readonly script: Option.Option<string>
  readonly intervalSecs: Option.Option<number>
  readonly metricsAddr: Option.Option<string>
  readonly home: Option.Option<string>
  /** True when the command line is `NODE SCRIPT monitor ...`, the shape we install. */
  readonly recognized: boolean
}

/** Reads the monitor's settings out of an installed unit's argument vector and environment. */
export const describeUnit = (unit: InstalledUnit): UnitDescription => {
  const { argv } = unit
  const monitorAt = argv.indexOf("monitor")
  const rest = monitorAt < 0 ? [] : argv.slice(monitorAt + 1)
  const option = (name: string): Option.Option<string> => {
    let found: Option.Option<string> = Option.none()
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!
      if (a === name && i + 1 < rest.length) found = Option.some(rest[++i]!)
      else if (a.startsWith(`${name}=`)) found = Option.some(a.slice(name.length + 1))
    }
    return found
  }
  const interval = Option.flatMap(option("--interval"), (s) => {
    const n = Number(s)
    return /^\d+$/.test(s) && Number.isSafeInteger(n) ? Option.some(n) : Option.none()
  })
  return {
    node: Option.fromNullable(argv[0]),
    script: Option.fromNullable(argv[1]),
    // The monitor's own default when the unit does not pass --interval.
    intervalSecs: monitorAt < 0 ? Option.none() : Option.orElse(interval, () => Option.some(5)),
    metricsAddr: option("--metrics-addr"),
    home: Option.fromNullable(unit.environment["A3S_HOME"]),
    recognized: monitorAt === 2
  }
}
