/**
 * What `a3s-box monitor status` prints: the installed service as its unit, the service manager
 * and its `/healthz` see it, and the home's heartbeat (SPEC §9, §11), as text or JSON. Pure
 * renderings of a ServiceStatus, and `healthOwner`: whether what answers the unit's metrics
 * address is this home's monitor at all.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as Heartbeat from "../monitor/Heartbeat.js"
import { commandLine, describeFailure, shellWord } from "../service/Errors.js"
import type * as ServiceInstaller from "../service/ServiceInstaller.js"

/** A failure on one line (stderr lines joined), for a status row. */
export const oneLine = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ")

export const managerName = (manager: "systemd" | "launchd") => (manager === "systemd" ? "systemd --user" : "launchd")

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
// Who answers the metrics address

/** Who answered `/healthz` on the unit's metrics address, by the headers it names itself with. */
export type HealthOwner = Data.TaggedEnum<{
  /** The monitor of the home the service supervises (and, when the heartbeat names a live monitor, that one). */
  ThisHome: { readonly pid: Option.Option<number> }
  /** An a3s-box monitor of another home. */
  OtherHome: { readonly home: string; readonly pid: Option.Option<number> }
  /** A monitor of this home, but not the process the heartbeat names as the live one. */
  OtherPid: { readonly pid: Option.Option<number>; readonly heartbeatPid: number }
  /** Not an a3s-box monitor: its `/healthz` names no home. Another program holds the port. */
  Stranger: {}
}>
export const HealthOwner = Data.taggedEnum<HealthOwner>()

/**
 * Whose `/healthz` answered: compared with the home the service supervises (`home`), and with
 * the pid of the live monitor the heartbeat names (`livePid`, None when no live monitor or no
 * heartbeat of that home was read).
 */
export const healthOwner = (
  responder: ServiceInstaller.Responder,
  home: string,
  livePid: Option.Option<number>
): HealthOwner => {
  if (Option.isNone(responder.home)) return HealthOwner.Stranger()
  if (path.resolve(responder.home.value) !== path.resolve(home)) {
    return HealthOwner.OtherHome({ home: responder.home.value, pid: responder.pid })
  }
  if (Option.isSome(livePid) && !Option.contains(responder.pid, livePid.value)) {
    return HealthOwner.OtherPid({ pid: responder.pid, heartbeatPid: livePid.value })
  }
  return HealthOwner.ThisHome({ pid: responder.pid })
}

/** The home the unit's monitor supervises: its A3S_HOME, else the home in effect here. */
const unitHome = (status: ServiceInstaller.ServiceStatus, currentHome: string): string =>
  Option.getOrElse(
    Option.flatMap(Option.flatMap(status.unit, (u) => u.description), (d) => d.home),
    () => currentHome
  )

/** The pid of the live monitor the heartbeat names, when that heartbeat is of `home`. */
const livePidOf = (monitor: MonitorSeen | undefined, home: string): Option.Option<number> =>
  monitor === undefined || monitor.verdict._tag === "NotRunning" || path.resolve(monitor.home) !== path.resolve(home)
    ? Option.none()
    : Option.some(monitor.verdict.heartbeat.pid)

/** Who answered the status probe of this status. */
const ownerOf = (
  status: ServiceInstaller.ServiceStatus,
  responder: ServiceInstaller.Responder,
  currentHome: string,
  monitor: MonitorSeen | undefined
): HealthOwner => {
  const home = unitHome(status, currentHome)
  return healthOwner(responder, home, livePidOf(monitor, home))
}

const pidText = (pid: Option.Option<number>) => Option.match(pid, { onNone: () => "pid unknown", onSome: (p) => `pid ${p}` })

// ---------------------------------------------------------------------------------------------
// Rendering

/**
 * What the home's heartbeat file says (SPEC §11): whether a monitor supervises the home,
 * whether the service started it or someone did by hand.
 */
export interface MonitorSeen {
  /** The home whose heartbeat this is. */
  readonly home: string
  readonly verdict: Heartbeat.Verdict
  readonly now: number
  readonly file: string
}

/** Reads `<home>/monitor.json` now. Never fails. */
export const seeMonitor = (home: string): Effect.Effect<MonitorSeen, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const verdict = yield* Heartbeat.inspect(home)
    return { home, verdict, now: yield* Clock.currentTimeMillis, file: Heartbeat.heartbeatPath(home) }
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
        seconds_since_last_poll: Option.getOrNull(health.secondsSinceLastPoll),
        answered_by: {
          home: Option.getOrNull(health.responder.home),
          pid: Option.getOrNull(health.responder.pid)
        },
        owner: HealthOwner.$match(ownerOf(status, health.responder, currentHome, monitor), {
          ThisHome: () => "this_home",
          OtherHome: () => "other_home",
          OtherPid: () => "other_pid",
          Stranger: () => "stranger"
        })
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
      const answered = `${health.url} answered ${health.status}`
      const owner = ownerOf(status, health.responder, currentHome, monitor)
      if (owner._tag === "Stranger") {
        // Its "ok" is not this monitor's: the service's monitor cannot listen there.
        row("health", `not an a3s-box monitor: ${answered} without naming a home; another program holds the port`)
        more("the service's monitor cannot serve metrics there: stop that program, or re-install with another --metrics-addr")
        break
      }
      if (owner._tag === "OtherHome") {
        row("health", `not this home's monitor: ${answered} from the a3s-box monitor of ${owner.home} (${pidText(owner.pid)})`)
        break
      }
      const verdict = health.status === 200 ? "ok" : health.body === "" ? `HTTP ${health.status}` : health.body
      const age = Option.match(health.secondsSinceLastPoll, {
        onNone: () => "",
        onSome: (s) => `; last poll ${seconds(s)} ago`
      })
      row("health", `${verdict} (${answered})${age}`)
      if (owner._tag === "OtherPid") {
        more(`answered by ${pidText(owner.pid)} of this home, not by the monitor its heartbeat names (pid ${owner.heartbeatPid})`)
      }
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