/**
 * One monitor per home, and no silent loss of supervision (SPEC §11), end to end: the built CLI
 * (dist/a3s-box.mjs), real monitors and real box processes in a temp A3S_HOME.
 *
 * Every box runs `sleep` with a per-test marker in its environment, so the process table can be
 * searched for every process of every box (also ones no record names). Cleanup kills every
 * monitor (our unreaped children: their pids cannot have been reused) and every marked process
 * (after re-checking its start time), and removes the home, also when a test fails.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { removeDir } from "../support/removeDir.js"
import { makeBox } from "./boxes.js"
import { bin, readStat, requireBuild, waitFor } from "./e2e.js"

const MARKER = "A3S_LEASE_E2E"

interface LogLine {
  readonly at: number
  readonly message: string
}

interface MonitorProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly logs: Array<LogLine>
  /** Everything it printed that was not a JSON log line (stderr included). */
  readonly other: Array<string>
  killedAt?: number
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

interface StateBox {
  readonly id: string
  readonly name: string
  readonly short_id: string
  readonly status: string
  readonly pid: number | null
  readonly pid_start_time: number | null
  readonly restart_count: number
}

interface BoxProcess {
  readonly pid: number
  readonly startTime: number
  readonly box: string
}

class Home {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-lease-e2e-"))
  readonly token = randomBytes(6).toString("hex")
  readonly monitors: Array<MonitorProcess> = []

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, A3S_HOME: this.dir, NO_COLOR: "1", ...extra }
    delete env["A3S_NO_MONITOR_WARNING"]
    return { ...env, ...extra }
  }

  cli(args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) {
    const result = spawnSync(process.execPath, [bin, ...args], { env: this.env(extraEnv), encoding: "utf8", timeout: 60_000 })
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  /** `run -d` of a `sleep` box marked with this test's token; returns its record once running. */
  runBox(name: string, ...flags: ReadonlyArray<string>): StateBox {
    const result = this.cli(["run", "-d", "--quiet", "--name", name, "--env", `${MARKER}=${this.token}:${name}`, ...flags, "--", "sleep", "1000"])
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const box = this.box(name)
    expect(box?.status).toBe("running")
    return box!
  }

  state(): ReadonlyArray<StateBox> {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, "boxes.json"), "utf8")) as ReadonlyArray<StateBox>
    } catch {
      return []
    }
  }

  box(name: string): StateBox | undefined {
    return this.state().find((b) => b.name === name)
  }

  heartbeat(): Record<string, unknown> | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, "monitor.json"), "utf8")) as Record<string, unknown>
    } catch {
      return undefined
    }
  }

  leaseHolder(): number | undefined {
    try {
      return (JSON.parse(fs.readFileSync(path.join(this.dir, "monitor.lease"), "utf8")) as { pid: number }).pid
    } catch {
      return undefined
    }
  }

  /** Live (non-zombie) `sleep` processes carrying this test's marker, i.e. the boxes' commands. */
  boxProcesses(): ReadonlyArray<BoxProcess> {
    return this.markedProcesses().filter((p) => p.comm === "sleep")
  }

  /** Every live process carrying this test's marker: box commands, their wrappers, gated jobs. */
  markedProcesses(): ReadonlyArray<BoxProcess & { readonly comm: string }> {
    const found: Array<BoxProcess & { readonly comm: string }> = []
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^[0-9]+$/.test(entry)) continue
      const pid = Number(entry)
      let environ: string
      let comm: string
      try {
        environ = fs.readFileSync(`/proc/${pid}/environ`, "latin1")
        comm = fs.readFileSync(`/proc/${pid}/comm`, "latin1").trim()
      } catch {
        continue
      }
      const mark = environ.split("\0").find((v) => v.startsWith(`${MARKER}=${this.token}:`))
      if (mark === undefined) continue
      const stat = readStat(pid)
      if (stat === undefined || stat.state === "Z" || stat.state === "X") continue
      found.push({ pid, startTime: stat.startTime, box: mark.slice(`${MARKER}=${this.token}:`.length), comm })
    }
    return found
  }

  /** Starts `a3s-box monitor --log-format json ARGS`; does not wait for anything. */
  startMonitor(...args: ReadonlyArray<string>): MonitorProcess {
    const child = spawn(process.execPath, [bin, "monitor", "--log-format", "json", ...args], {
      env: this.env(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    const logs: Array<LogLine> = []
    const other: Array<string> = []
    let buffer = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        try {
          // `--log-format json`: {time, level, msg, ...fields} (MonitorLogger).
          const entry = JSON.parse(line) as { msg: string; time: string }
          logs.push({ at: Date.parse(entry.time), message: entry.msg })
        } catch {
          other.push(line)
        }
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => other.push(chunk))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    const monitor: MonitorProcess = { child, pid: child.pid!, logs, other, exited }
    this.monitors.push(monitor)
    return monitor
  }

  async startedMonitor(...args: ReadonlyArray<string>): Promise<MonitorProcess> {
    const monitor = this.startMonitor(...args)
    await waitFor("the monitor's start line", () => started(monitor) !== undefined, 30_000)
    return monitor
  }

  /** Signals a monitor (our unreaped child) and waits for its exit. */
  async kill(monitor: MonitorProcess, signal: NodeJS.Signals) {
    if (monitor.child.exitCode === null && monitor.child.signalCode === null) {
      monitor.killedAt = Date.now()
      monitor.child.kill(signal)
    }
    return monitor.exited
  }

  async cleanup() {
    for (const monitor of this.monitors) {
      if (monitor.child.exitCode !== null || monitor.child.signalCode !== null) continue
      monitor.child.kill("SIGKILL")
      await monitor.exited
    }
    for (const p of this.markedProcesses()) {
      // Re-checked right before the kill: the same process, still.
      if (readStat(p.pid)?.startTime !== p.startTime) continue
      try {
        process.kill(p.pid, "SIGKILL")
      } catch {
        // gone meanwhile
      }
    }
    // Their wrappers may still be writing exit codes into the home: wait for them to go.
    await waitFor("the boxes' processes to go", () => this.markedProcesses().length === 0, 10_000).catch(() => undefined)
    removeDir(this.dir)
  }
}

const started = (monitor: MonitorProcess) => monitor.logs.find((l) => l.message.startsWith("a3s-box monitor started"))

const homes: Array<Home> = []
const newHome = () => {
  const home = new Home()
  homes.push(home)
  return home
}

beforeAll(() => requireBuild())

afterEach(async () => {
  for (const home of homes.splice(0)) await home.cleanup()
})

/** Kills a box's recorded process with SIGKILL, if it is still that process. */
const killBox = (box: StateBox | undefined) => {
  if (box === undefined || box.pid === null) return
  if (readStat(box.pid)?.startTime !== box.pid_start_time) return
  try {
    process.kill(box.pid, "SIGKILL")
  } catch {
    // gone already
  }
}

describe("one monitor per home (built CLI)", () => {
  it("a second monitor exits 1 at once, naming the running one's pid; the first goes on; SIGTERM marks the heartbeat stopped", async () => {
    const home = newHome()
    const first = await home.startedMonitor("--interval", "1")
    const heartbeat = await waitFor("the first heartbeat", () => home.heartbeat())
    expect(heartbeat).toMatchObject({ pid: first.pid, interval_secs: 1, metrics_addr: null, stopped_at: null })
    expect(home.leaseHolder()).toBe(first.pid)
    // On a loaded machine the first cycle may complete well after the heartbeat is first written.
    await waitFor("a completed poll cycle in the heartbeat", () => home.heartbeat()?.["last_cycle_at"] ?? undefined)

    const second = home.cli(["monitor", "--interval", "1"])
    expect(second.status).toBe(1)
    expect(second.stderr).toContain(`Error: another a3s-box monitor (pid ${first.pid}, since `)
    expect(second.stderr).toContain("--standby")
    expect(second.stdout).not.toContain("a3s-box monitor started")
    // The loser touched nothing.
    expect(home.leaseHolder()).toBe(first.pid)
    expect(home.heartbeat()?.["pid"]).toBe(first.pid)
    expect(first.child.exitCode).toBeNull()

    // `monitor status` sees the hand-started monitor through its heartbeat.
    const status = home.cli(["monitor", "status", "--format", "json"])
    expect(status.status).toBe(0)
    expect(JSON.parse(status.stdout).monitor).toMatchObject({ state: "running", supervising: true, pid: first.pid })
    const text = home.cli(["monitor", "status"])
    expect(text.stdout).toMatch(new RegExp(`monitor: +running \\(pid ${first.pid}, last poll cycle \\d+s ago, interval 1s`))

    expect(await home.kill(first, "SIGTERM")).toEqual({ code: 0, signal: null })
    expect(home.heartbeat()?.["stopped_at"]).not.toBeNull()
    expect(fs.existsSync(path.join(home.dir, "monitor.lease"))).toBe(false)
    const after = home.cli(["monitor", "status", "--format", "json"])
    expect(JSON.parse(after.stdout).monitor).toMatchObject({ state: "not-running", reason: "stopped", pid: first.pid })
  })

  it("with --standby it waits quietly, and takes over within one interval after the first is SIGKILLed", async () => {
    const home = newHome()
    const box = home.runBox("web", "--restart", "always")
    const first = await home.startedMonitor("--interval", "5")
    const standby = home.startMonitor("--interval", "5", "--standby")
    await waitFor("the standby line", () => standby.logs.some((l) => l.message.startsWith("monitor: standby:")))
    expect(standby.logs.map((l) => l.message)).toEqual([
      `monitor: standby: pid ${first.pid} is supervising ${home.dir}; this monitor takes over when it exits`
    ])
    // Still waiting after the first one has written a heartbeat for a completed cycle.
    await waitFor("a heartbeat with a completed cycle", () => home.heartbeat()?.["last_cycle_at"] !== null, 30_000)
    expect(started(standby)).toBeUndefined()
    expect(home.heartbeat()?.["pid"]).toBe(first.pid)

    await home.kill(first, "SIGKILL")
    const takeover = await waitFor(
      "the take-over line",
      () => standby.logs.find((l) => l.message.includes("takes over supervision of")),
      30_000
    )
    expect(takeover.message).toBe(
      `monitor: standby: pid ${first.pid} is gone; this monitor (pid ${standby.pid}) takes over supervision of ${home.dir}`
    )
    // Within one interval (5 s) of the death; the standby looks every second.
    expect(takeover.at - first.killedAt!).toBeLessThan(5_000)
    await waitFor("the new monitor's start line", () => started(standby))
    expect(home.leaseHolder()).toBe(standby.pid)
    await waitFor("the new heartbeat", () => home.heartbeat()?.["pid"] === standby.pid)

    // And it supervises: a crash of the box is repaired by the new monitor.
    killBox(box)
    const restarted = await waitFor("the box restarted", () => {
      const b = home.box("web")
      return b !== undefined && b.status === "running" && b.pid !== box.pid ? b : undefined
    }, 30_000)
    expect(restarted.restart_count).toBe(1)
    // The log line may trail the state file by a moment (stdout pipe).
    await waitFor("the restart's log line", () => standby.logs.some((l) => l.message.endsWith("restarted (count: 1)")))
    expect(first.logs.some((l) => l.message.includes("restarted"))).toBe(false)
  })

  it("crash storm: boxes and monitors SIGKILLed over and over; never two monitors at once, never a box booted twice", async () => {
    const home = newHome()
    const names = ["a", "b", "c"]
    for (const name of names) home.runBox(name, "--restart", "always")
    // A deterministic pseudo-random sequence.
    let seed = 20261126
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648

    // When a monitor took the lease: the first thing it logs then.
    const heldFrom = (m: MonitorProcess) =>
      m.logs.find((l) => l.message.includes("takes over supervision of") || l.message.includes("taking over its lease") || l.message.startsWith("a3s-box monitor started"))?.at
    let active = await home.startedMonitor("--interval", "1")
    home.startMonitor("--interval", "1", "--standby")
    let monitorKills = 0
    let boxKills = 0
    for (let step = 0; step < 24; step++) {
      if (random() < 0.3) {
        // SIGKILL whoever holds the lease now (once a standby has taken over from the last one
        // and said so), and start a new standby in its place.
        const holder = await waitFor("a live monitor holding the lease", () =>
          home.monitors.find((m) =>
            m.pid === home.leaseHolder() && m.child.exitCode === null && m.child.signalCode === null &&
            heldFrom(m) !== undefined
          ), 60_000)
        await home.kill(holder, "SIGKILL")
        monitorKills++
        home.startMonitor("--interval", "1", "--standby")
      } else {
        killBox(home.box(names[Math.floor(random() * names.length)]!))
        boxKills++
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(random() * 400)))
    }
    expect(monitorKills).toBeGreaterThanOrEqual(4)
    expect(boxKills).toBeGreaterThanOrEqual(10)

    // Settle: the lease holder is a live monitor that started, and every box runs on a live pid.
    active = await waitFor("a monitor holding the lease", () =>
      home.monitors.find((m) => m.pid === home.leaseHolder() && m.child.exitCode === null && started(m) !== undefined), 30_000)
    const settled = await waitFor("every box running again", () => {
      const boxes = home.state()
      const ok = names.every((name) => {
        const b = boxes.find((x) => x.name === name)
        return b !== undefined && b.status === "running" && b.pid !== null && readStat(b.pid)?.startTime === b.pid_start_time
      })
      return ok ? boxes : undefined
    }, 90_000)
    // Give a monitor that booted something unrecorded a chance to show it: two more cycles.
    const cycle = Date.parse(String(home.heartbeat()?.["last_cycle_at"] ?? new Date(0).toISOString()))
    await waitFor("two more poll cycles", () => Date.parse(String(home.heartbeat()?.["last_cycle_at"])) >= cycle + 2_000, 30_000)

    // The process table: exactly one live process per box, and it is the recorded one.
    const processes = home.boxProcesses()
    for (const name of names) {
      const recorded = home.box(name)!
      const live = processes.filter((p) => p.box === name)
      expect(live.map((p) => [p.pid, p.startTime]), `processes of box ${name}`).toEqual([[recorded.pid, recorded.pid_start_time]])
    }
    expect(processes).toHaveLength(names.length)
    expect(settled.length).toBe(names.length)

    // Never two monitors at once: each one's supervising period (from taking the lease, the first
    // thing it logs then, to its death) ends before the next one's begins, and every restart
    // falls inside its monitor's period.
    const periods = home.monitors
      .filter((m) => heldFrom(m) !== undefined)
      .map((m) => ({ m, from: heldFrom(m)!, to: m.killedAt ?? Number.POSITIVE_INFINITY }))
      .sort((x, y) => x.from - y.from)
    expect(periods.length).toBe(monitorKills + 1)
    for (let i = 1; i < periods.length; i++) expect(periods[i]!.from).toBeGreaterThan(periods[i - 1]!.to)
    let restarts = 0
    for (const { m, from, to } of periods) {
      for (const line of m.logs.filter((l) => l.message.includes("restarted (count:"))) {
        restarts++
        expect(line.at).toBeGreaterThanOrEqual(from)
        expect(line.at).toBeLessThanOrEqual(to)
      }
    }
    expect(restarts).toBeGreaterThanOrEqual(1)
    // Monitors that never held the lease never restarted anything.
    for (const m of home.monitors.filter((x) => heldFrom(x) === undefined)) {
      expect(m.logs.filter((l) => l.message.includes("restart"))).toEqual([])
    }
    expect(active.child.exitCode).toBeNull()
  }, 180_000)
})

describe("no silent loss of supervision (built CLI)", () => {
  const warning = /^Warning: (\d+) box(es)? with a restart policy or health check (is|are) not supervised: /

  it("ps, run -d and start warn on stderr only, with the same stdout and exit code as with --quiet or A3S_NO_MONITOR_WARNING=1", async () => {
    const home = newHome()
    home.runBox("web", "--restart", "always")
    home.runBox("plain")

    // JSON output: unlike the table's "N seconds ago", it does not change from one run to the next.
    const loud = home.cli(["ps", "-a", "--format", "json"])
    const quiet = home.cli(["ps", "-a", "--format", "json", "--quiet"])
    const silenced = home.cli(["ps", "-a", "--format", "json"], { A3S_NO_MONITOR_WARNING: "1" })
    expect(loud.status).toBe(0)
    expect(loud.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(loud.stderr).toMatch(warning)
    expect(loud.stderr).toContain("1 box with a restart policy or health check is not supervised")
    expect(loud.stderr).toContain(`no a3s-box monitor is running for ${home.dir}`)
    expect(loud.stderr).toContain("`a3s-box monitor`")
    expect(loud.stderr).toContain("`a3s-box monitor --install`")
    for (const other of [quiet, silenced]) {
      expect(other).toEqual({ status: 0, stdout: loud.stdout, stderr: "" })
    }
    // Scripts parse stdout, whatever stderr says.
    expect(JSON.parse(loud.stdout)).toHaveLength(2)
    const table = home.cli(["ps"])
    expect(table.stdout).toMatch(/^NAME +ID +STATUS/)
    expect(table.stderr).toMatch(warning)

    const run = home.cli(["run", "-d", "--name", "health", "--health-cmd", "true", "--env", `${MARKER}=${home.token}:health`, "--", "sleep", "1000"])
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/^[0-9a-f-]{36}\n$/)
    expect(run.stderr).toMatch(/^Warning: 2 boxes with a restart policy or health check are not supervised: /)

    expect(home.cli(["stop", "web"]).status).toBe(0)
    const start = home.cli(["start", "web"])
    expect(start).toMatchObject({ status: 0, stdout: "web\n" })
    expect(start.stderr).toMatch(/^Warning: 2 boxes/)
  })

  it("no warning while a live monitor runs; it comes back when the monitor is SIGKILLed", async () => {
    const home = newHome()
    home.runBox("web", "--restart", "always")
    const monitor = await home.startedMonitor("--interval", "1")
    await waitFor("the heartbeat", () => home.heartbeat()?.["pid"] === monitor.pid)
    expect(home.cli(["ps"]).stderr).toBe("")
    expect(home.cli(["run", "-d", "--restart", "always", "--env", `${MARKER}=${home.token}:two`, "--", "sleep", "1000"]).stderr).toBe("")
    await home.kill(monitor, "SIGKILL")
    expect(home.cli(["ps"]).stderr).toMatch(/^Warning: 2 boxes .* no a3s-box monitor is running for /)
  })

  it("a heartbeat that is corrupt, stale, stopped, or names a pid now used by another process counts as no monitor", async () => {
    const home = newHome()
    home.runBox("web", "--restart", "always")
    const file = path.join(home.dir, "monitor.json")
    const selfStat = readStat(process.pid)!
    const base = {
      pid: process.pid,
      pid_start_time: selfStat.startTime,
      host: os.hostname(),
      interval_secs: 5,
      metrics_addr: null,
      version: "0.1.0",
      started_at: new Date(Date.now() - 60_000).toISOString(),
      last_cycle_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      stopped_at: null
    }
    const psWith = (content: unknown) => {
      fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
      return home.cli(["ps"])
    }
    // The control: a fresh heartbeat of a live process (this test runner) silences it.
    expect(psWith(base).stderr).toBe("")
    expect(psWith("{\"pid\": 12, \"host\"").stderr).toMatch(/no a3s-box monitor is running/)
    expect(psWith("").stderr).toMatch(/no a3s-box monitor is running/)
    expect(psWith({ ...base, pid_start_time: selfStat.startTime + 1 }).stderr).toMatch(/no a3s-box monitor is running/)
    expect(psWith({ ...base, stopped_at: new Date().toISOString() }).stderr).toMatch(/no a3s-box monitor is running/)
    const stale = psWith({ ...base, last_cycle_at: new Date(Date.now() - 45_000).toISOString() })
    expect(stale.stderr).toMatch(new RegExp(`the a3s-box monitor for .* \\(pid ${process.pid}\\) is not responding \\(no poll cycle completed for 4\\ds\\)`))
    fs.rmSync(file)
    fs.mkdirSync(file)
    expect(home.cli(["ps"])).toMatchObject({ status: 0, stderr: expect.stringMatching(warning) })
  })
})

describe("gated boot: what the monitor boots runs only once it is recorded (LocalBoxRuntime)", () => {
  const gatedBox = (home: Home, name: string): { readonly box: BoxRecord; readonly ran: string } => {
    const dir = path.join(home.dir, "boxes", name)
    const ran = path.join(dir, "ran")
    return {
      ran,
      box: makeBox({
        name,
        status: "dead",
        cmd: ["sh", "-c", `echo yes > ${ran}; exec sleep 1000`],
        env: { [MARKER]: `${home.token}:${name}` },
        box_dir: dir,
        console_log: path.join(dir, "console.log")
      })
    }
  }

  it("a gated box's command waits for the release; the recorded pid is the command's", async () => {
    const home = newHome()
    const { box, ran } = gatedBox(home, "gated")
    const runtime = await Effect.runPromise(LocalBoxRuntime.make)
    const booted = await Effect.runPromise(runtime.boot(box, { gated: true }))
    expect(booted.release).toBeDefined()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(fs.existsSync(ran)).toBe(false)
    expect(readStat(booted.pid)?.startTime).toBe(booted.pidStartTime)
    await Effect.runPromise(booted.release!)
    await waitFor("the command to run", () => fs.existsSync(ran))
    await waitFor("the command to exec sleep", () => home.boxProcesses().some((p) => p.pid === booted.pid))
    expect(readStat(booted.pid)?.startTime).toBe(booted.pidStartTime)
  })

  it("an abandoned gated box never runs its command, and its process goes away", async () => {
    const home = newHome()
    const { box, ran } = gatedBox(home, "dropped")
    const runtime = await Effect.runPromise(LocalBoxRuntime.make)
    const booted = await Effect.runPromise(runtime.boot(box, { gated: true }))
    await Effect.runPromise(booted.abandon!)
    await waitFor("the gated process to exit", () => {
      const stat = readStat(booted.pid)
      return stat === undefined || stat.startTime !== booted.pidStartTime || stat.state === "Z"
    })
    expect(fs.existsSync(ran)).toBe(false)
    // A release after the abandon does nothing.
    await Effect.runPromise(booted.release!)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(fs.existsSync(ran)).toBe(false)
  })

  it("without the option, boot starts the command at once (the CLI's run and start)", async () => {
    const home = newHome()
    const { box, ran } = gatedBox(home, "direct")
    const runtime = await Effect.runPromise(LocalBoxRuntime.make)
    const booted = await Effect.runPromise(runtime.boot(box))
    expect(booted.release).toBeUndefined()
    await waitFor("the command to run", () => fs.existsSync(ran))
  })
})
