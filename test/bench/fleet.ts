/**
 * Synthetic fleets for the benchmarks: records shaped like the ones the original a3s-box
 * writes (every field of the shared fixture's first record, ~60 keys, most of them unknown to
 * this project), and a small pool of real, live processes for "running" records to point at.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, "..", "..")

/** The fixture's first record: a running box with a health check and every field a real record has. */
export const fixtureRecord = (): Record<string, unknown> => {
  const fixture = JSON.parse(readFileSync(path.join(repoRoot, "test", "domain", "fixtures", "boxes.json"), "utf8")) as Array<
    Record<string, unknown>
  >
  return fixture[0]!
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0")

/** A deterministic UUID-shaped id for box `i`. */
export const boxId = (i: number): string => `${hex(i, 8)}-0000-4000-8000-${hex(i * 7919, 12).slice(-12)}`

export interface LiveProcess {
  readonly pid: number
  readonly startTime: number
}

/** /proc/PID/stat field 22. */
export const startTimeOf = (pid: number): number | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1")
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[19])
  } catch {
    return undefined
  }
}

/** The command of a wrapped fleet's boxes (`unbootedFleet`): a real `sleep`, run in its box dir. */
export const BOX_COMMAND: ReadonlyArray<string> = ["sleep", "100000"]

/** Record `i` of a fleet of `home`: the fixture's fields, then the fleet's; `run` is its process (none: not booted yet). */
const fleetRecord = (
  base: Record<string, unknown>,
  i: number,
  home: string,
  now: string,
  run: LiveProcess | null
): Record<string, unknown> => {
  const id = boxId(i)
  const dir = path.join(home, "boxes", id)
  return {
    ...base,
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name: `box-${i}`,
    status: run === null ? "created" : "running",
    pid: run?.pid ?? null,
    pid_start_time: run?.startTime ?? null,
    box_dir: dir,
    console_log: path.join(dir, "console.log"),
    exec_socket_path: path.join(dir, "sockets", "exec.sock"),
    started_at: run === null ? null : now,
    restart_policy: "always",
    health_check: i % 2 === 0
      ? { cmd: ["true"], interval_secs: 3600, timeout_secs: 5, retries: 3, start_period_secs: 0 }
      : null,
    health_status: i % 2 === 0 ? "healthy" : "none",
    health_last_check: i % 2 === 0 ? now : null
  }
}

/**
 * `count` records, every one `running` with a live pid from `pool` (round robin) and its start
 * time, restart policy `always`; every other one has a health check that is not due for an hour.
 * So a poll cycle over them has nothing to do, but every liveness check is a real one.
 */
export const idleFleet = (count: number, pool: ReadonlyArray<LiveProcess>, home: string): Array<Record<string, unknown>> => {
  const base = fixtureRecord()
  const now = new Date().toISOString()
  return Array.from({ length: count }, (_, i) => fleetRecord(base, i, home, now, pool[i % pool.length]!))
}

/**
 * The same fleet before its boxes are booted, as `run` creates a record before it boots it:
 * status `created`, no pid, no start; the command a real `sleep` (BOX_COMMAND), run in the box dir
 * (the fixture's workdir, /app, is no directory here). `bootFleet.ts` boots them as `run -d` does
 * and records each `running` with its pid; the health fields stay as idleFleet's (checked an
 * instant ago, not due for an hour), so that a poll cycle over the booted fleet has nothing to do.
 */
export const unbootedFleet = (count: number, home: string): Array<Record<string, unknown>> => {
  const base = { ...fixtureRecord(), cmd: [...BOX_COMMAND], workdir: null }
  const now = new Date().toISOString()
  return Array.from({ length: count }, (_, i) => fleetRecord(base, i, home, now, null))
}

/** Starts `count` detached `sleep` processes (each leads its own process group). */
export const startSleepers = (count: number): Array<ChildProcess> =>
  Array.from({ length: count }, () => {
    const child = spawn("sleep", ["100000"], { detached: true, stdio: "ignore" })
    child.unref()
    return child
  })

/**
 * `count` live `sleep` processes, one for each record of a fleet (a real fleet's boxes are distinct
 * processes: a cycle must read /proc for every one of them). Forked by one shell, which is much
 * faster than `count` spawns from Node; they share its process group, which `leader` leads:
 * killing the group (`track(leader)`, then `cleanupAll`) removes them all.
 */
export const startSleeperPool = async (
  count: number
): Promise<{ readonly leader: number; readonly procs: ReadonlyArray<LiveProcess> }> => {
  const shell = spawn("bash", ["-c", `for ((i = 0; i < ${count}; i++)); do sleep 100000 & echo $!; done; exec sleep 100000`], {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"]
  })
  const leader = shell.pid!
  const pids: Array<number> = []
  let buffer = ""
  await new Promise<void>((resolve, reject) => {
    shell.once("error", reject)
    shell.once("exit", () => reject(new Error(`the shell forking ${count} sleepers exited after ${pids.length}`)))
    shell.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1")
      const lines = buffer.split("\n")
      buffer = lines.pop()!
      for (const line of lines) pids.push(Number(line))
      if (pids.length >= count) resolve()
    })
  })
  shell.stdout!.destroy()
  shell.removeAllListeners("exit")
  shell.unref()
  const procs = pids.map((pid) => {
    const startTime = startTimeOf(pid)
    if (startTime === undefined) throw new Error(`sleeper ${pid} is gone`)
    return { pid, startTime }
  })
  return { leader, procs }
}
