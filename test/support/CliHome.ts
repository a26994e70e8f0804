/**
 * End-to-end support for the built CLI (`node dist/a3s-box.mjs`): a temp A3S_HOME per test,
 * the CLI run against it, and a cleanup that kills every process the test left behind
 * (checking each is still the same process first) and removes the home, also when the
 * test failed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..")
/** The built CLI; `A3S_TEST_BIN` runs the tests against another build (e.g. a deliberately broken one). */
export const bin = process.env["A3S_TEST_BIN"] ?? path.join(repoRoot, "dist", "a3s-box.mjs")

/** Fails clearly when the bundle is missing (`npm test` builds it; `npx vitest` alone does not). */
/** `text` without ANSI colour codes (the CLI colours its error prefix on a terminal). */
// eslint-disable-next-line no-control-regex
export const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, "")

export const requireBuild = (): void => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (\`npm test\` does)`)
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** What /proc/PID/stat says about a process, or undefined when there is none. */
export interface ProcStat {
  readonly state: string
  readonly ppid: number
  readonly pgid: number
  readonly startTime: number
}

export const procStat = (pid: number): ProcStat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1")
  } catch {
    return undefined
  }
  // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  const [state, ppid, pgid] = fields
  const startTime = fields[19]
  if (state === undefined || ppid === undefined || pgid === undefined || startTime === undefined) return undefined
  return { state, ppid: Number(ppid), pgid: Number(pgid), startTime: Number(startTime) }
}

/** SPEC §3 liveness: the pid exists, is not a zombie, and (when given) has that start time. */
export const isAlive = (pid: number, startTime: number | null): boolean => {
  const stat = procStat(pid)
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X" &&
    (startTime === null || stat.startTime === startTime)
}

/** Polls `check` (every 25 ms) until it returns something other than undefined/false. */
export const waitFor = async <A>(what: string, check: () => A | undefined | false, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A box record as the tests read it from boxes.json. */
export interface StateBox {
  readonly id: string
  readonly short_id: string
  readonly name: string
  readonly status: string
  readonly pid: number | null
  readonly pid_start_time: number | null
  readonly cmd: ReadonlyArray<string>
  readonly box_dir: string
  readonly console_log: string
  readonly restart_count: number
  readonly stopped_by_user: boolean
  readonly exit_code: number | null
  readonly auto_remove: boolean
  readonly started_at: string | null
  readonly [key: string]: unknown
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * One test's home. Every process the CLI runs gets `HOME=<home>/user` (boxes inherit HOME),
 * which lets `cleanup` find stray processes of this test even when no record names them.
 */
export class CliHome {
  readonly home = mkdtempSync(path.join(tmpdir(), "a3s-cli-e2e-"))
  readonly userHome = path.join(this.home, "user")
  readonly stateFile = path.join(this.home, "boxes.json")
  /** Box processes seen in the state file: pid -> start time. */
  private readonly seen = new Map<number, number | null>()
  private readonly children = new Set<ChildProcess>()

  constructor() {
    mkdirSync(this.userHome)
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, A3S_HOME: this.home, HOME: this.userHome, NO_COLOR: "1" }
  }

  /** Starts the CLI; the caller reads or signals it. It is killed at cleanup if still running. */
  spawn(args: ReadonlyArray<string>): ChildProcess {
    const child = spawn(process.execPath, [bin, ...args], { env: this.env, stdio: ["ignore", "pipe", "pipe"] })
    this.children.add(child)
    child.once("exit", () => this.children.delete(child))
    return child
  }

  /** Collects a spawned CLI's output and waits for its exit. */
  static finish(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> & { readonly stdout: () => string } {
    let stdout = ""
    let stderr = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk })
    const done = new Promise<CliResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        reject(new Error(`CLI did not finish within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`))
      }, timeoutMs)
      child.once("exit", (code, signal) => {
        clearTimeout(timer)
        // 'exit' can come before the pipes are drained: wait for 'close'.
        const settle = () => resolve({ code, signal, stdout, stderr })
        if (child.stdout!.closed && child.stderr!.closed) settle()
        else child.once("close", settle)
      })
    })
    return Object.assign(done, { stdout: () => stdout })
  }

  /** Runs `a3s-box ARGS...` to completion. */
  async cli(...args: ReadonlyArray<string>): Promise<CliResult> {
    const result = await CliHome.finish(this.spawn(args))
    this.state()
    return result
  }

  /** Runs `a3s-box run -d ...` and returns the new box's record (fails the test if it did not work). */
  async runDetached(...args: ReadonlyArray<string>): Promise<StateBox> {
    const result = await this.cli("run", "-d", ...args)
    const id = result.stdout.trim()
    if (result.code !== 0 || !UUID.test(id)) {
      throw new Error(`run -d failed (${result.code}): ${result.stdout} ${result.stderr}`)
    }
    const box = this.state().find((b) => b.id === id)
    if (box === undefined) throw new Error(`box ${id} is not in the state file`)
    return box
  }

  /** The state file's bytes, or undefined when it does not exist. */
  stateBytes(): Buffer | undefined {
    try {
      return readFileSync(this.stateFile)
    } catch {
      return undefined
    }
  }

  /** The records ([] while the file is missing or mid-replace); remembers their processes for cleanup. */
  state(): ReadonlyArray<StateBox> {
    let boxes: ReadonlyArray<StateBox>
    try {
      boxes = JSON.parse(readFileSync(this.stateFile, "utf8")) as ReadonlyArray<StateBox>
      if (!Array.isArray(boxes)) return []
    } catch {
      return []
    }
    for (const box of boxes) {
      // (a corrupt file may hold anything: only records with a pid count)
      if (typeof box?.pid === "number" && !this.seen.has(box.pid)) this.seen.set(box.pid, box.pid_start_time ?? null)
    }
    return boxes
  }

  box(nameOrId: string): StateBox | undefined {
    return this.state().find((b) => b.name === nameOrId || b.id === nameOrId)
  }

  /** The box directories that exist under `<home>/boxes`. */
  boxDirs(): ReadonlyArray<string> {
    try {
      return readdirSync(path.join(this.home, "boxes")).sort()
    } catch {
      return []
    }
  }

  /** Pids of live processes whose environment carries this test's HOME (boxes and their children). */
  private strays(): ReadonlyArray<{ readonly pid: number; readonly startTime: number }> {
    const marker = Buffer.from(`\0HOME=${this.userHome}\0`)
    const found: Array<{ pid: number; startTime: number }> = []
    for (const entry of readdirSync("/proc")) {
      if (!/^[0-9]+$/.test(entry)) continue
      const pid = Number(entry)
      if (pid === process.pid) continue
      const before = procStat(pid)
      if (before === undefined) continue
      let environ: Buffer
      try {
        environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)])
      } catch {
        continue
      }
      if (environ.includes(marker)) found.push({ pid, startTime: before.startTime })
    }
    return found
  }

  /** SIGKILLs `pid` (and the group it leads) if it is still the process with that start time. */
  private static killIfSame(pid: number, startTime: number | null): void {
    const stat = procStat(pid)
    if (stat === undefined || (startTime !== null && stat.startTime !== startTime)) return
    for (const target of stat.pgid === pid ? [-pid, pid] : [pid]) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // gone already
      }
    }
  }

  /** Kills the CLI processes still running, every box process of this home, then removes the home. */
  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL")
    this.state()
    for (const [pid, startTime] of this.seen) CliHome.killIfSame(pid, startTime)
    for (const { pid, startTime } of this.strays()) CliHome.killIfSame(pid, startTime)
    // Processes that were just killed may take a moment to be reaped; do not leave the test before.
    await waitFor("this test's processes to be gone", () => this.strays().length === 0, 10_000).catch(() => undefined)
    rmSync(this.home, { recursive: true, force: true })
  }
}

/** A uuid, as `run -d` prints it. */
export const isUuid = (text: string): boolean => UUID.test(text)
