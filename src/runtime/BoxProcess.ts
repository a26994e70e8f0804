import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as path from "node:path"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { errnoCode } from "../platform/ErrorText.js"
import * as ProcessIdentity from "./ProcessIdentity.js"
import * as ProcessInfo from "./ProcessInfo.js"

/**
 * Which processes are a box's, before any of them is signalled (SPEC §12, issue 16): the
 * process at its recorded pid, and the process group that pid leads. The rules are pure
 * functions over facts read from the OS (`decideTarget`, `decideRemains`), used by every
 * signal the runtime sends for a box: `stop` (and so `rm -f`, `restart`, the monitor's
 * unhealthy restarts) and the monitor's clean-up of a dead box's group (`killRemains`).
 */

/** argv[0] of the box wrapper (internal/wrapper.sh), as its command line shows it. */
export const WRAPPER_NAME = "a3s-box-wrapper"

/** `<box_dir>/exit_code`: the box wrapper writes the exit code of each run there. */
export const exitCodePath = (box: Pick<BoxRecord, "box_dir">): string => path.join(box.box_dir, "exit_code")

type BoxIdentity = Pick<BoxRecord, "name" | "pid" | "pid_start_time" | "started_at" | "console_log" | "box_dir">

// ---------------------------------------------------------------------------
// The process at the box's pid

/** What the runtime can read about the process at a box's recorded pid. */
export interface TargetFacts {
  /** The process now at the pid; none when there is none. */
  readonly process: Option.Option<ProcessInfo.ProcessInfo>
  /** When it started, in epoch ms (null if unknown): a process younger than the box is not the box's. */
  readonly startedAtMillis: number | null
  /** Its parent's command line (empty if unreadable): the box's wrapper names the box's exit-code file. */
  readonly parentArgv: ReadonlyArray<string>
  /** Where its stdout (fd 1) points (null if unreadable): the box's console log, unless it redirected it. */
  readonly stdout: string | null
}

export type Target = Data.TaggedEnum<{
  /** The box's process is gone: nothing to signal. */
  Gone: { readonly reason: string }
  /** The process is the box's (`proof` says why it is known): signal it, and its group if it leads one. */
  Box: { readonly process: ProcessInfo.ProcessInfo; readonly proof: string }
  /** The process may be a stranger's: it must not be signalled. */
  Refused: { readonly reason: string }
}>
export const Target = Data.taggedEnum<Target>()

const samePath = (a: string, b: string): boolean => path.resolve(a) === path.resolve(b)

/**
 * Whether `argv` is the command line of a box wrapper started for this box. A wrapper of a batch
 * boot names every box of its batch (700 arguments for 100 boxes), and resolving them all cost
 * ~280 µs per box, 2.8 s of CPU when a monitor starts watching 10,000 boxes' exits: the exit file
 * is looked for as written first, and only arguments ending in its name are resolved.
 */
export const isWrapperOf = (argv: ReadonlyArray<string>, box: Pick<BoxRecord, "box_dir">): boolean => {
  if (!argv.includes(WRAPPER_NAME)) return false
  const exitFile = path.resolve(exitCodePath(box))
  const name = path.basename(exitFile)
  // As the launcher wrote it (exitCodePath), found without resolving anything; else spelled otherwise.
  return argv.includes(exitFile) || argv.some((arg) => arg.endsWith(name) && path.resolve(arg) === exitFile)
}

/**
 * The rule before any signal to a box's pid. With `pid_start_time` recorded, the process is
 * the box's exactly when its start time is that one (otherwise the pid was reused: the box's
 * process is gone). Without one (a record of an older tool), a process that started after the
 * box did is not the box's (gone); any other must be proved the box's by another fact: its
 * parent is the box's wrapper (its command line names this box's exit-code file), or its
 * stdout is the box's console log. Failing both, it is refused: never signalled.
 */
export const decideTarget = (box: BoxIdentity, facts: TargetFacts): Target => {
  const pid = box.pid
  if (pid === null || !Number.isSafeInteger(pid) || pid <= 1) return Target.Gone({ reason: "no pid is recorded" })
  if (Option.isNone(facts.process) || ProcessInfo.isGoneState(facts.process.value.state)) {
    return Target.Gone({ reason: `process ${pid} has exited` })
  }
  const process = facts.process.value
  if (box.pid_start_time !== null) {
    return process.startTime === box.pid_start_time
      ? Target.Box({ process, proof: "its start time is the recorded one" })
      : Target.Gone({ reason: `pid ${pid} now belongs to another process (another start time)` })
  }
  if (ProcessIdentity.startedAfterBox(facts.startedAtMillis, box.started_at)) {
    return Target.Gone({ reason: `pid ${pid} now belongs to a process that started after the box` })
  }
  if (isWrapperOf(facts.parentArgv, box)) return Target.Box({ process, proof: "its parent is the box's wrapper" })
  if (facts.stdout !== null && samePath(facts.stdout, box.console_log)) {
    return Target.Box({ process, proof: "its stdout is the box's console log" })
  }
  return Target.Refused({
    reason: `the record has no pid_start_time, and nothing proves process ${pid} is the box's ` +
      `(its parent is not the box's wrapper, its stdout is not ${box.console_log})`
  })
}

// ---------------------------------------------------------------------------
// The rest of the box's process group

/** A process of the group, with where its stdout points (null if unreadable). */
export interface Member extends ProcessInfo.ProcessInfo {
  readonly stdout: string | null
}

/** What the runtime can read about the process group a box's pid led. */
export interface GroupFacts {
  /** The process now at the box's pid (the group's leader, if it is still there). */
  readonly leader: Option.Option<ProcessInfo.ProcessInfo>
  /** The other live (not zombie) processes whose process group id is the box's pid. */
  readonly members: ReadonlyArray<Member>
  /** Epoch ms of a process's start time, null if unknown (`ProcessIdentity.startedAtMillis`). */
  readonly startedAtMillis: (info: ProcessInfo.ProcessInfo) => number | null
}

export type Remains = Data.TaggedEnum<{
  /** Nothing of the box's group is left. */
  None: {}
  /** These processes of the box's group are left: kill the group. */
  Kill: { readonly pgid: number; readonly pids: ReadonlyArray<number> }
  /** A group with the box's pid as its id exists, but it is not provably the box's: left alone. */
  Refused: { readonly reason: string }
}>
export const Remains = Data.taggedEnum<Remains>()

/**
 * The rule before killing what is left of a box's process group once its main process is
 * gone. A pid is never reused while a process group of that id has members, so a group whose
 * id is the box's pid is the box's, unless it emptied and the pid went to a new process that
 * made a group of its own meanwhile. So the group is the box's only if the process at the pid
 * is gone or is the box's own (a zombie not reaped yet; same start time when one is recorded),
 * and every member started no earlier than the box (its recorded start time; without one, its
 * `started_at`, and then one member must also write to the box's console log, as a child
 * inheriting the box's stdout does). Returns `None` for a box that is still alive, and when
 * another process has the pid (then the group is that process's).
 */
export const decideRemains = (box: BoxIdentity, facts: GroupFacts): Remains => {
  const pid = box.pid
  if (pid === null || !Number.isSafeInteger(pid) || pid <= 1 || facts.members.length === 0) return Remains.None()
  if (Option.isSome(facts.leader)) {
    const leader = facts.leader.value
    const sameProcess = box.pid_start_time === null || leader.startTime === box.pid_start_time
    // Another process has the pid, so the box's group had emptied: this group is that process's.
    if (!sameProcess) return Remains.None()
    if (!ProcessInfo.isGoneState(leader.state)) return Remains.None()
  }
  const members = facts.members
  if (box.pid_start_time !== null) {
    const early = members.find((m) => m.startTime < box.pid_start_time!)
    if (early !== undefined) return Remains.Refused({ reason: `process ${early.pid} of group ${pid} started before the box` })
  } else {
    const boxStart = box.started_at === null ? Number.NaN : Date.parse(box.started_at)
    if (!Number.isFinite(boxStart)) return Remains.Refused({ reason: "the record has neither pid_start_time nor started_at" })
    const early = members.find((m) => {
      const at = facts.startedAtMillis(m)
      return at === null || at < boxStart - ProcessIdentity.START_SLACK_MS
    })
    if (early !== undefined) {
      return Remains.Refused({ reason: `process ${early.pid} of group ${pid} did not start after the box` })
    }
    if (!members.some((m) => m.stdout !== null && samePath(m.stdout, box.console_log))) {
      return Remains.Refused({
        reason: `the record has no pid_start_time, and no process of group ${pid} writes to the box's console log`
      })
    }
  }
  return Remains.Kill({ pgid: pid, pids: members.map((m) => m.pid) })
}

// ---------------------------------------------------------------------------
// Reading the facts

/** Linux: where `/proc/PID/fd/1` points; null where unreadable (gone, another user's, no /proc). */
export const stdoutOf = (pid: number): string | null => {
  if (process.platform !== "linux") return null
  try {
    return readlinkSync(`/proc/${pid}/fd/1`)
  } catch {
    return null
  }
}

/** Linux: the command line of `pid` (`/proc/PID/cmdline`); empty where unreadable. */
export const argvOf = (pid: number): ReadonlyArray<string> => {
  if (process.platform !== "linux" || pid <= 0) return []
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8")
    return text.endsWith("\0") ? text.slice(0, -1).split("\0") : text.split("\0")
  } catch {
    return []
  }
}

/** The facts `decideTarget` needs about the process at `box.pid`. */
export const readTargetFacts = (box: BoxIdentity): Effect.Effect<TargetFacts> =>
  Effect.gen(function*() {
    const pid = box.pid
    if (pid === null || !Number.isSafeInteger(pid) || pid <= 1) {
      return { process: Option.none(), startedAtMillis: null, parentArgv: [], stdout: null }
    }
    const info = yield* ProcessInfo.readProcessInfo(pid)
    // Only a record without a start time needs the other facts.
    if (Option.isNone(info) || box.pid_start_time !== null) {
      return { process: info, startedAtMillis: null, parentArgv: [], stdout: null }
    }
    return {
      process: info,
      startedAtMillis: ProcessIdentity.startedAtMillis(info.value),
      parentArgv: info.value.ppid > 1 ? argvOf(info.value.ppid) : [],
      stdout: stdoutOf(pid)
    }
  })

/**
 * Whether any process has process group id `pgid` (`kill(-pgid, 0)`: a microsecond; zombies
 * count). Most boxes leave nothing behind: this spares them the scan of every process.
 */
export const groupExists = (pgid: number): boolean => {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return false
  try {
    process.kill(-pgid, 0)
    return true
  } catch (error) {
    return errnoCode(error) === "EPERM"
  }
}

/** Parses `ps -A -o pid=,stat=,ppid=,pgid=,lstart=` (run with `LC_ALL=C TZ=UTC`). */
export const parsePsListing = (text: string): Array<ProcessInfo.ProcessInfo> =>
  text.split("\n").flatMap((line) => {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line)
    if (match === null) return []
    return Option.toArray(ProcessInfo.parsePsOutput(Number(match[1]), match[2]!))
  })

const listWithPs: Effect.Effect<ReadonlyArray<ProcessInfo.ProcessInfo>> = Effect.async((resume) => {
  const child = execFile(
    "ps",
    ["-A", "-o", "pid=,stat=,ppid=,pgid=,lstart="],
    { env: { ...process.env, LC_ALL: "C", TZ: "UTC" }, timeout: 10_000, maxBuffer: 64 * 1024 * 1024 },
    (error, stdout) => resume(Effect.succeed(error === null ? parsePsListing(stdout) : []))
  )
  return Effect.sync(() => child.kill("SIGKILL"))
})

/** Linux: every process whose process group id is `pgid`, read from /proc (one small read each). */
const groupFromProc = (pgid: number): ReadonlyArray<ProcessInfo.ProcessInfo> => {
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return []
  }
  const found: Array<ProcessInfo.ProcessInfo> = []
  for (const entry of entries) {
    const first = entry.charCodeAt(0)
    if (first < 0x30 || first > 0x39) continue
    let text: string
    try {
      text = readFileSync(`/proc/${entry}/stat`, "latin1")
    } catch {
      continue
    }
    const info = ProcessInfo.parseProcStat(text)
    if (Option.isSome(info) && info.value.pgid === pgid) found.push(info.value)
  }
  return found
}

/** The live (not zombie) processes of group `pgid` other than its leader `pgid` itself. */
export const readMembers = (pgid: number): Effect.Effect<ReadonlyArray<Member>> =>
  Effect.suspend(() => {
    if (!groupExists(pgid)) return Effect.succeed([])
    const all = process.platform === "linux"
      ? Effect.sync(() => groupFromProc(pgid))
      : Effect.map(listWithPs, (list) => list.filter((p) => p.pgid === pgid))
    return Effect.map(all, (list) =>
      list
        .filter((p) => p.pid !== pgid && !ProcessInfo.isGoneState(p.state))
        .map((p) => ({ ...p, stdout: stdoutOf(p.pid) })))
  })

/** The facts `decideRemains` needs about the group the box's pid led. */
export const readGroupFacts = (box: Pick<BoxRecord, "pid">): Effect.Effect<GroupFacts> =>
  Effect.gen(function*() {
    const pid = box.pid
    if (pid === null || !Number.isSafeInteger(pid) || pid <= 1) {
      return { leader: Option.none(), members: [], startedAtMillis: ProcessIdentity.startedAtMillis }
    }
    const members = yield* readMembers(pid)
    const leader = members.length === 0 ? Option.none() : yield* ProcessInfo.readProcessInfo(pid)
    return { leader, members, startedAtMillis: (info) => ProcessIdentity.startedAtMillis(info) }
  })
