/**
 * Pid reuse: a box record whose pid now belongs to an unrelated process. Neither the CLI (stop,
 * rm -f, restart) nor the monitor (its reconcile, its unhealthy restart) may ever signal that
 * process. The unrelated process traps every catchable signal and writes down what it got.
 *
 * Two ways a record can point at a reused pid:
 * - it has a `pid_start_time`, and the process now at that pid has another one (SPEC §3);
 * - it has none (records written by the original a3s-box or other tools), and the process at
 *   that pid started after the box did (`started_at`): it cannot be the box's process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { isAlive, labs, type Lab, procStat, requireBuild, waitFor } from "./support.js"

beforeAll(requireBuild)

const homes = labs()
const foreigners: Array<ChildProcess> = []

afterEach(async () => {
  for (const child of foreigners.splice(0)) {
    // Our unreaped child (no exit seen): its pid cannot have been reused.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  await homes.cleanupAll()
})

const SIGNALS = ["HUP", "INT", "QUIT", "TERM", "USR1", "USR2", "CONT", "ALRM", "PIPE"]

interface Foreigner {
  readonly pid: number
  readonly startTime: number
  /** The signals it received, in order. */
  readonly received: () => ReadonlyArray<string>
}

/**
 * An unrelated long-running process (leading its own process group, as a box would) that
 * records every catchable signal it gets in a file.
 */
const startForeigner = async (lab: Lab): Promise<Foreigner> => {
  const log = path.join(lab.home, `foreign-${foreigners.length}.signals`)
  writeFileSync(log, "")
  const traps = SIGNALS.map((s) => `trap 'echo ${s} >> "$0"' ${s}`).join("; ")
  const child = spawn("sh", ["-c", `${traps}; echo ready >> "$0"; while :; do sleep 0.05; done`, log], {
    detached: true,
    stdio: "ignore"
  })
  foreigners.push(child)
  await waitFor("the unrelated process to set its traps", () => readFileSync(log, "utf8").includes("ready"))
  const stat = procStat(child.pid!)!
  return {
    pid: child.pid!,
    startTime: stat.startTime,
    received: () => readFileSync(log, "utf8").split("\n").filter((l) => l !== "" && l !== "ready")
  }
}

/** A record of a running box whose pid is `pid`, as the original a3s-box (or we) would write it. */
const runningRecord = (lab: Lab, name: string, pid: number, identity: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const id = randomUUID()
  return {
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name,
    status: "running",
    pid,
    cmd: lab.markedCmd(name, "while :; do sleep 1; done"),
    env: {},
    box_dir: path.join(lab.home, "boxes", id),
    console_log: path.join(lab.home, "boxes", id, "console.log"),
    created_at: "2020-01-01T00:00:00Z",
    started_at: "2020-01-01T00:00:01Z",
    restart_policy: "always",
    stop_timeout: 1,
    ...identity,
    ...extra
  }
}

/** The two ways a record can name a reused pid. */
const identities = (foreigner: Foreigner): ReadonlyArray<readonly [string, Record<string, unknown>]> => [
  ["another pid_start_time", { pid_start_time: foreigner.startTime + 1 }],
  ["no pid_start_time, and the process started after the box", {}]
]

const expectUntouched = (foreigner: Foreigner) => {
  expect(foreigner.received()).toEqual([])
  expect(isAlive(foreigner.pid, foreigner.startTime)).toBe(true)
  expect(procStat(foreigner.pid)!.state).not.toBe("T")
}

describe("a recorded pid that now belongs to an unrelated process is never signalled", () => {
  it.each(["stop", "rm -f", "restart"])("by `a3s-box %s`", async (command) => {
    const lab = homes.make()
    const foreigner = await startForeigner(lab)
    const cases = identities(foreigner).map(([what, identity], i) => ({
      what,
      record: runningRecord(lab, `victim${i}`, foreigner.pid, identity)
    }))
    writeFileSync(lab.stateFile, JSON.stringify(cases.map((c) => c.record), null, 2))
    for (const { what, record } of cases) {
      const result = await lab.cli(...command.split(" "), record.name)
      expect({ what, code: result.code, stderr: result.stderr }).toEqual({ what, code: 0, stderr: "" })
      expectUntouched(foreigner)
      const after = lab.box(record.name)
      if (command === "rm -f") expect(after).toBeUndefined()
      else if (command === "stop") expect(after).toMatchObject({ status: expect.stringMatching(/^(stopped|dead)$/), pid: null })
      else {
        // restart: a new process of the box's own; the unrelated one is left alone
        expect(after?.status).toBe("running")
        expect(after?.pid).not.toBe(foreigner.pid)
        expect(isAlive(after!.pid!, after!.pid_start_time)).toBe(true)
      }
    }
    expectUntouched(foreigner)
  })

  it("by the monitor: its reconcile and its unhealthy restart leave the process alone and restart the box", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    const foreigner = await startForeigner(lab)
    // Found unhealthy (as a probe of the unrelated process would make it); the box's own process passes.
    const failing = {
      health_check: { cmd: ["true"], interval_secs: 1, timeout_secs: 1, retries: 1 },
      health_status: "unhealthy",
      health_retries: 1
    }
    const [mismatched, noStartTime] = identities(foreigner).map(([, identity]) => identity)
    const records = [
      // reconciled dead (another start time), restarted
      runningRecord(lab, "plain", foreigner.pid, mismatched!),
      runningRecord(lab, "sick", foreigner.pid, mismatched!, failing),
      // alive as far as SPEC §3 can tell (no start time to compare): unhealthy, so stopped (not
      // signalled: the process started after the box), marked dead and restarted
      runningRecord(lab, "sick-legacy", foreigner.pid, noStartTime!, failing),
      // alive as far as SPEC §3 can tell, and nothing asks for a stop: left as it is
      runningRecord(lab, "plain-legacy", foreigner.pid, noStartTime!)
    ]
    writeFileSync(lab.stateFile, JSON.stringify(records, null, 2))
    const restarted = records.filter((r) => r.name !== "plain-legacy")
    const started = Date.now()
    const monitor = await lab.startMonitor(["--interval", "1"])
    try {
      // Every box ends up with a process of its own (each marked with its name).
      await waitFor("every box to run a process of its own", () => {
        const procs = lab.boxProcesses()
        return restarted.every((r) => {
          const box = lab.box(r.name)
          return box !== undefined && box.status === "running" && box.pid !== foreigner.pid &&
            (procs.get(r.name) ?? []).some((p) => p.pid === box.pid)
        })
      }, 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\nstate: ${JSON.stringify(lab.state().map((b) => [b.name, b.status, b.pid, b.restart_count]))}\nlogs:\n${monitor.logs.map((l) => `${l.at % 100000} ${l.message}`).join("\n")}`)
      })
      console.log(`pid reuse: every box restarted ${Date.now() - started} ms after the monitor was started`)
      // A few more cycles and probes (the sick boxes keep failing their checks).
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      expectUntouched(foreigner)
      expect(lab.box("plain")!.restart_count).toBe(1)
      expect(lab.box("plain-legacy")).toMatchObject({ status: "running", pid: foreigner.pid })
      expect(lab.box("plain-legacy")!.restart_count ?? 0).toBe(0)
    } finally {
      await monitor.kill()
    }
    expect(monitor.other()).toBe("")
  })
})

describe("a record without pid_start_time whose pid belongs to an unrelated process that nothing tells apart (issue 16)", () => {
  // The process started before the record says the box did (or the record does not say): only
  // another fact (parent = the box's wrapper, stdout = the box's console log) could prove it is
  // the box's, and neither holds.
  const undecidable = (lab: Lab, name: string, pid: number, extra: Record<string, unknown> = {}) =>
    runningRecord(lab, name, pid, { pid_start_time: null, started_at: new Date(Date.now() + 60_000).toISOString() }, extra)

  it("stop and restart refuse to signal it, say so, exit 1 and keep the record as it was", async () => {
    const lab = homes.make()
    const foreigner = await startForeigner(lab)
    const records = [undecidable(lab, "a", foreigner.pid), { ...undecidable(lab, "b", foreigner.pid), started_at: null }]
    writeFileSync(lab.stateFile, JSON.stringify(records, null, 2))
    for (const command of ["stop", "restart"]) {
      for (const record of records) {
        const result = await lab.cli(command, record.name)
        expect({ command, name: record.name, code: result.code }).toEqual({ command, name: record.name, code: 1 })
        expect(result.stderr).toContain(`not signalling process ${foreigner.pid} of box ${record.name}`)
        expect(result.stderr).toContain("nothing proves")
        expectUntouched(foreigner)
        expect(lab.box(record.name)).toMatchObject({ status: "running", pid: foreigner.pid, pid_start_time: null })
      }
    }
  })

  it("rm -f forgets the box without signalling the process, and says so", async () => {
    const lab = homes.make()
    const foreigner = await startForeigner(lab)
    writeFileSync(lab.stateFile, JSON.stringify([undecidable(lab, "a", foreigner.pid)], null, 2))
    const result = await lab.cli("rm", "-f", "a")
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`box a removed without signalling process ${foreigner.pid}`)
    expect(lab.box("a")).toBeUndefined()
    expectUntouched(foreigner)
  })

  it("the monitor's unhealthy restart refuses to signal it too", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    const foreigner = await startForeigner(lab)
    const sick = undecidable(lab, "sick", foreigner.pid, {
      health_check: { cmd: ["true"], interval_secs: 1, timeout_secs: 1, retries: 1 },
      health_status: "unhealthy",
      health_retries: 1
    })
    writeFileSync(lab.stateFile, JSON.stringify([sick], null, 2))
    const monitor = await lab.startMonitor(["--interval", "1"])
    try {
      await waitFor("the monitor to refuse the stop", () =>
        monitor.logs.some((l) =>
          l.message.startsWith("monitor: failed to restart box sick") && l.message.includes(`nothing proves process ${foreigner.pid} is the box's`)
        ), 20_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\nlogs:\n${monitor.logs.map((l) => l.message).join("\n")}`)
      })
      expectUntouched(foreigner)
      expect(lab.box("sick")).toMatchObject({ status: "running", pid: foreigner.pid })
    } finally {
      await monitor.kill()
    }
  })
})

describe("a record without pid_start_time whose process is the box's", () => {
  it("is stopped as usual: its parent is the box's wrapper, its stdout the box's console log", async () => {
    const lab = homes.make()
    const box = await lab.runDetached("--quiet", "--name", "old", "--", ...lab.markedCmd("old", "while :; do sleep 1; done"))
    const startTime = box.pid_start_time!
    // As an older tool would have written it.
    const raw = JSON.parse(readFileSync(lab.stateFile, "utf8")) as Array<Record<string, unknown>>
    writeFileSync(lab.stateFile, JSON.stringify(raw.map((r) => (r["name"] === "old" ? { ...r, pid_start_time: null } : r)), null, 2))
    const result = await lab.cli("stop", "old")
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" })
    expect(lab.box("old")).toMatchObject({ status: "stopped", pid: null })
    expect(isAlive(box.pid!, startTime)).toBe(false)
  })
})
