import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import { closeSync, openSync, readSync } from "node:fs"

/**
 * What liveness checks need to know about a process: its state letter, process group,
 * parent and start-time identity. Linux reads `/proc/PID/stat`; other Unix systems ask `ps`.
 */
export interface ProcessInfo {
  readonly pid: number
  /** `R`, `S`, `D`, `T`, `Z`, ...: the first letter of the state (`ps` adds flags after it). */
  readonly state: string
  readonly ppid: number
  readonly pgid: number
  /**
   * Start-time identity. Linux: field 22 of /proc/PID/stat (clock ticks since boot);
   * elsewhere: start time in seconds since the epoch, as `ps -o lstart` tells it.
   */
  readonly startTime: number
}

/** A zombie has exited; only its parent's `wait` keeps it listed. `X` (dead) is as good as gone. */
export const isGoneState = (state: string): boolean => state.startsWith("Z") || state.startsWith("X")

/** A stopped process (SIGSTOP, paused box) only reacts to SIGKILL and SIGCONT. */
export const isStoppedState = (state: string): boolean => state.startsWith("T")

/**
 * SPEC §3 as a pure decision: the process exists, is not a zombie, and has the recorded
 * start time when one is recorded (a different start time means the pid was reused).
 */
export const isAliveGiven = (info: Option.Option<ProcessInfo>, startTime: number | null): boolean =>
  Option.match(info, {
    onNone: () => false,
    onSome: (p) => !isGoneState(p.state) && (startTime === null || p.startTime === startTime)
  })

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/**
 * Parses the one line of `/proc/PID/stat`. The second field is the command name in
 * parentheses, which may itself contain spaces and parentheses (`(a) b (c))`): it ends
 * at the LAST `)` of the line. Fields are numbered as in proc(5): 3 state, 4 ppid,
 * 5 pgrp, 22 starttime.
 */
export const parseProcStat = (text: string): Option.Option<ProcessInfo> => {
  const open = text.indexOf(" (")
  const close = text.lastIndexOf(")")
  if (open <= 0 || close < open) return Option.none()
  const pid = Number(text.slice(0, open))
  const rest = text.slice(close + 1).trim().split(/\s+/)
  // rest[0] is field 3.
  const field = (n: number): number => Number(rest[n - 3])
  const state = rest[0]
  const info = { pid, state, ppid: field(4), pgid: field(5), startTime: field(22) }
  if (state === undefined || !/^[A-Za-z]$/.test(state)) return Option.none()
  if (![info.pid, info.ppid, info.pgid, info.startTime].every(isCount)) return Option.none()
  return Option.some({ ...info, state })
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const PS_LINE = /^\s*(\S+)\s+(\d+)\s+(\d+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/

/** The `ps` invocation whose output {@link parsePsOutput} reads (run with `LC_ALL=C TZ=UTC`). */
export const psArgs = (pid: number): ReadonlyArray<string> => ["-o", "stat=,ppid=,pgid=,lstart=", "-p", String(pid)]

/**
 * Parses `ps -o stat=,ppid=,pgid=,lstart= -p PID` as printed with `LC_ALL=C TZ=UTC`
 * (macOS, BSD, Linux procps): `Ss       1   412 Wed Nov  5 10:33:12 2025`. The start
 * time becomes seconds since the epoch. Empty output (no such process) is none.
 */
export const parsePsOutput = (pid: number, text: string): Option.Option<ProcessInfo> => {
  const line = text.split("\n").find((l) => l.trim() !== "")
  const m = line === undefined ? null : PS_LINE.exec(line)
  if (m === null) return Option.none()
  const [, state, ppid, pgid, mon, day, hh, mm, ss, year] = m as unknown as ReadonlyArray<string>
  const month = MONTHS.indexOf(mon!)
  if (month < 0) return Option.none()
  const startTime = Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss)) / 1000
  return Option.some({ pid, state: state!, ppid: Number(ppid), pgid: Number(pgid), startTime })
}

const validPid = (pid: number): boolean => Number.isSafeInteger(pid) && pid > 0

const statBuffer = Buffer.allocUnsafe(4096)

/**
 * A synchronous open/read/close into a reused buffer: /proc files live in memory and are
 * tiny, so this takes ~10-15 µs, where `readFileSync` costs twice that and an async read a
 * thread-pool round trip (~20x). The monitor checks hundreds of boxes per cycle.
 */
const readProcStat = (pid: number): Effect.Effect<Option.Option<ProcessInfo>> =>
  Effect.sync(() => {
    let fd: number | undefined
    try {
      fd = openSync(`/proc/${pid}/stat`, "r")
      const length = readSync(fd, statBuffer, 0, statBuffer.length, 0)
      return parseProcStat(statBuffer.toString("latin1", 0, length))
    } catch {
      return Option.none()
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  })

/** The `ps` reader used off Linux (exported so it can be tested on Linux's procps too). */
export const readProcessInfoWithPs = (pid: number): Effect.Effect<Option.Option<ProcessInfo>> =>
  !validPid(pid) ? Effect.succeed(Option.none()) : Effect.async<Option.Option<ProcessInfo>>((resume) => {
    const child = execFile(
      "ps",
      [...psArgs(pid)],
      { env: { ...process.env, LC_ALL: "C", TZ: "UTC" }, timeout: 10_000 },
      (error, stdout) => {
        // `ps -p` exits 1 when there is no such process.
        resume(Effect.succeed(error === null ? parsePsOutput(pid, stdout) : Option.none()))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * What the OS says about `pid` now; none when there is no such process. Linux reads
 * `/proc/PID/stat` (one small read, no subprocess); elsewhere it runs `ps`.
 */
export const readProcessInfo = (pid: number): Effect.Effect<Option.Option<ProcessInfo>> => {
  if (!validPid(pid)) return Effect.succeed(Option.none())
  return process.platform === "linux" ? readProcStat(pid) : readProcessInfoWithPs(pid)
}

const CLOSE_PAREN = 0x29
const SPACE = 0x20

/**
 * `isAlive` in one synchronous read of /proc/PID/stat, parsing only the two fields it needs
 * (state, start time) straight from the bytes. A poll cycle checks every active box.
 */
const aliveOnLinux = (pid: number, startTime: number | null): boolean => {
  if (!validPid(pid)) return false
  let fd: number | undefined
  let length: number
  try {
    fd = openSync(`/proc/${pid}/stat`, "r")
    length = readSync(fd, statBuffer, 0, statBuffer.length, 0)
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  // The command name may contain ')': the fields start after the last one.
  const close = statBuffer.lastIndexOf(CLOSE_PAREN, length - 1)
  if (close < 0 || close + 2 >= length) return false
  const state = statBuffer[close + 2]!
  if (state === 0x5a /* Z */ || state === 0x58 /* X */) return false
  if (startTime === null) return true
  // Field 3 is the state; field 22 (start time) begins after 19 more spaces.
  let i = close + 2
  for (let spaces = 0; spaces < 19; i++) {
    if (i >= length) return false
    if (statBuffer[i] === SPACE) spaces++
  }
  let value = 0
  let digits = 0
  for (; i < length; i++) {
    const c = statBuffer[i]!
    if (c < 0x30 || c > 0x39) break
    value = value * 10 + (c - 0x30)
    digits++
  }
  return digits > 0 && value === startTime
}

/**
 * `aliveOnLinux` over a batch, reading each distinct process once: records that name the same
 * pid and start time name the same process, so they get the same answer from the same read.
 * (A pid asked about with two start times is read for each: at most one of them is right.)
 */
export const aliveBatch = (
  procs: ReadonlyArray<{ readonly pid: number; readonly startTime: number | null }>,
  alive: (pid: number, startTime: number | null) => boolean
): Array<boolean> => {
  const answers = new Array<boolean>(procs.length)
  const seen = new Map<number, { readonly startTime: number | null; readonly alive: boolean }>()
  for (let i = 0; i < procs.length; i++) {
    const { pid, startTime } = procs[i]!
    const earlier = seen.get(pid)
    if (earlier !== undefined && earlier.startTime === startTime) {
      answers[i] = earlier.alive
      continue
    }
    const answer = alive(pid, startTime)
    if (earlier === undefined) seen.set(pid, { startTime, alive: answer })
    answers[i] = answer
  }
  return answers
}

/**
 * `isAlive` for many processes at once (a poll cycle over every active box): on Linux one
 * synchronous /proc read per distinct process, with no effect per process; elsewhere
 * `isAlive` per process.
 */
export const areAlive = (
  procs: ReadonlyArray<{ readonly pid: number; readonly startTime: number | null }>
): Effect.Effect<ReadonlyArray<boolean>> =>
  process.platform === "linux"
    ? Effect.sync(() => aliveBatch(procs, aliveOnLinux))
    : Effect.forEach(procs, (p) => isAlive(p.pid, p.startTime), { concurrency: 16 })

/** SPEC §3: `pid` exists, is not a zombie, and has `startTime` when one is given. */
export const isAlive = (pid: number, startTime: number | null): Effect.Effect<boolean> =>
  Effect.map(readProcessInfo(pid), (info) => isAliveGiven(info, startTime))
