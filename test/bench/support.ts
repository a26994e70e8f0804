/**
 * Support for `npm run bench`: statistics, a temp A3S_HOME driven through the built CLI, the
 * monitor as a real process, and a cleanup that kills every process a benchmark started (after
 * checking it is still the same process) and removes every home, also when a benchmark fails.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import * as path from "node:path"
import { repoRoot, startTimeOf } from "./fleet.js"

export { repoRoot }
/** The entry `a3s-box` runs (package.json "bin"; dist/a3s-box.mjs is the same program behind Node's ESM loader). */
export const bin = path.join(repoRoot, "dist", "a3s-box.cjs")

// ---------------------------------------------------------------------------
// Statistics

/** The q-quantile (0..1) of `values`, nearest rank. */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const median = (values: ReadonlyArray<number>): number => quantile(values, 0.5)
export const p90 = (values: ReadonlyArray<number>): number => quantile(values, 0.9)

/** One figure of the report. */
export interface Figure {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly median: number
  readonly p90: number
  /** Met when the median (or `targetOn`) is at most this. */
  readonly target?: number
  /** Which statistic the target applies to (default: the median). */
  readonly targetOn?: "median" | "p90" | "p99"
  readonly p99?: number
  readonly samples: ReadonlyArray<number>
  readonly method: string
  readonly notes?: ReadonlyArray<string>
  /** Set on a peer's figure (issue 13: the same measure of another supervisor): its name, e.g. "PM2", "floor". */
  readonly peer?: string
  /** Set when the peer could not be measured (e.g. its install failed): why. Its samples are then empty. */
  readonly missing?: string
}

export const figure = (
  fields: Omit<Figure, "median" | "p90"> & { readonly median?: number; readonly p90?: number }
): Figure => ({ ...fields, median: fields.median ?? median(fields.samples), p90: fields.p90 ?? p90(fields.samples) })

export const met = (f: Figure): boolean | undefined => {
  if (f.target === undefined || f.missing !== undefined) return undefined
  const value = f.targetOn === "p90" ? f.p90 : f.targetOn === "p99" ? f.p99 ?? Number.NaN : f.median
  return value <= f.target
}

/** A figure's number as printed: 3 significant digits or so. */
export const fmt = (n: number | undefined): string =>
  n === undefined || Number.isNaN(n)
    ? "-"
    : Math.abs(n) >= 100
    ? n.toFixed(0)
    : Math.abs(n) >= 10
    ? n.toFixed(1)
    : Math.abs(n) >= 0.01 || n === 0
    ? n.toFixed(2)
    : n.toPrecision(2)

// ---------------------------------------------------------------------------
// Time and processes

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Blocks the thread for `ms` (for the synchronous cleanup). */
export const syncSleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export const now = (): number => Number(process.hrtime.bigint()) / 1e6

/** Polls `check` every `everyMs` until it returns something other than undefined/false. */
export const waitFor = async <A>(
  what: string,
  check: () => A | undefined | false,
  timeoutMs = 60_000,
  everyMs = 10
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** /proc/PID/stat state letter, or undefined when there is no such process. */
export const stateOf = (pid: number): string | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1")
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3)
  } catch {
    return undefined
  }
}

/** SPEC §3 liveness as the benchmarks check it: exists, not a zombie, same start time. */
export const isAlive = (pid: number | null, startTime: number | null): boolean => {
  if (pid === null) return false
  const state = stateOf(pid)
  if (state === undefined || state === "Z" || state === "X") return false
  return startTime === null || startTimeOf(pid) === startTime
}

/** CPU time of a whole process (every thread), in ms, from /proc/PID/task/ * /schedstat (ns resolution). */
export const cpuMillisOf = (pid: number): number => {
  let ns = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0])
    } catch {
      // thread gone
    }
  }
  return ns / 1e6
}

/** Resident set size of a process, in MiB (VmRSS). */
export const rssMiBOf = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "latin1").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024
}

/** What the machine was doing: load average and core count, printed beside every figure. */
export const machine = () => ({
  loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  cores: Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim()) || undefined,
  node: process.version
})

// ---------------------------------------------------------------------------
// Cleanup registry: every process and directory a benchmark creates.

const tracked = new Map<number, number | undefined>()
const dirs = new Set<string>()
const runDirs = new Set<string>()
const finalizers = new Set<() => void>()

/** Remembers `pid` (with its start time now) so that cleanup kills it, and its group, if still the same process. */
export const track = (pid: number | null | undefined): void => {
  if (pid === null || pid === undefined || pid <= 1 || tracked.has(pid)) return
  tracked.set(pid, startTimeOf(pid))
}

export const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

/** A temp dir for the whole run (e.g. an install shared by groups): cleanupAll leaves it, cleanupRun removes it. */
export const runTempDir = (prefix: string): string => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  runDirs.add(dir)
  return dir
}

/**
 * Registers a synchronous step for cleanupAll to run first (e.g. `pm2 kill`, which needs its home);
 * returns a function that unregisters it (after the benchmark did it itself).
 */
export const onCleanup = (step: () => void): (() => void) => {
  finalizers.add(step)
  return () => finalizers.delete(step)
}

/** Runs the registered cleanup steps, kills every tracked process that is still the process it was, then removes every temp dir. */
export const cleanupAll = (): void => {
  for (const step of [...finalizers].reverse()) {
    finalizers.delete(step)
    try {
      step()
    } catch (error) {
      console.error(`bench cleanup: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  for (const [pid, startTime] of tracked) {
    if (startTime === undefined || startTimeOf(pid) !== startTime) continue
    let pgid: number | undefined
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "latin1")
      pgid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[2])
    } catch {
      continue
    }
    for (const target of pgid === pid ? [-pid, pid] : [pid]) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // gone already
      }
    }
  }
  tracked.clear()
  for (const dir of dirs) removeDir(dir)
  dirs.clear()
}

/**
 * rm -rf that retries (a box's wrapper may still be writing its exit code into the home just
 * after its box was killed: ENOTEMPTY) and reports instead of throwing, so a cleanup never fails.
 */
const removeDir = (dir: string): void => {
  for (let attempt = 1; ; attempt++) {
    try {
      // Each attempt walks the tree again (rmSync's own retries do not: a file written after its walk stays).
      rmSync(dir, { recursive: true, force: true })
      return
    } catch (error) {
      if (attempt === 50) {
        console.error(`bench cleanup: could not remove ${dir}: ${error instanceof Error ? error.message : String(error)}`)
        return
      }
      syncSleep(100)
    }
  }
}

/** cleanupAll, then the run's temp dirs too: at the end of the run. */
export const cleanupRun = (): void => {
  cleanupAll()
  for (const dir of runDirs) removeDir(dir)
  runDirs.clear()
}

// ---------------------------------------------------------------------------
// A home driven through the built CLI

export interface StateBox {
  readonly id: string
  readonly name: string
  readonly status: string
  readonly pid: number | null
  readonly pid_start_time: number | null
  readonly restart_count?: number
}

export interface LogLine {
  readonly message: string
  readonly level: string
}

export class BenchHome {
  readonly home: string
  readonly stateFile: string
  monitor: ChildProcess | undefined
  readonly logs: Array<LogLine> = []

  constructor(prefix = "a3s-bench-") {
    this.home = tempDir(prefix)
    this.stateFile = path.join(this.home, "boxes.json")
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, A3S_HOME: this.home }
  }

  /** Runs the built CLI; throws on a non-zero exit. */
  cli(...args: ReadonlyArray<string>): string {
    const result = spawnSync(process.execPath, [bin, ...args], { env: this.env, encoding: "utf8", timeout: 60_000 })
    this.state()
    if (result.status !== 0) {
      throw new Error(`a3s-box ${args.join(" ")} exited ${result.status ?? result.signal}: ${result.stderr}`)
    }
    return result.stdout
  }

  /** Runs the built CLI without waiting (for concurrent starts). */
  cliAsync(...args: ReadonlyArray<string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: this.env, stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      let err = ""
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
      child.once("exit", (code, signal) => {
        this.state()
        if (code === 0) resolve(out)
        else reject(new Error(`a3s-box ${args.join(" ")} exited ${code ?? signal}: ${err}`))
      })
    })
  }

  /** Starts `count` boxes with `run -d` (and `flags`), `concurrency` CLI processes at a time. */
  async runBoxes(
    count: number,
    nameOf: (i: number) => string,
    cmdOf: (i: number) => ReadonlyArray<string>,
    concurrency = 4,
    flags: ReadonlyArray<string> = []
  ): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < count) {
        const i = next++
        await this.cliAsync("run", "-d", "--quiet", "--name", nameOf(i), "--restart", "always", ...flags, "--", ...cmdOf(i))
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }

  /** `boxes.json` as JSON, or undefined while it is missing or being replaced. Every pid seen is tracked. */
  state(): ReadonlyArray<StateBox> | undefined {
    let boxes: ReadonlyArray<StateBox>
    try {
      boxes = JSON.parse(readFileSync(this.stateFile, "utf8")) as ReadonlyArray<StateBox>
    } catch {
      return undefined
    }
    for (const box of boxes) track(box.pid)
    return boxes
  }

  /** Starts `a3s-box monitor` (JSON logs) and waits for its start line. */
  async startMonitor(...args: ReadonlyArray<string>): Promise<ChildProcess> {
    const child = spawn(process.execPath, [bin, "monitor", "--log-format", "json", ...args], {
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    this.monitor = child
    track(child.pid)
    let buffer = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        try {
          // `--log-format json`: {time, level, msg, ...fields} (MonitorLogger).
          const entry = JSON.parse(line) as { msg: string; level: string }
          this.logs.push({ message: entry.msg, level: entry.level })
        } catch {
          // not a log line
        }
      }
    })
    let stderr = ""
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    await waitFor("the monitor's start line", () => {
      if (child.exitCode !== null) throw new Error(`the monitor exited ${child.exitCode}: ${stderr}`)
      return this.logs.some((l) => l.message.startsWith("a3s-box monitor started"))
    })
    return child
  }

  /** SIGTERM to the monitor (our unreaped child: its pid cannot have been reused), then waits for its exit. */
  async stopMonitor(): Promise<void> {
    const child = this.monitor
    this.monitor = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    await exited
    clearTimeout(timer)
  }

  /** Waits until every box is running with a live process; returns the state. */
  async allRunning(expected: number, timeoutMs = 120_000): Promise<ReadonlyArray<StateBox>> {
    return waitFor(`${expected} boxes running`, () => {
      const boxes = this.state()
      return boxes !== undefined && boxes.length === expected &&
          boxes.every((b) => b.status === "running" && isAlive(b.pid, b.pid_start_time))
        ? boxes
        : undefined
    }, timeoutMs, 50)
  }
}

/** Fails clearly when the bundle is missing (`npm run bench` builds it first). */
export const requireBuild = (): void => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (\`npm run bench\` does)`)
}
