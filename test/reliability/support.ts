/**
 * Support for the reliability suite: a temp home driven through the built CLI (CliHome: every
 * process of the test is found by its environment and killed, by pid with a start-time check,
 * and the home removed, also when a test fails), plus
 * - box markers: each box this suite starts carries a unique marker argument in its command
 *   line, so the process table can be compared with the state file (`boxProcesses`);
 * - monitors started with JSON logs, their log lines collected (`startMonitor`);
 * - the state file's bytes and mtime, to check that nothing wrote it (`fileStamp`).
 */
import { type ChildProcess } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { CliHome, procStat, waitFor } from "../support/CliHome.js"

export { bin, CliHome, isAlive, plain, procStat, requireBuild, type StateBox, waitFor } from "../support/CliHome.js"

/** The wrapper's argv[0] (src/runtime/BoxProcess.ts WRAPPER_NAME): its command line also holds the box's. */
const WRAPPER_NAME = "a3s-box-wrapper"

/** A process found in /proc. */
export interface Proc {
  readonly pid: number
  readonly startTime: number
}

/** The argv of a process, or undefined if it is gone (or a kernel thread). */
const cmdlineOf = (pid: number): ReadonlyArray<string> | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8")
    return text === "" ? undefined : text.replace(/\0$/, "").split("\0")
  } catch {
    return undefined
  }
}

export interface LogLine {
  readonly message: string
  readonly level: string
  readonly at: number
}

/** A monitor process with its parsed JSON log lines. */
export interface MonitorProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly logs: Array<LogLine>
  /** Everything it printed that was not a JSON log line. */
  readonly other: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** SIGKILL (it is our unreaped child: the pid cannot have been reused) and wait for the exit. */
  readonly kill: (signal?: NodeJS.Signals) => Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

export class Lab extends CliHome {
  /** Unique to this home: marks the command lines of its boxes. */
  readonly token = randomBytes(6).toString("hex")

  /** The marker argument of box `name`. */
  marker(name: string): string {
    return `a3s-rel-${this.token}-${name}`
  }

  /**
   * A box command that runs `script` in sh with the box's marker as $0 (`sh -c SCRIPT MARKER`):
   * the marker stays in the process's command line for as long as sh runs (the script must not
   * `exec`).
   */
  markedCmd(name: string, script: string): ReadonlyArray<string> {
    return ["sh", "-c", script, this.marker(name)]
  }

  /**
   * Live (not zombie) box processes of this home by box name: processes whose command line
   * holds a marker of this home; wrappers (and their not yet exec'd jobs) excluded, and so are
   * the box's own children caught between fork and exec (same command line, parent marked too).
   */
  boxProcesses(): Map<string, Array<Proc>> {
    const prefix = `a3s-rel-${this.token}-`
    const found = new Map<string, Array<Proc & { readonly ppid: number }>>()
    for (const entry of readdirSync("/proc")) {
      if (!/^[0-9]+$/.test(entry)) continue
      const pid = Number(entry)
      const argv = cmdlineOf(pid)
      if (argv === undefined || argv.includes(WRAPPER_NAME)) continue
      const marker = argv.find((arg) => arg.startsWith(prefix))
      if (marker === undefined) continue
      const stat = procStat(pid)
      if (stat === undefined || stat.state === "Z" || stat.state === "X") continue
      const name = marker.slice(prefix.length)
      found.set(name, [...(found.get(name) ?? []), { pid, startTime: stat.startTime, ppid: stat.ppid }])
    }
    const roots = new Map<string, Array<Proc>>()
    for (const [name, procs] of found) {
      const pids = new Set(procs.map((p) => p.pid))
      roots.set(name, procs.filter((p) => !pids.has(p.ppid)).map(({ pid, startTime }) => ({ pid, startTime })))
    }
    return roots
  }

  /** The state file's size, content digest, inode and mtime (undefined when it does not exist): compare to see it untouched. */
  fileStamp(): { readonly size: number; readonly sha256: string; readonly ino: bigint; readonly mtimeNs: bigint } | undefined {
    const bytes = this.stateBytes()
    if (bytes === undefined) return undefined
    const stat = statSync(this.stateFile, { bigint: true })
    return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), ino: stat.ino, mtimeNs: stat.mtimeNs }
  }

  /** Starts `a3s-box monitor --log-format json ARGS` and waits for its start line (unless `wait` is false). */
  async startMonitor(args: ReadonlyArray<string>, options: { readonly wait?: boolean } = {}): Promise<MonitorProcess> {
    const child = this.spawn(["monitor", "--log-format", "json", ...args])
    const logs: Array<LogLine> = []
    let other = ""
    let buffer = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        try {
          // `--log-format json`: {time, level, msg, ...fields} (MonitorLogger).
          const entry = JSON.parse(line) as { msg: string; level: string; time: string }
          logs.push({ message: entry.msg, level: entry.level, at: Date.parse(entry.time) })
        } catch {
          other += line + "\n"
        }
      }
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (other += chunk))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    const monitor: MonitorProcess = {
      child,
      pid: child.pid!,
      logs,
      other: () => other,
      exited,
      kill: async (signal = "SIGKILL") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        return exited
      }
    }
    if (options.wait !== false) {
      await Promise.race([
        waitFor("the monitor's start line", () => logs.some((l) => l.message.startsWith("a3s-box monitor started")), 30_000),
        exited.then((exit) => {
          throw new Error(`the monitor exited (${exit.code ?? exit.signal}) before starting: ${other}`)
        })
      ])
    }
    return monitor
  }
}

/** Labs made by a test file; `cleanupAll` (afterEach/afterAll) kills their processes and removes their homes. */
export const labs = () => {
  const made: Array<Lab> = []
  return {
    make: (): Lab => {
      const lab = new Lab()
      made.push(lab)
      return lab
    },
    cleanupAll: async (): Promise<void> => {
      await Promise.all(made.splice(0).map((lab) => lab.cleanup()))
    }
  }
}

/** Resolves after `ms` (only for spacing out actions, never to wait for an outcome: poll for that). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A stopped box record `box<i>` with a fixed id, for hand-made (and hand-broken) state files. */
export const record = (i: number, fields: Record<string, unknown> = {}) => {
  const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`
  return {
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name: `box${i}`,
    status: "stopped",
    pid: null,
    cmd: ["sleep", "1000"],
    box_dir: `/nonexistent/${id}`,
    console_log: `/nonexistent/${id}/console.log`,
    created_at: "2026-01-01T00:00:00Z",
    restart_policy: "always",
    ...fields
  }
}
