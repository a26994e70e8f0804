/**
 * A fleet of real boxes for the cycle benchmark, booted as `a3s-box run -d` boots one: by another
 * process (bootFleet.ts) with the real runtime, so each box's parent is its wrapper (wrapper.sh)
 * and the wrappers' launchers outlive their booter, as after `run -d`. The benchmark's process
 * then supervises boxes it did not boot, and watches their exits (exitWatch.ts) instead of
 * polling them.
 *
 * Every box and wrapper is tracked (support.ts `track`, with its start time) and killed by
 * `stop` (also registered with `onCleanup`, for a failed or interrupted run): the wrappers first
 * (SIGKILL: no trap, no exit code written into a box dir about to be removed), then each box's
 * process group (each box leads one: `set -m` in the wrapper).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { repoRoot } from "./fleet.js"
import { onCleanup, sleep, tempDir, track, waitFor } from "./support.js"

/** What /proc/PID/stat says of a process: undefined when there is none. */
interface Stat {
  readonly comm: string
  readonly state: string
  readonly ppid: number
  readonly pgid: number
  readonly startTime: number
}

const statOf = (pid: number): Stat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1")
    const close = text.lastIndexOf(")")
    const fields = text.slice(close + 2).split(" ")
    return {
      comm: text.slice(text.indexOf("(") + 1, close),
      state: fields[0]!,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      startTime: Number(fields[19])
    }
  } catch {
    return undefined
  }
}

/** The process at `pid` is still the one that started at `startTime` (zombies are not). */
const stillThere = (pid: number, startTime: number): boolean => {
  const stat = statOf(pid)
  return stat !== undefined && stat.startTime === startTime && stat.state !== "Z" && stat.state !== "X"
}

export interface Proc {
  readonly pid: number
  readonly startTime: number
}

/** One booted box: its process (`sleep`, leader of its own group) and its wrapper (its parent). */
export interface WrappedBox extends Proc {
  readonly wrapper: Proc
}

export interface WrappedFleet {
  /** The boot home (its boxes.json is what the booter wrote; its boxes/ holds every box dir). */
  readonly home: string
  /** boxes.json as the booter wrote it: every record `running` with its pid and pid_start_time. */
  readonly records: ReadonlyArray<Record<string, unknown>>
  readonly boxes: ReadonlyArray<WrappedBox>
  /** Distinct launchers (process groups of wrappers): one per chunk of boots. */
  readonly launchers: number
  /** The booter's own figures: booting every box (gated), the one write recording them, and both with the release. */
  readonly bootMs: number
  readonly recordMs: number
  readonly totalMs: number
  /** The boot of each chunk (gated boots), in order. */
  readonly chunkMs: ReadonlyArray<number>
  /** The booter process from spawn to exit (Node and tsx start-up included). */
  readonly wallMs: number
  /** Kills every box and wrapper (start time checked), and waits until they are gone. */
  readonly stop: () => Promise<void>
}

interface BooterReport {
  readonly booted: number
  readonly bootMs: number
  readonly recordMs: number
  readonly totalMs: number
  readonly chunkMs: ReadonlyArray<number>
  readonly boxes: ReadonlyArray<readonly [number, number | null]>
}

/** Signals the processes that are still the ones recorded; `group`: their process groups too. */
const killAll = (procs: ReadonlyArray<Proc>, group: boolean): void => {
  for (const { pid, startTime } of procs) {
    if (!stillThere(pid, startTime)) continue
    for (const target of group ? [-pid, pid] : [pid]) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // gone already
      }
    }
  }
}

/** How many processes `killAndWait` kills at once: ten thousand exits at once make a load average in the hundreds. */
const KILL_CHUNK = 500

/**
 * SIGKILLs `first` (each process alone), then `leaders` with the process groups they lead, each
 * only if it is still the process recorded, KILL_CHUNK at a time (each part gone before the
 * next); resolves once none of them is left, fails after `timeoutMs`.
 */
export const killAndWait = async (
  first: ReadonlyArray<Proc>,
  leaders: ReadonlyArray<Proc>,
  timeoutMs = 120_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  const parts = [
    ...chunksOf(first, KILL_CHUNK).map((procs) => ({ procs, group: false })),
    ...chunksOf(leaders, KILL_CHUNK).map((procs) => ({ procs, group: true }))
  ]
  for (const { group, procs } of parts) {
    killAll(procs, group)
    for (;;) {
      const left = procs.filter((p) => stillThere(p.pid, p.startTime))
      if (left.length === 0) break
      if (Date.now() > deadline) {
        killAll([...first, ...leaders], true)
        throw new Error(`${left.length} processes still there ${timeoutMs / 1000} s after SIGKILL: ${left.slice(0, 5).map((p) => p.pid).join(", ")}...`)
      }
      killAll(left, group)
      await sleep(20)
    }
  }
}

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** Runs bootFleet.ts for `count` boxes in a temp home, `chunk` boots per launcher; see the module's comment. */
export const bootWrappedFleet = async (count: number, chunk = 100, timeoutMs = 900_000): Promise<WrappedFleet> => {
  const home = tempDir("a3s-bench-boot-")
  const started = performance.now()
  const booter = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "test", "bench", "bootFleet.ts"), home, String(count), String(chunk)], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"]
  })
  track(booter.pid)
  let out = ""
  booter.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d))
  const exit = await new Promise<number | string>((resolve, reject) => {
    booter.once("error", reject)
    const timer = setTimeout(() => booter.kill("SIGKILL"), timeoutMs)
    booter.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? signal ?? "?")
    })
  })
  const wallMs = performance.now() - started

  // Whatever the booter's outcome, every box it recorded is tracked and will be stopped: a box is
  // released only once recorded, and one it booted but did not release exits by itself (125).
  let records: ReadonlyArray<Record<string, unknown>> = []
  try {
    records = JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8")) as ReadonlyArray<Record<string, unknown>>
  } catch {
    // not written (or not parseable): nothing was released
  }
  const recorded: Array<Proc> = []
  for (const r of records) {
    if (typeof r["pid"] === "number" && typeof r["pid_start_time"] === "number") {
      recorded.push({ pid: r["pid"], startTime: r["pid_start_time"] })
    }
  }
  const wrappers = new Map<number, Proc>()
  const noteWrapper = (box: Proc): Proc | undefined => {
    const stat = statOf(box.pid)
    if (stat === undefined || stat.startTime !== box.startTime || stat.ppid <= 1) return undefined
    const parent = statOf(stat.ppid)
    if (parent === undefined) return undefined
    const wrapper = { pid: stat.ppid, startTime: parent.startTime }
    if (!wrappers.has(wrapper.pid)) {
      wrappers.set(wrapper.pid, wrapper)
      track(wrapper.pid)
    }
    return wrapper
  }
  for (const box of recorded) {
    track(box.pid)
    noteWrapper(box)
  }
  const stop = () => killAndWait([...wrappers.values()], recorded)
  const unregister = onCleanup(() => {
    // Synchronous (cleanupAll): signals only; the tracked-pid kills and dir removal follow.
    killAll([...wrappers.values()], false)
    killAll(recorded, true)
  })
  const stopAndUnregister = async () => {
    try {
      await stop()
    } finally {
      unregister()
    }
  }

  try {
    if (exit !== 0) throw new Error(`bootFleet.ts exited ${exit}`)
    const report = JSON.parse(out.trim().split("\n").pop()!) as BooterReport
    if (report.booted !== count || recorded.length !== count) {
      throw new Error(`bootFleet.ts booted ${report.booted} boxes and recorded ${recorded.length}, of ${count}`)
    }
    const printed = new Set(report.boxes.map(([pid, start]) => `${pid}/${start}`))
    if (!recorded.every((p) => printed.has(`${p.pid}/${p.startTime}`))) {
      throw new Error("the pids bootFleet.ts printed are not the ones it recorded")
    }
    // Released: each job reads its `go` and execs the command (the recorded pid is the command's).
    // The booter is gone: every box must be running `sleep`, under a wrapper that outlived it.
    const boxes = await waitFor(`${count} released boxes running sleep under their wrappers`, () => {
      const found: Array<WrappedBox> = []
      for (const box of recorded) {
        const stat = statOf(box.pid)
        if (stat === undefined || stat.startTime !== box.startTime || stat.comm !== "sleep" || stat.pgid !== box.pid) return false
        const wrapper = noteWrapper(box)
        const wrapperStat = wrapper === undefined ? undefined : statOf(wrapper.pid)
        if (wrapper === undefined || wrapperStat?.comm !== "bash" || wrapperStat.state === "Z") return false
        found.push({ ...box, wrapper })
      }
      return found
    }, 120_000, 200)
    const launchers = new Set(boxes.map((b) => statOf(b.wrapper.pid)?.pgid)).size
    return {
      home,
      records,
      boxes,
      launchers,
      bootMs: report.bootMs,
      recordMs: report.recordMs,
      totalMs: report.totalMs,
      chunkMs: report.chunkMs,
      wallMs,
      stop: stopAndUnregister
    }
  } catch (error) {
    await stopAndUnregister()
    throw error
  }
}
