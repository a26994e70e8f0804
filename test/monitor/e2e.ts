/** Support for end-to-end tests of `a3s-box monitor`: the built CLI, real processes, a temp home. */
import * as Option from "effect/Option"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { removeDir } from "../support/removeDir.js"

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..")
/** The built CLI; `A3S_TEST_BIN` runs the tests against another build. */
export const bin = process.env["A3S_TEST_BIN"] ?? path.join(repoRoot, "dist", "a3s-box.mjs")

export const requireBuild = (): void => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (\`npm test\` does)`)
}

/** /proc/PID/stat, parsed; undefined when there is no such process. */
export const readStat = (pid: number): ProcessInfo.ProcessInfo | undefined => {
  try {
    return Option.getOrUndefined(ProcessInfo.parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1")))
  } catch {
    return undefined
  }
}

/** Alive as SPEC §3 means it: exists, not a zombie, same start time. */
export const isAlive = (pid: number, startTime: number | null): boolean => {
  const stat = readStat(pid)
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X" &&
    (startTime === null || stat.startTime === startTime)
}

export interface StateBox {
  readonly id: string
  readonly name: string
  readonly short_id: string
  readonly status: string
  readonly pid: number | null
  readonly pid_start_time: number | null
  readonly restart_count: number
  readonly stopped_by_user?: boolean
  readonly health_status?: string
  readonly exit_code?: number | null
  readonly box_dir: string
  readonly started_at?: string | null
  readonly next_restart_at?: string
  readonly backoff_failures?: number
}

export interface LogEntry {
  readonly at: number
  readonly message: string
  readonly level: string
  readonly annotations: Record<string, unknown>
}

/** Polls `check` every 25 ms until it returns a value other than undefined/false. */
export const waitFor = async <A>(
  what: string,
  check: () => A | undefined | false,
  timeoutMs = 15_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/**
 * One test's world: a temp home, the CLI run against it, a monitor process. `cleanup` kills the
 * monitor and every box process it can find (checking start times first) and removes the home.
 */
export class World {
  readonly home = mkdtempSync(path.join(tmpdir(), "a3s-monitor-e2e-"))
  monitor: ChildProcess | undefined
  readonly logs: Array<LogEntry> = []
  readonly output: Array<string> = []
  /** Every box process seen, to be killed at the end if still the same process. */
  private readonly seen = new Map<number, number | null>()

  get env(): NodeJS.ProcessEnv {
    // Boxes are run before the monitor starts: no "not supervised" warning on stderr (SPEC §11).
    return { ...process.env, A3S_HOME: this.home, A3S_NO_MONITOR_WARNING: "1" }
  }

  cli(...args: ReadonlyArray<string>): { readonly status: number | null; readonly stdout: string; readonly stderr: string } {
    return this.cliWith(this.env, ...args)
  }

  /** `cli` in the environment `env` (the command's whole environment). */
  cliWith(env: NodeJS.ProcessEnv, ...args: ReadonlyArray<string>): { readonly status: number | null; readonly stdout: string; readonly stderr: string } {
    const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: 30_000 })
    this.state() // remember the pids this command started
    return { status: result.status, stdout: result.stdout, stderr: result.stderr }
  }

  /** `boxes.json`, or [] while it does not exist or is being replaced. */
  state(): ReadonlyArray<StateBox> {
    let boxes: ReadonlyArray<StateBox> = []
    try {
      boxes = JSON.parse(readFileSync(path.join(this.home, "boxes.json"), "utf8")) as ReadonlyArray<StateBox>
    } catch {
      return []
    }
    for (const box of boxes) if (box.pid !== null && !this.seen.has(box.pid)) this.seen.set(box.pid, box.pid_start_time)
    return boxes
  }

  box(name: string): StateBox | undefined {
    return this.state().find((b) => b.name === name)
  }

  /** Starts `a3s-box monitor` with JSON logs and waits for its start line. */
  startMonitor(...args: ReadonlyArray<string>): Promise<ChildProcess> {
    return this.startMonitorWith({ env: this.env }, ...args)
  }

  /**
   * `startMonitor` with the monitor's whole environment `env`, run through `prefix` if given
   * (`["env", "-i", "A3S_HOME=..."]`: the monitor is `prefix`'s process, exec'd into node).
   */
  async startMonitorWith(
    options: { readonly env: NodeJS.ProcessEnv; readonly prefix?: ReadonlyArray<string> },
    ...args: ReadonlyArray<string>
  ): Promise<ChildProcess> {
    const argv = [...(options.prefix ?? []), process.execPath, bin, "monitor", "--log-format", "json", ...args]
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env, stdio: ["ignore", "pipe", "pipe"] })
    this.monitor = child
    let buffer = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        this.output.push(line)
        try {
          // `--log-format json`: {time, level, msg, ...fields} (MonitorLogger).
          const { time, level, msg, ...annotations } = JSON.parse(line) as { time: string; level: string; msg: string }
          this.logs.push({ at: Date.parse(time), message: msg, level, annotations })
        } catch {
          // not a log line
        }
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => this.output.push(chunk))
    await waitFor("the monitor's start line", () => this.logs.some((l) => l.message.startsWith("a3s-box monitor started")))
    return child
  }

  messages(): ReadonlyArray<string> {
    return this.logs.map((l) => l.message)
  }

  /** Sends `signal` to the monitor (still our unreaped child, so its pid cannot have been reused) and waits for its exit. */
  async stopMonitor(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.monitor
    if (child === undefined) return { code: null, signal: null }
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, sig) => resolve({ code, signal: sig }))
    )
    child.kill(signal)
    return exited
  }

  async cleanup(): Promise<void> {
    if (this.monitor !== undefined && this.monitor.exitCode === null && this.monitor.signalCode === null) {
      const exited = new Promise((resolve) => this.monitor!.once("exit", resolve))
      this.monitor.kill("SIGKILL")
      await exited
    }
    this.state()
    for (const [pid, startTime] of this.seen) {
      const stat = readStat(pid)
      if (stat === undefined || (startTime !== null && stat.startTime !== startTime)) continue
      for (const target of stat.pgid === pid ? [-pid, pid] : [pid]) {
        try {
          process.kill(target, "SIGKILL")
        } catch {
          // gone already
        }
      }
    }
    removeDir(this.home)
  }
}
