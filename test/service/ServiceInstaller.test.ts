/**
 * The install / uninstall / status flows against a scripted CommandExecutor (real files in a
 * temp home), with the printed text checked exactly.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as ServiceCommands from "../../src/cli/ServiceCommands.js"
import * as HealthzIdentity from "../../src/metrics/HealthzIdentity.js"
import * as HealthProbe from "../../src/service/internal/healthProbe.js"
import * as Systemd from "../../src/service/internal/systemd.js"
import * as ServiceInstaller from "../../src/service/ServiceInstaller.js"
import * as Units from "../../src/service/Units.js"
import { capturedConsole } from "./CapturedConsole.js"
import { BUS_DOWN, fakeExecutor, type Reply } from "./FakeCommandExecutor.js"

let root = ""
let home = ""
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-installer-"))
  home = path.join(root, "home")
  fs.mkdirSync(home)
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

const envFor = (platform: string): ServiceInstaller.InstallerEnvironment => ({
  platform,
  homeDir: home,
  xdgConfigHome: Option.none(),
  user: "ann"
})
const unitPath = () => path.join(home, ".config", "systemd", "user", "a3s-box-monitor.service")
const wantsLink = () => path.join(home, ".config", "systemd", "user", "default.target.wants", "a3s-box-monitor.service")
const plistPath = () => path.join(home, "Library", "LaunchAgents", "com.a3s-box.monitor.plist")

const program = { node: "/usr/bin/node", script: "/opt/a3s-box/dist/a3s-box.mjs" }
const request = (over: Partial<ServiceCommands.InstallRequest> = {}): ServiceCommands.InstallRequest => ({
  program,
  home: path.join(home, ".a3s"),
  intervalSecs: 5,
  metricsAddr: Option.none(),
  linger: false,
  ...over
})

type Http = (url: string) => { status: number; body: string; headers?: Record<string, string> } | "refused"
const noHttp: Http = () => "refused"
const fakeHttp = (answer: Http) =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((req, url) => {
      const a = answer(url.toString())
      return a === "refused"
        ? Effect.fail(new HttpClientError.RequestError({ request: req, reason: "Transport", cause: new Error("connect ECONNREFUSED") }))
        : Effect.succeed(HttpClientResponse.fromWeb(req, new Response(a.body, { status: a.status, headers: a.headers ?? {} })))
    })
  )

/** Runs `f` against an installer for `platform` whose commands are answered by `script`. */
const withInstaller = <A>(
  platform: string,
  script: (argv: ReadonlyArray<string>) => Reply | undefined,
  f: Effect.Effect<A, never, ServiceInstaller.ServiceInstaller>,
  http: Http = noHttp
) => {
  const fake = fakeExecutor(script)
  const captured = capturedConsole()
  return f.pipe(
    Effect.provide(ServiceInstaller.layer(envFor(platform))),
    Effect.provide(Layer.mergeAll(NodeFileSystem.layer, fake.layer, fakeHttp(http))),
    Effect.withConsole(captured.console),
    Effect.map((value) => ({ value, calls: fake.calls, out: captured.out, err: captured.err }))
  )
}

const is = (argv: ReadonlyArray<string>, ...words: ReadonlyArray<string>) => argv.join(" ") === words.join(" ")

const renderedUnit = (over: Partial<ServiceCommands.InstallRequest> = {}) => {
  const r = request(over)
  return Either.getOrThrow(Units.systemdUnit({ ...r.program, intervalSecs: r.intervalSecs, metricsAddr: r.metricsAddr, home: r.home }))
}

describe("install with systemd --user", () => {
  it.effect("writes the unit, reloads, enables it now, prints what it did and the linger tip", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      expect(r.value).toBe(0)
      expect(r.calls).toEqual([
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "a3s-box-monitor.service"]
      ])
      expect(fs.readFileSync(unitPath(), "utf8")).toBe(renderedUnit())
      expect(r.out).toEqual([
        `Wrote ${unitPath()}`,
        `  runs /usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 5`,
        `  with A3S_HOME=${home}/.a3s`,
        "Ran systemctl --user daemon-reload",
        "Ran systemctl --user enable --now a3s-box-monitor.service",
        "The a3s-box monitor service is installed and started.",
        "Tip: on a headless host, run `loginctl enable-linger $USER` so the monitor keeps running while you are logged out."
      ])
      expect(r.err).toEqual([])
    }))

  it.effect("honours $XDG_CONFIG_HOME", () =>
    Effect.gen(function*() {
      const config = path.join(root, "xdg")
      const fake = fakeExecutor(() => undefined)
      const installer = yield* ServiceInstaller.make({ ...envFor("linux"), xdgConfigHome: Option.some(config) }).pipe(
        Effect.provide(Layer.mergeAll(NodeFileSystem.layer, fake.layer, fakeHttp(noHttp)))
      )
      expect(installer.unitPath).toBe(path.join(config, "systemd", "user", "a3s-box-monitor.service"))
    }))

  it.effect("re-running with other flags rewrites the unit and restarts the service so they apply", () =>
    Effect.gen(function*() {
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      const again = request({ intervalSecs: 9, metricsAddr: Option.some("127.0.0.1:9464") })
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(again))
      expect(r.value).toBe(0)
      expect(fs.readFileSync(unitPath(), "utf8")).toBe(renderedUnit(again))
      expect(r.calls).toEqual([
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "a3s-box-monitor.service"],
        ["systemctl", "--user", "restart", "a3s-box-monitor.service"]
      ])
      expect(r.out[0]).toBe(`Replaced ${unitPath()}`)
      expect(r.out[1]).toBe("  runs /usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 9 --metrics-addr 127.0.0.1:9464")
      expect(r.out).toContain("The a3s-box monitor service is installed and was restarted with these settings.")
    }))

  it.effect("systemctl missing: the unit stays written and the exact manual command is printed, exit 0", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller("linux", () => "NotFound", ServiceCommands.runInstall(request()))
      expect(r.value).toBe(0)
      expect(fs.readFileSync(unitPath(), "utf8")).toBe(renderedUnit())
      expect(r.calls).toEqual([["systemctl", "--user", "daemon-reload"]])
      expect(r.out).toEqual([])
      expect(r.err).toEqual([
        `Wrote ${unitPath()}, but could not enable it: systemctl was not found (is systemd installed and on PATH?)`,
        "To finish, run:",
        "  systemctl --user daemon-reload && systemctl --user enable --now a3s-box-monitor.service"
      ])
    }))

  it.effect("no user bus (exit 1, Failed to connect to bus): the unit stays written, manual command printed, exit 0", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "linux",
        (argv) => (is(argv, "systemctl", "--user", "daemon-reload") ? { exitCode: 1, stderr: BUS_DOWN } : undefined),
        ServiceCommands.runInstall(request())
      )
      expect(r.value).toBe(0)
      expect(fs.existsSync(unitPath())).toBe(true)
      expect(r.calls).toHaveLength(1)
      expect(r.err).toEqual([
        `Wrote ${unitPath()}, but could not enable it: \`systemctl --user daemon-reload\` exited with code 1:`,
        "  Failed to connect to bus: No medium found",
        "To finish, run:",
        "  systemctl --user daemon-reload && systemctl --user enable --now a3s-box-monitor.service"
      ])
    }))

  it.effect("half-done enable (symlink created, then exit 1): says it is enabled but not started", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "linux",
        (argv) =>
          is(argv, "systemctl", "--user", "enable", "--now", "a3s-box-monitor.service")
            ? {
              exitCode: 1,
              stderr: `Created symlink ${wantsLink()} → ${unitPath()}.\n${BUS_DOWN}`,
              before: () => {
                fs.mkdirSync(path.dirname(wantsLink()), { recursive: true })
                fs.symlinkSync(unitPath(), wantsLink())
              }
            }
            : undefined,
        ServiceCommands.runInstall(request())
      )
      expect(r.value).toBe(0)
      expect(r.err).toEqual([
        `Wrote ${unitPath()} and it is enabled (it will start with your next systemd --user session), but it could not be started now: \`systemctl --user enable --now a3s-box-monitor.service\` exited with code 1:`,
        `  Created symlink ${wantsLink()} → ${unitPath()}.`,
        "  Failed to connect to bus: No medium found",
        "To finish, run:",
        "  systemctl --user daemon-reload && systemctl --user enable --now a3s-box-monitor.service"
      ])
    }))

  it.effect("a re-install that cannot reach the manager prints the command that also restarts", () =>
    Effect.gen(function*() {
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      const r = yield* withInstaller("linux", () => ({ exitCode: 1, stderr: BUS_DOWN }), ServiceCommands.runInstall(request()))
      expect(r.value).toBe(0)
      expect(r.err.at(-1)).toBe(
        "  systemctl --user daemon-reload && systemctl --user enable a3s-box-monitor.service && systemctl --user restart a3s-box-monitor.service"
      )
    }))

  it.effect("an unwritable unit directory: exit 1 naming the path, no service-manager command run", () =>
    Effect.gen(function*() {
      // Root ignores file modes: make the directory impossible instead (a file where it should be).
      fs.mkdirSync(path.join(home, ".config", "systemd"), { recursive: true })
      fs.writeFileSync(path.join(home, ".config", "systemd", "user"), "not a directory")
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      expect(r.value).toBe(1)
      expect(r.calls).toEqual([])
      expect(r.err).toHaveLength(1)
      expect(r.err[0]).toMatch(new RegExp(`^Error: cannot write the service unit ${escapeRe(unitPath())}: .+ Check that the directory is writable`))
    }))

  it.effect("a Node binary path systemd would refuse: exit 1, nothing written", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "linux",
        () => undefined,
        ServiceCommands.runInstall(request({ program: { ...program, node: "/home/o'brien/node" } }))
      )
      expect(r.value).toBe(1)
      expect(fs.existsSync(unitPath())).toBe(false)
      expect(r.calls).toEqual([])
      expect(r.err[0]).toContain(`cannot write a service unit for the Node binary "/home/o'brien/node"`)
    }))

  it.effect("--linger runs loginctl enable-linger and reports success", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request({ linger: true })))
      expect(r.calls.at(-1)).toEqual(["loginctl", "enable-linger", "ann"])
      expect(r.out.at(-1)).toBe("Ran loginctl enable-linger ann: the monitor keeps running while you are logged out.")
    }))

  it.effect("--linger failing reports the reason and the command, the install still stands (exit 0)", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "linux",
        (argv) =>
          argv[0] === "loginctl"
            ? { exitCode: 1, stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\n" }
            : undefined,
        ServiceCommands.runInstall(request({ linger: true }))
      )
      expect(r.value).toBe(0)
      expect(r.err).toEqual([
        "Warning: could not enable lingering: `loginctl enable-linger ann` exited with code 1:",
        "  System has not been booted with systemd as init system (PID 1). Can't operate.",
        "Without it the monitor stops when you log out. Run it yourself (it may need sudo): loginctl enable-linger ann"
      ])
    }))
})

describe("uninstall with systemd --user", () => {
  it.effect("nothing installed: says so, exit 0, runs nothing", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runUninstall)
      expect(r.value).toBe(0)
      expect(r.calls).toEqual([])
      expect(r.out).toEqual([`No a3s-box monitor service is installed (no ${unitPath()}); nothing to do.`])
    }))

  it.effect("disables and stops it, removes the unit, reloads", () =>
    Effect.gen(function*() {
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      const r = yield* withInstaller("linux", () => undefined, ServiceCommands.runUninstall)
      expect(r.value).toBe(0)
      expect(fs.existsSync(unitPath())).toBe(false)
      expect(r.calls).toEqual([
        ["systemctl", "--user", "disable", "--now", "a3s-box-monitor.service"],
        ["systemctl", "--user", "daemon-reload"]
      ])
      expect(r.out).toEqual([
        "Ran systemctl --user disable --now a3s-box-monitor.service",
        `Removed ${unitPath()}`,
        "Ran systemctl --user daemon-reload",
        "The a3s-box monitor service is uninstalled."
      ])
    }))

  it.effect("no user bus: the unit and its enable link are removed anyway, the stop command is printed, exit 0", () =>
    Effect.gen(function*() {
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(request()))
      fs.mkdirSync(path.dirname(wantsLink()), { recursive: true })
      fs.symlinkSync(unitPath(), wantsLink())
      const r = yield* withInstaller("linux", () => ({ exitCode: 1, stderr: BUS_DOWN }), ServiceCommands.runUninstall)
      expect(r.value).toBe(0)
      expect(fs.existsSync(unitPath())).toBe(false)
      expect(fs.existsSync(path.dirname(wantsLink())) && fs.readdirSync(path.dirname(wantsLink()))).toEqual([])
      expect(r.err).toEqual([
        `Removed ${unitPath()}, but could not tell systemd to stop the service: \`systemctl --user disable --now a3s-box-monitor.service\` exited with code 1:`,
        "  Failed to connect to bus: No medium found",
        "If a monitor service is still running, stop it with:",
        "  systemctl --user stop a3s-box-monitor.service; systemctl --user daemon-reload"
      ])
    }))
})

describe("launchd", () => {
  it.effect("install writes the plist, creates the home for the log, unloads (failure ignored) and loads -w", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "darwin",
        (argv) => (argv[1] === "unload" ? { exitCode: 1, stderr: "Could not find specified service\n" } : undefined),
        ServiceCommands.runInstall(request())
      )
      expect(r.value).toBe(0)
      const r2 = request()
      expect(fs.readFileSync(plistPath(), "utf8")).toBe(
        Either.getOrThrow(Units.launchdPlist({ ...r2.program, intervalSecs: 5, metricsAddr: Option.none(), home: r2.home }))
      )
      expect(fs.statSync(r2.home).isDirectory()).toBe(true)
      expect(r.calls).toEqual([["launchctl", "unload", plistPath()], ["launchctl", "load", "-w", plistPath()]])
      expect(r.out).toEqual([
        `Wrote ${plistPath()}`,
        `  runs /usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 5`,
        `  with A3S_HOME=${home}/.a3s`,
        `  logs to ${home}/.a3s/monitor.log`,
        `Ran launchctl load -w ${plistPath()}`,
        "The a3s-box monitor service is installed and started."
      ])
    }))

  it.effect("launchctl load failing: the plist stays, `launchctl load -w PATH` is printed, exit 0", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller("darwin", () => "NotFound", ServiceCommands.runInstall(request()))
      expect(r.value).toBe(0)
      expect(fs.existsSync(plistPath())).toBe(true)
      expect(r.err).toEqual([
        `Wrote ${plistPath()}, but could not enable it: launchctl was not found (is launchd installed and on PATH?)`,
        "To finish, run:",
        `  launchctl load -w ${plistPath()}`
      ])
    }))

  it.effect("launchctl load printing `Load failed` with exit 0 counts as a failure", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "darwin",
        (argv) => (argv[1] === "load" ? { exitCode: 0, stderr: "Load failed: 5: Input/output error\n" } : undefined),
        ServiceCommands.runInstall(request())
      )
      expect(r.err.at(-1)).toBe(`  launchctl load -w ${plistPath()}`)
    }))

  it.effect("uninstall unloads and removes the plist", () =>
    Effect.gen(function*() {
      yield* withInstaller("darwin", () => undefined, ServiceCommands.runInstall(request()))
      const r = yield* withInstaller("darwin", () => undefined, ServiceCommands.runUninstall)
      expect(r.calls).toEqual([["launchctl", "unload", plistPath()]])
      expect(fs.existsSync(plistPath())).toBe(false)
      expect(r.out).toEqual([
        `Ran launchctl unload ${plistPath()}`,
        `Removed ${plistPath()}`,
        "The a3s-box monitor service is uninstalled."
      ])
    }))

  it.effect("status reads the plist back and asks launchctl list", () =>
    Effect.gen(function*() {
      yield* withInstaller("darwin", () => undefined, ServiceCommands.runInstall(request()))
      const r = yield* withInstaller(
        "darwin",
        (argv) => (argv[1] === "list" ? { exitCode: 0, stdout: `{\n\t"LastExitStatus" = 0;\n\t"PID" = 321;\n};\n` } : undefined),
        ServiceCommands.runStatus("json", path.join(home, ".a3s"))
      )
      const json = JSON.parse(r.out.join("\n"))
      expect(json.unit.interval_secs).toBe(5)
      expect(json.service_manager).toEqual({
        available: true,
        enabled: "loaded",
        active: "running",
        sub_state: "",
        main_pid: 321,
        restarts: null,
        last_exit_status: 0
      })
    }))
})

describe("other platforms", () => {
  it.effect("install, uninstall and status fail with a clear message, exit 1", () =>
    Effect.gen(function*() {
      for (const f of [ServiceCommands.runInstall(request()), ServiceCommands.runUninstall, ServiceCommands.runStatus("text", home)]) {
        const r = yield* withInstaller("win32", () => undefined, f)
        expect(r.value).toBe(1)
        expect(r.calls).toEqual([])
        expect(r.err).toEqual([
          "Error: installing the monitor as a service is supported on Linux (systemd --user) and macOS (launchd), not on win32. Run `a3s-box monitor` under your own process supervisor instead."
        ])
      }
    }))
})

const SHOW_ACTIVE = "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=4321\nNRestarts=2\n"

describe("status", () => {
  it.effect("not installed", () =>
    Effect.gen(function*() {
      const r = yield* withInstaller(
        "linux",
        () => ({ exitCode: 0, stdout: "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\nNRestarts=0\n" }),
        ServiceCommands.runStatus("text", home)
      )
      expect(r.value).toBe(0)
      expect(r.calls).toEqual([[
        "systemctl",
        "--user",
        "show",
        "a3s-box-monitor.service",
        "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts"
      ]])
      expect(r.out).toEqual([
        "a3s-box monitor service (systemd --user)",
        `  unit:     not installed (no ${unitPath()})`,
        "  service:  not-found, inactive (dead), 0 restarts",
        "Install it with: a3s-box monitor --install"
      ])
    }))

  it.effect("installed and running: what it runs, the manager's view, /healthz and the last poll's age", () =>
    Effect.gen(function*() {
      const scriptFile = path.join(root, "a3s-box.mjs")
      fs.writeFileSync(scriptFile, "")
      const req = request({
        program: { node: process.execPath, script: scriptFile },
        metricsAddr: Option.some("0.0.0.0:9464")
      })
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(req))
      const r = yield* withInstaller(
        "linux",
        () => ({ exitCode: 0, stdout: SHOW_ACTIVE }),
        ServiceCommands.runStatus("text", req.home),
        (url) =>
          url === "http://127.0.0.1:9464/healthz"
            ? { status: 200, body: "ok\n", headers: HealthzIdentity.headers(req.home, 4321) }
            : url === "http://127.0.0.1:9464/metrics"
            ? { status: 200, body: "# TYPE a3s_box_monitor_seconds_since_last_poll gauge\na3s_box_monitor_seconds_since_last_poll 1.25\n" }
            : "refused"
      )
      expect(r.out).toEqual([
        "a3s-box monitor service (systemd --user)",
        `  unit:     ${unitPath()}`,
        `  runs:     ${process.execPath} ${scriptFile} monitor --interval 5 --metrics-addr 0.0.0.0:9464`,
        "  interval: 5s",
        "  metrics:  0.0.0.0:9464",
        `  home:     ${req.home}`,
        "  service:  enabled, active (running), main pid 4321, 2 restarts",
        "  health:   ok (http://127.0.0.1:9464/healthz answered 200); last poll 1.3s ago"
      ])
    }))

  it.effect("stale: the unit's Node binary is gone; says so with the command that fixes it (text and json)", () =>
    Effect.gen(function*() {
      const req = request({ program: { node: path.join(root, "old-node", "bin", "node"), script: path.join(root, "gone.mjs") } })
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(req))
      const other = path.join(root, "elsewhere")
      const text = yield* withInstaller("linux", () => ({ exitCode: 1, stderr: BUS_DOWN }), ServiceCommands.runStatus("text", other))
      expect(text.out).toEqual([
        "a3s-box monitor service (systemd --user)",
        `  unit:     ${unitPath()}`,
        `  runs:     ${req.program.node} ${req.program.script} monitor --interval 5`,
        "  interval: 5s",
        "  metrics:  off",
        `  home:     ${req.home}`,
        `            note: A3S_HOME here is ${other}; this service supervises the boxes of ${req.home}`,
        `  STALE:    the Node binary ${req.program.node} no longer exists: the service cannot start.`,
        `  STALE:    the entry script ${req.program.script} no longer exists: the service cannot start.`,
        `            Fix: re-run the install with the a3s-box and Node you use now: A3S_HOME=${req.home} a3s-box monitor --install --interval 5`,
        "  service:  unknown: could not ask systemd: `systemctl --user show a3s-box-monitor.service --property=LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts` exited with code 1: Failed to connect to bus: No medium found",
        "            enabled on disk: no",
        "  health:   not probed: the unit sets no --metrics-addr"
      ])
      const json = yield* withInstaller("linux", () => ({ exitCode: 1, stderr: BUS_DOWN }), ServiceCommands.runStatus("json", req.home))
      const parsed = JSON.parse(json.out.join("\n"))
      expect(parsed).toMatchObject({
        installed: true,
        stale: true,
        missing: [{ what: "Node binary", path: req.program.node }, { what: "entry script", path: req.program.script }],
        fix: "a3s-box monitor --install --interval 5",
        service_manager: { available: false },
        health: { probed: false }
      })
    }))

  it.effect("a configured metrics address that does not answer is reported with the reason", () =>
    Effect.gen(function*() {
      const req = request({ metricsAddr: Option.some("127.0.0.1:9") })
      yield* withInstaller("linux", () => undefined, ServiceCommands.runInstall(req))
      const r = yield* withInstaller("linux", () => ({ exitCode: 0, stdout: SHOW_ACTIVE }), ServiceCommands.runStatus("json", req.home))
      expect(JSON.parse(r.out.join("\n")).health).toMatchObject({
        probed: true,
        reachable: false,
        url: "http://127.0.0.1:9/healthz"
      })
    }))
})

describe("the program to install", () => {
  it.effect("resolves the entry script's symlinks (the npm bin link) and keeps the Node path as given", () =>
    Effect.gen(function*() {
      const bundle = path.join(root, "pkg", "dist", "a3s-box.cjs")
      fs.mkdirSync(path.dirname(bundle), { recursive: true })
      fs.writeFileSync(bundle, "")
      fs.mkdirSync(path.join(root, "bin"))
      fs.symlinkSync(bundle, path.join(root, "bin", "a3s-box"))
      const p = yield* ServiceInstaller.programFrom({ execPath: "/usr/local/bin/node", argv1: "a3s-box", cwd: path.join(root, "bin") })
        .pipe(Effect.provide(NodeFileSystem.layer))
      expect(p).toEqual({ node: "/usr/local/bin/node", script: fs.realpathSync(bundle) })
    }))

  it.effect("from TypeScript source, the package's built bundle stands in; without one it says to build", () =>
    Effect.gen(function*() {
      const pkg = path.join(root, "pkg")
      fs.mkdirSync(path.join(pkg, "src"), { recursive: true })
      fs.writeFileSync(path.join(pkg, "package.json"), `{ "name": "a3s-box" }`)
      fs.writeFileSync(path.join(pkg, "src", "bin.ts"), "")
      const input = { execPath: "/usr/bin/node", argv1: path.join(pkg, "src", "bin.ts"), cwd: "/" }
      const missing = yield* Effect.flip(ServiceInstaller.programFrom(input).pipe(Effect.provide(NodeFileSystem.layer)))
      expect(missing.message).toContain("npm run build")
      fs.mkdirSync(path.join(pkg, "dist"))
      fs.writeFileSync(path.join(pkg, "dist", "a3s-box.cjs"), "")
      const p = yield* ServiceInstaller.programFrom(input).pipe(Effect.provide(NodeFileSystem.layer))
      expect(p.script).toBe(path.join(fs.realpathSync(pkg), "dist", "a3s-box.cjs"))
    }))
})

describe("monitor --install/--uninstall flags", () => {
  it("the monitor's other non-default flags are carried into the unit", () => {
    expect(ServiceCommands.carriedMonitorArgs({ logFormat: "text", livenessTick: 100, metricsPerBox: false })).toEqual([
      "--standby"
    ])
    expect(ServiceCommands.carriedMonitorArgs({ logFormat: "json", livenessTick: 250, metricsPerBox: true })).toEqual([
      "--log-format",
      "json",
      "--liveness-tick",
      "250",
      "--metrics-per-box",
      "--standby"
    ])
    // Given or not, the service always waits for a monitor started by hand instead of crash-looping.
    expect(ServiceCommands.carriedMonitorArgs({ standby: true })).toEqual(["--standby"])
  })

  it("the event hooks' flags are carried: every --on-event, the filter as given, non-default timeout and concurrency", () => {
    const hook = `curl -sS --data-binary @- 'https://hooks.example/x?a=1&b=$A3S_BOX_NAME' # 100%`
    expect(ServiceCommands.carriedMonitorArgs({
      onEvent: [hook, "notify-send \"$A3S_EVENT\""],
      onEventFilter: Option.some("die,unhealthy"),
      onEventTimeout: 30,
      onEventConcurrency: 2
    })).toEqual([
      "--on-event",
      hook,
      "--on-event",
      "notify-send \"$A3S_EVENT\"",
      "--on-event-filter",
      "die,unhealthy",
      "--on-event-timeout",
      "30",
      "--on-event-concurrency",
      "2",
      "--standby"
    ])
    expect(ServiceCommands.carriedMonitorArgs({ onEvent: [], onEventFilter: Option.none(), onEventTimeout: 10, onEventConcurrency: 4 }))
      .toEqual(["--standby"])
  })

  it("the fix for a stale unit re-installs with every flag the unit had", () => {
    const argv = ["/old/node", "/x.mjs", "monitor", "--interval", "7", "--log-format", "json", "--metrics-addr", "[::1]:9"]
    expect(ServiceCommands.reinstallCommand(argv, Option.some("/h"), "/h")).toBe(
      "a3s-box monitor --install --interval 7 --log-format json --metrics-addr '[::1]:9'"
    )
    expect(ServiceCommands.reinstallCommand(argv, Option.some("/a b"), "/h")).toBe(
      "A3S_HOME='/a b' a3s-box monitor --install --interval 7 --log-format json --metrics-addr '[::1]:9'"
    )
  })

  it.effect("--install with --uninstall is a usage error (exit 2) with a clear message", () =>
    Effect.gen(function*() {
      const captured = capturedConsole()
      const action = ServiceCommands.monitorServiceAction({
        install: true,
        uninstall: true,
        linger: false,
        intervalSecs: 5,
        metricsAddr: Option.none()
      })
      expect(Option.isSome(action)).toBe(true)
      const before = process.exitCode
      try {
        yield* Effect.withConsole(Option.getOrThrow(action), captured.console).pipe(
          Effect.provide(Layer.mergeAll(NodeFileSystem.layer, fakeExecutor(() => undefined).layer))
        )
        expect(process.exitCode).toBe(2)
      } finally {
        process.exitCode = before
      }
      expect(captured.err).toEqual(["Error: --install and --uninstall cannot be used together: give one of them"])
    }))

  it("neither flag: the monitor runs", () => {
    expect(
      Option.isNone(ServiceCommands.monitorServiceAction({
        install: false,
        uninstall: false,
        linger: false,
        intervalSecs: 5,
        metricsAddr: Option.none()
      }))
    ).toBe(true)
  })
})

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("reading the service manager's answers", () => {
  it("the probe asks wildcard listen addresses on loopback, and cannot find port 0", () => {
    expect(HealthProbe.probeBase("0.0.0.0:9464")).toEqual(Either.right("http://127.0.0.1:9464"))
    expect(HealthProbe.probeBase("[::]:9464")).toEqual(Either.right("http://[::1]:9464"))
    expect(HealthProbe.probeBase("localhost:80")).toEqual(Either.right("http://localhost:80"))
    expect(Either.isLeft(HealthProbe.probeBase("127.0.0.1:0"))).toBe(true)
    expect(Either.isLeft(HealthProbe.probeBase("nonsense"))).toBe(true)
  })

  it("systemctl show: a unit in auto-restart has no main pid", () => {
    expect(Systemd.parseSystemdShow(
      "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nUnitFileState=enabled\nMainPID=0\nNRestarts=7\n"
    )).toEqual({
      _tag: "Known",
      enabled: "enabled",
      active: "activating",
      sub: "auto-restart",
      mainPid: Option.none(),
      restarts: Option.some(7),
      lastExitStatus: Option.none()
    })
  })

  it("the last poll's age is read from the exposition, labels or not", () => {
    expect(HealthProbe.secondsSinceLastPoll("# HELP x\na3s_box_monitor_seconds_since_last_poll 3.5\n")).toEqual(Option.some(3.5))
    expect(HealthProbe.secondsSinceLastPoll("a3s_box_monitor_seconds_since_last_poll{a=\"b\"} 2\n")).toEqual(Option.some(2))
    expect(HealthProbe.secondsSinceLastPoll("a3s_box_monitor_up 1\n")).toEqual(Option.none())
  })
})
