/**
 * `monitor status` and what answers the unit's metrics address: this home's monitor, another
 * home's, another process of this home, or a program that is no a3s-box monitor at all.
 */
import { describe, expect, it } from "vitest"
import * as Option from "effect/Option"
import * as ServiceStatusView from "../../src/cli/ServiceStatusView.js"
import type * as Heartbeat from "../../src/monitor/Heartbeat.js"
import type * as ServiceInstaller from "../../src/service/ServiceInstaller.js"

const { HealthOwner, healthOwner } = ServiceStatusView
const HOME = "/home/ann/.a3s"
const URL = "http://127.0.0.1:9464/healthz"

const responder = (home: string | undefined, pid: number | undefined): ServiceInstaller.Responder => ({
  home: Option.fromNullable(home),
  pid: Option.fromNullable(pid)
})

describe("healthOwner", () => {
  it("no home header: a stranger, whatever it says", () => {
    expect(healthOwner(responder(undefined, undefined), HOME, Option.none())).toEqual(HealthOwner.Stranger())
    expect(healthOwner(responder(undefined, 77), HOME, Option.some(77))).toEqual(HealthOwner.Stranger())
  })

  it("another home (compared as resolved paths): another home's monitor", () => {
    expect(healthOwner(responder("/srv/other", 12), HOME, Option.some(12))).toEqual(
      HealthOwner.OtherHome({ home: "/srv/other", pid: Option.some(12) })
    )
    expect(healthOwner(responder("/home/ann/.a3s/", 12), HOME, Option.none())).toEqual(
      HealthOwner.ThisHome({ pid: Option.some(12) })
    )
  })

  it("this home: its monitor, unless the heartbeat names another live pid", () => {
    expect(healthOwner(responder(HOME, 12), HOME, Option.some(12))).toEqual(HealthOwner.ThisHome({ pid: Option.some(12) }))
    expect(healthOwner(responder(HOME, 12), HOME, Option.none())).toEqual(HealthOwner.ThisHome({ pid: Option.some(12) }))
    expect(healthOwner(responder(HOME, 13), HOME, Option.some(12))).toEqual(
      HealthOwner.OtherPid({ pid: Option.some(13), heartbeatPid: 12 })
    )
    expect(healthOwner(responder(HOME, undefined), HOME, Option.some(12))).toEqual(
      HealthOwner.OtherPid({ pid: Option.none(), heartbeatPid: 12 })
    )
  })
})

const status = (answered: ServiceInstaller.Responder): ServiceInstaller.ServiceStatus => ({
  manager: "systemd",
  unitPath: "/home/ann/.config/systemd/user/a3s-box-monitor.service",
  unit: Option.some({
    description: Option.some({
      node: Option.some("/usr/bin/node"),
      script: Option.some("/opt/a3s-box/dist/a3s-box.cjs"),
      intervalSecs: Option.some(5),
      metricsAddr: Option.some("127.0.0.1:9464"),
      home: Option.some(HOME),
      recognized: true
    }),
    argv: ["/usr/bin/node", "/opt/a3s-box/dist/a3s-box.cjs", "monitor", "--interval", "5", "--metrics-addr", "127.0.0.1:9464"],
    missing: []
  }),
  enabledOnDisk: Option.some(true),
  managerState: {
    _tag: "Known",
    enabled: "enabled",
    active: "failed",
    sub: "failed",
    mainPid: Option.none(),
    restarts: Option.some(5),
    lastExitStatus: Option.none()
  },
  health: {
    _tag: "Answered",
    url: URL,
    status: 200,
    body: "ok",
    secondsSinceLastPoll: Option.none(),
    responder: answered
  }
})

const notRunning: ServiceStatusView.MonitorSeen = {
  home: HOME,
  verdict: { _tag: "NotRunning", reason: "missing", heartbeat: null, detail: "" },
  now: 0,
  file: `${HOME}/monitor.json`
}

const running = (pid: number): ServiceStatusView.MonitorSeen => {
  const heartbeat: Heartbeat.MonitorHeartbeat = {
    pid,
    pid_start_time: 1,
    host: "h",
    interval_secs: 5,
    metrics_addr: "127.0.0.1:9464",
    version: "0.0.0",
    started_at: 0,
    last_cycle_at: 0,
    updated_at: 0,
    stopped_at: null
  }
  return {
    home: HOME,
    verdict: { _tag: "Running", heartbeat, secondsSinceLastCycle: 1, thresholdSeconds: 30, pidChecked: true },
    now: 1_000,
    file: `${HOME}/monitor.json`
  }
}

const healthLines = (lines: ReadonlyArray<string>) => lines.filter((l, i) => l.startsWith("  health:") || (i > 0 && lines[i - 1]!.startsWith("  health:") && l.startsWith("    ")))

describe("monitor status: the health row says who answered", () => {
  it("a stranger on the port is reported as such, not as `ok` beside `monitor: not running`", () => {
    const lines = ServiceStatusView.statusText(status(responder(undefined, undefined)), HOME, notRunning)
    expect(healthLines(lines)).toEqual([
      `  health:   not an a3s-box monitor: ${URL} answered 200 without naming a home; another program holds the port`,
      "            the service's monitor cannot serve metrics there: stop that program, or re-install with another --metrics-addr"
    ])
    expect(lines.some((l) => /health: +ok/.test(l))).toBe(false)
    expect(lines).toContain(`  monitor:  not running (no heartbeat file ${HOME}/monitor.json)`)
    const json = ServiceStatusView.statusJson(status(responder(undefined, undefined)), HOME, notRunning)
    expect(json.health).toMatchObject({ reachable: true, owner: "stranger", answered_by: { home: null, pid: null } })
  })

  it("another home's monitor on the port names that home and pid", () => {
    const lines = ServiceStatusView.statusText(status(responder("/srv/other", 999)), HOME, running(123))
    expect(healthLines(lines)).toEqual([
      `  health:   not this home's monitor: ${URL} answered 200 from the a3s-box monitor of /srv/other (pid 999)`
    ])
    expect(ServiceStatusView.statusJson(status(responder("/srv/other", 999)), HOME, running(123)).health).toMatchObject({
      owner: "other_home",
      answered_by: { home: "/srv/other", pid: 999 }
    })
  })

  it("this home's monitor: ok; from another pid than the heartbeat's, it says so", () => {
    expect(healthLines(ServiceStatusView.statusText(status(responder(HOME, 123)), HOME, running(123)))).toEqual([
      `  health:   ok (${URL} answered 200)`
    ])
    expect(ServiceStatusView.statusJson(status(responder(HOME, 123)), HOME, running(123)).health).toMatchObject({
      owner: "this_home",
      answered_by: { home: HOME, pid: 123 }
    })
    expect(healthLines(ServiceStatusView.statusText(status(responder(HOME, 456)), HOME, running(123)))).toEqual([
      `  health:   ok (${URL} answered 200)`,
      "            answered by pid 456 of this home, not by the monitor its heartbeat names (pid 123)"
    ])
    // The heartbeat read is of another home than the unit's: only the home is compared.
    const elsewhere = { ...running(123), home: "/elsewhere" }
    expect(ServiceStatusView.statusJson(status(responder(HOME, 456)), "/elsewhere", elsewhere).health).toMatchObject({
      owner: "this_home"
    })
  })
})
