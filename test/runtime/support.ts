import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { removeDir } from "../support/removeDir.js"

/** A fresh temp directory, removed by {@link Cleanup.run}. */
export const tempDir = (cleanup: Cleanup): string => {
  const dir = mkdtempSync(path.join(tmpdir(), "a3s-runtime-"))
  cleanup.dirs.push(dir)
  return dir
}

let counter = 0

/** A box record for a box living under `dir`, with the schema's defaults for everything not given. */
export const recordIn = (dir: string, fields: Record<string, unknown> & { cmd: ReadonlyArray<string> }): BoxRecord => {
  counter += 1
  const id = `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`
  const boxDir = path.join(dir, "boxes", id)
  return Schema.decodeUnknownSync(BoxRecord)({
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name: `box-${counter}`,
    status: "running",
    box_dir: boxDir,
    console_log: path.join(boxDir, "logs", "console.log"),
    created_at: new Date().toISOString(),
    ...fields
  })
}

/** Processes and directories a test created; everything is killed and removed even when the test fails. */
export class Cleanup {
  readonly processes: Array<{ readonly pid: number; readonly startTime: number }> = []
  readonly dirs: Array<string> = []

  /** Remembers `pid` with its current start time, so it is killed only if it is still that process. */
  track(pid: number): void {
    const stat = readStat(pid)
    if (stat !== undefined) this.processes.push({ pid, startTime: stat.startTime })
  }

  run(): void {
    for (const { pid, startTime } of this.processes.splice(0)) {
      const stat = readStat(pid)
      if (stat === undefined || stat.startTime !== startTime) continue
      for (const target of stat.pgid === pid ? [-pid, pid] : [pid]) {
        try {
          process.kill(target, "SIGKILL")
        } catch {
          // gone already
        }
      }
    }
    for (const dir of this.dirs.splice(0)) removeDir(dir)
  }
}

/** /proc/PID/stat, parsed; undefined when there is no such process. */
export const readStat = (pid: number): ProcessInfo.ProcessInfo | undefined => {
  try {
    return Option.getOrUndefined(ProcessInfo.parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1")))
  } catch {
    return undefined
  }
}

/** Field 6 (session id) of /proc/PID/stat. */
export const sessionOf = (pid: number): number => {
  const text = readFileSync(`/proc/${pid}/stat`, "latin1")
  return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[3])
}

/** A line of /proc/PID/status such as `SigIgn`. */
export const statusField = (pid: number, field: string): string | undefined =>
  readFileSync(`/proc/${pid}/status`, "latin1").split("\n").find((l) => l.startsWith(`${field}:`))?.split(/\s+/)[1]

/** Polls `check` every 20 ms until it holds; fails the test after `ms` (generous: the machine is shared). */
export const eventually = async (what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const readText = (file: string): string => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return ""
  }
}
