/**
 * End to end: the built CLI (`dist/a3s-box.mjs`, run by a Node binary and from a directory whose
 * paths need quoting) installs the monitor into a real `systemd --user` manager; systemd restarts
 * it after SIGKILL; `status` reads it back; `--uninstall` removes it. And the manual fallback with
 * the real `systemctl` and no manager to reach.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  startSystemdUserManager,
  type SystemdUserManager,
  unavailableReason,
  waitFor
} from "../support/systemdUserManager.js"
import { missingTools } from "./tools.js"
import { freePort } from "../support/freePort.js"

const BUNDLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "a3s-box.mjs")
const UNIT = "a3s-box-monitor.service"

const managerSkip = unavailableReason()
if (managerSkip !== undefined) {
  if (process.env["CI"] === "true") throw new Error(`CI=true and no systemd --user manager can run here: ${managerSkip}`)
  console.warn(`skipping the systemd --user end-to-end test: ${managerSkip}`)
}
const systemctlSkip = missingTools("systemctl")

let root = ""
beforeAll(() => {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`)
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-service-e2e-"))
})
afterAll(() => {
  if (root !== "") fs.rmSync(root, { recursive: true, force: true })
})

/** The program at awkward paths: a Node symlink and a copy of the bundle, both in directories that need quoting. */
const awkwardProgram = (tag: string) => {
  const nodeDir = path.join(root, tag, "node bin 100% $PATH")
  fs.mkdirSync(nodeDir, { recursive: true })
  // A hard link (or a copy): Node resolves symlinks in process.execPath, so a symlink would not do.
  const node = path.join(nodeDir, "node")
  try {
    fs.linkSync(process.execPath, node)
  } catch {
    fs.copyFileSync(process.execPath, node)
    fs.chmodSync(node, 0o755)
  }
  // (Node cannot run an ES module whose path holds a backslash: that one goes into the home.)
  const scriptDir = path.join(root, tag, `lib "a3s" it's 50% \${HOME} $$ ;`)
  fs.mkdirSync(scriptDir, { recursive: true })
  const script = path.join(scriptDir, "a3s-box.mjs")
  fs.copyFileSync(BUNDLE, script)
  // The entry runs the bundle beside it, with its code cache (scripts/bundle.mjs).
  for (const file of ["a3s-box.cjs", "a3s-box.bundle.cjs", "a3s-box.bundle.cache"]) {
    fs.copyFileSync(path.join(path.dirname(BUNDLE), file), path.join(scriptDir, file))
  }
  const home = path.join(root, tag, "a3s home %h $USER & <x> back\\slash")
  return { node, script, home }
}

interface Cli {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const cli = (
  program: { node: string; script: string; home: string },
  env: Readonly<Record<string, string>>,
  ...args: ReadonlyArray<string>
): Cli => {
  const r = spawnSync(program.node, [program.script, ...args], {
    env: { ...env, A3S_HOME: program.home },
    encoding: "utf8",
    timeout: 60_000
  })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Field 22 of /proc/PID/stat: the start time that tells a pid's process from a later one's. */
const startTime = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}
const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1)
const environ = (pid: number) =>
  Object.fromEntries(
    fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])
  )

// Skipped only on a machine without the tool, with the reason printed above; with CI=true a missing
// tool throws at load time (missingTools / the check above), so CI never skips this.
describe.skipIf(managerSkip !== undefined)("against a real systemd --user manager", () => {
  let manager: SystemdUserManager | undefined
  beforeAll(async () => {
    manager = await startSystemdUserManager()
  })
  afterAll(async () => {
    await manager?.stop()
  })

  const mainPid = () => Number(manager!.systemctl("show", "-p", "MainPID", "--value", UNIT).stdout.trim())
  const activeState = () => manager!.systemctl("show", "-p", "ActiveState", "--value", UNIT).stdout.trim()

  it("monitor --install starts it, SIGKILL gets it restarted, status reads it back, --uninstall removes it", async () => {
    const m = manager!
    const program = awkwardProgram("main")
    const unitFile = path.join(m.home, ".config", "systemd", "user", UNIT)

    const installed = cli(program, m.env, "monitor", "--install", "--interval", "1")
    expect(installed.stderr).toBe("")
    expect(installed.status).toBe(0)
    expect(installed.stdout).toContain(`Wrote ${unitFile}\n`)
    expect(installed.stdout).toContain("Ran systemctl --user enable --now a3s-box-monitor.service\n")
    expect(installed.stdout).toContain("The a3s-box monitor service is installed and started.\n")

    const first = await waitFor("the service to be active with a main pid", () => {
      const pid = mainPid()
      return activeState() === "active" && pid > 0 ? pid : undefined
    })
    // The very program that ran --install, by its absolute paths, every awkward character intact.
    expect(cmdline(first)).toEqual([program.node, program.script, "monitor", "--interval", "1", "--standby"])
    expect(environ(first)["A3S_HOME"]).toBe(program.home)

    const identity = startTime(first)
    expect(identity).toBeDefined()
    if (startTime(first) === identity) process.kill(first, "SIGKILL")
    const second = await waitFor("systemd to restart the monitor after SIGKILL", () => {
      const pid = mainPid()
      return activeState() === "active" && pid > 0 && pid !== first ? pid : undefined
    })
    expect(Number(m.systemctl("show", "-p", "NRestarts", "--value", UNIT).stdout.trim())).toBeGreaterThanOrEqual(1)
    expect(cmdline(second)).toEqual([program.node, program.script, "monitor", "--interval", "1", "--standby"])

    const status = cli(program, m.env, "monitor", "status", "--format", "json")
    expect(status.status).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({
      manager: "systemd",
      unit_path: unitFile,
      installed: true,
      stale: false,
      unit: { node: program.node, script: program.script, interval_secs: 1, home: program.home, metrics_addr: null },
      enabled_on_disk: true,
      service_manager: { available: true, enabled: "enabled", active: "active", sub_state: "running", main_pid: second }
    })

    // Re-installing with another interval rewrites the unit and restarts the service with it.
    const again = cli(program, m.env, "monitor", "install", "--interval", "2")
    expect(again.status).toBe(0)
    expect(again.stdout).toContain("Ran systemctl --user restart a3s-box-monitor.service\n")
    const third = await waitFor("the restarted monitor with --interval 2", () => {
      const pid = mainPid()
      return activeState() === "active" && pid > 0 && pid !== second ? pid : undefined
    })
    expect(cmdline(third)).toEqual([program.node, program.script, "monitor", "--interval", "2", "--standby"])

    const removed = cli(program, m.env, "monitor", "--uninstall")
    expect(removed.stderr).toBe("")
    expect(removed.status).toBe(0)
    expect(removed.stdout).toBe(
      [
        "Ran systemctl --user disable --now a3s-box-monitor.service",
        `Removed ${unitFile}`,
        "Ran systemctl --user daemon-reload",
        "The a3s-box monitor service is uninstalled.",
        ""
      ].join("\n")
    )
    expect(fs.existsSync(unitFile)).toBe(false)
    expect(m.systemctl("is-active", UNIT).stdout.trim()).toBe("inactive")
    await waitFor("the monitor process to exit", () => (startTime(third) === undefined ? true : undefined))

    const twice = cli(program, m.env, "monitor", "uninstall")
    expect(twice.status).toBe(0)
    expect(twice.stdout).toBe(`No a3s-box monitor service is installed (no ${unitFile}); nothing to do.\n`)
  })

  it("with --metrics-addr (and other monitor flags), status reports /healthz and the last poll's age", async () => {
    const m = manager!
    const program = { node: process.execPath, script: BUNDLE, home: path.join(root, "metrics-home") }
    const port = await freePort()
    const addr = `127.0.0.1:${port}`
    const installed = cli(program, m.env, "monitor", "--log-format", "json", "install", "--interval", "1", "--metrics-addr", addr)
    expect(installed.stderr).toBe("")
    expect(installed.status).toBe(0)
    const pid = await waitFor("the service to be active", () => {
      const p = mainPid()
      return activeState() === "active" && p > 0 ? p : undefined
    })
    expect(cmdline(pid).slice(2)).toEqual(["monitor", "--interval", "1", "--metrics-addr", addr, "--log-format", "json", "--standby"])
    const health = await waitFor("the monitor's /healthz to answer 200", () => {
      const status = JSON.parse(cli(program, m.env, "monitor", "status", "--format", "json").stdout)
      return status.health.reachable === true && status.health.status === 200 ? status.health : undefined
    })
    expect(health).toMatchObject({ probed: true, url: `http://${addr}/healthz`, body: "ok" })
    expect(health.seconds_since_last_poll).toBeGreaterThanOrEqual(0)
    expect(health.seconds_since_last_poll).toBeLessThan(30)
    const text = cli(program, m.env, "monitor", "status").stdout
    expect(text).toMatch(new RegExp(`  health:   ok \\(http://${addr.replace(/\./g, "\\.")}/healthz answered 200\\); last poll [0-9.]+s ago\n`))
    expect(cli(program, m.env, "monitor", "--uninstall").status).toBe(0)
  })

  it("installed while a monitor started by hand holds the home, the service waits (no crash loop) and takes over when it dies", async () => {
    const m = manager!
    const program = { node: process.execPath, script: BUNDLE, home: path.join(root, "standby-home") }
    const byHand = spawn(program.node, [program.script, "monitor", "--interval", "1"], {
      env: { ...m.env, A3S_HOME: program.home },
      stdio: "ignore"
    })
    const handPid = byHand.pid!
    const handIdentity = await waitFor("the hand-started monitor's start time", () => startTime(handPid))
    try {
      const heartbeatPid = () => {
        try {
          return JSON.parse(fs.readFileSync(path.join(program.home, "monitor.json"), "utf8")).pid as number
        } catch {
          return undefined
        }
      }
      await waitFor("the hand-started monitor's heartbeat", () => (heartbeatPid() === handPid ? true : undefined))
      expect(cli(program, m.env, "monitor", "--install", "--interval", "1").status).toBe(0)
      const servicePid = await waitFor("the service to be active", () => {
        const p = mainPid()
        return activeState() === "active" && p > 0 ? p : undefined
      })
      // Standing by, not exiting 1 and being restarted every RestartSec.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      expect(mainPid()).toBe(servicePid)
      expect(Number(m.systemctl("show", "-p", "NRestarts", "--value", UNIT).stdout.trim())).toBe(0)
      expect(heartbeatPid()).toBe(handPid)
      const status = JSON.parse(cli(program, m.env, "monitor", "status", "--format", "json").stdout)
      expect(status.monitor).toMatchObject({ state: "running", pid: handPid })

      if (startTime(handPid) === handIdentity) process.kill(handPid, "SIGKILL")
      await waitFor("the service's monitor to take over the home", () => (heartbeatPid() === servicePid ? true : undefined))
      expect(mainPid()).toBe(servicePid)
    } finally {
      if (startTime(handPid) === handIdentity) process.kill(handPid, "SIGKILL")
      cli(program, m.env, "monitor", "--uninstall")
    }
  })

  it("boxes the service's monitor restarted survive a restart of the service (KillMode=process)", async () => {
    const m = manager!
    const program = { node: process.execPath, script: BUNDLE, home: path.join(root, "boxes-home") }
    const inspect = () => JSON.parse(cli(program, m.env, "inspect", "keeper").stdout)[0] as { pid: number | null; status: string }
    expect(cli(program, m.env, "run", "-d", "--name", "keeper", "--restart", "always", "--", "sleep", "300").status).toBe(0)
    expect(cli(program, m.env, "monitor", "--install", "--interval", "1").status).toBe(0)
    const crashed = inspect().pid!
    const identity = startTime(crashed)
    if (identity !== undefined && startTime(crashed) === identity) process.kill(crashed, "SIGKILL")
    // The monitor restarts it: the new box process is the service's child, in the service's cgroup.
    const box = await waitFor("the monitor to restart the killed box", () => {
      const b = inspect()
      return b.status === "running" && b.pid !== null && b.pid !== crashed && startTime(b.pid) !== undefined ? b.pid : undefined
    }, 30_000)
    expect(fs.readFileSync(`/proc/${box}/cgroup`, "utf8")).toContain(UNIT)
    const boxIdentity = startTime(box)
    const before = mainPid()
    expect(m.systemctl("restart", UNIT).status).toBe(0)
    await waitFor("the service to come back", () => {
      const p = mainPid()
      return activeState() === "active" && p > 0 && p !== before ? p : undefined
    })
    expect(startTime(box)).toBe(boxIdentity)
    expect(inspect()).toMatchObject({ status: "running", pid: box })
    expect(cli(program, m.env, "monitor", "--uninstall").status).toBe(0)
    expect(startTime(box)).toBe(boxIdentity)
    expect(cli(program, m.env, "rm", "-f", "keeper").status).toBe(0)
  })

  it("a unit whose Node binary is gone is reported stale with the fix, and fails at start (Type=exec)", async () => {
    const m = manager!
    const program = awkwardProgram("stale")
    expect(cli(program, m.env, "monitor", "--install", "--interval", "3").status).toBe(0)
    await waitFor("the service to be active", () => (activeState() === "active" ? true : undefined))
    // Node "upgraded away": the path the unit names no longer exists.
    fs.unlinkSync(program.node)
    const viaRealNode = { ...program, node: process.execPath }
    const text = cli(viaRealNode, m.env, "monitor", "status")
    expect(text.status).toBe(0)
    expect(text.stdout).toContain(`  STALE:    the Node binary ${program.node} no longer exists: the service cannot start.\n`)
    expect(text.stdout).toContain(
      "            Fix: re-run the install with the a3s-box and Node you use now: a3s-box monitor --install --interval 3\n"
    )
    const restart = m.systemctl("restart", UNIT)
    expect(restart.status).not.toBe(0)
    expect(activeState()).not.toBe("active")
    // The fix works: re-install from a Node that exists.
    const fixed = cli(viaRealNode, m.env, "monitor", "--install", "--interval", "3")
    expect(fixed.status).toBe(0)
    const pid = await waitFor("the re-installed service", () => {
      const p = mainPid()
      return activeState() === "active" && p > 0 ? p : undefined
    })
    expect(cmdline(pid)[0]).toBe(process.execPath)
    expect(JSON.parse(cli(viaRealNode, m.env, "monitor", "status", "--format", "json").stdout).stale).toBe(false)
    expect(cli(viaRealNode, m.env, "monitor", "--uninstall").status).toBe(0)
  })
})

// Skipped only on a machine without the tool, with the reason printed above; with CI=true a missing
// tool throws at load time (missingTools / the check above), so CI never skips this.
describe.skipIf(systemctlSkip !== undefined)("with the real systemctl and no manager to reach", () => {
  it("the unit is written and the exact manual command printed, exit 0; uninstall removes it all the same", () => {
    const home = path.join(root, "nobus-home")
    const runtimeDir = path.join(root, "nobus-run")
    fs.mkdirSync(home)
    fs.mkdirSync(runtimeDir, { mode: 0o700 })
    const env = { HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH: process.env["PATH"] ?? "/usr/bin:/bin" }
    const program = { node: process.execPath, script: BUNDLE, home: path.join(home, ".a3s") }
    const unitFile = path.join(home, ".config", "systemd", "user", UNIT)

    const installed = cli(program, env, "monitor", "--install")
    expect(installed.status).toBe(0)
    expect(installed.stdout).toBe("")
    expect(installed.stderr).toBe(
      [
        `Wrote ${unitFile}, but could not enable it: \`systemctl --user daemon-reload\` exited with code 1:`,
        "  Failed to connect to bus: No such file or directory",
        "To finish, run:",
        "  systemctl --user daemon-reload && systemctl --user enable --now a3s-box-monitor.service",
        ""
      ].join("\n")
    )
    expect(fs.readFileSync(unitFile, "utf8")).toMatch(/^ExecStart=.* monitor --interval 5 --standby$/m)

    const removed = cli(program, env, "monitor", "--uninstall")
    expect(removed.status).toBe(0)
    expect(fs.existsSync(unitFile)).toBe(false)
    expect(removed.stderr).toContain("If a monitor service is still running, stop it with:\n")
  })

  it("--install with --uninstall is a usage error, exit 2, nothing written", () => {
    const home = path.join(root, "usage-home")
    fs.mkdirSync(home)
    const env = { HOME: home, PATH: process.env["PATH"] ?? "/usr/bin:/bin" }
    const r = cli({ node: process.execPath, script: BUNDLE, home: path.join(home, ".a3s") }, env, "monitor", "--install", "--uninstall")
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("--install and --uninstall cannot be used together")
    expect(fs.existsSync(path.join(home, ".config"))).toBe(false)
  })
})
