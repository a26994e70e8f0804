import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type ChildProcess, spawn } from "node:child_process"
import type { Socket } from "node:net"
import {
  accessSync,
  chmodSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  fchmodSync,
  fstatSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync
} from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { bootEnvironment } from "../domain/BoxEnvironment.js"
import { type BoxRecord, stopSignal, stopTimeoutSecs } from "../domain/BoxRecord.js"
import { makeDirectories, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../platform/Directories.js"
import {
  BootFailed,
  type BootedBox,
  type BootOptions,
  BoxRuntime,
  type BoxRuntimeShape,
  type ProbeResult,
  SignalRefused,
  StopFailed
} from "./BoxRuntime.js"
import * as BoxProcess from "./BoxProcess.js"
import { exitCodePath, WRAPPER_NAME } from "./BoxProcess.js"
import * as ProcessInfo from "./ProcessInfo.js"
import * as Signal from "./Signal.js"

// ---------------------------------------------------------------------------
// Pure pieces

/** `<box_dir>/exit_code` (the wrapper writes each run's exit code there) and the wrapper's argv[0]: see BoxProcess. */
export { exitCodePath, WRAPPER_NAME } from "./BoxProcess.js"

const ExitCodeFile = Schema.compose(Schema.Trim, Schema.NumberFromString).pipe(Schema.int())
const decodeExitCodeFile = Schema.decodeUnknownOption(ExitCodeFile)

/** Parses the content of an exit_code file: one integer, surrounding whitespace allowed. */
export const parseExitCodeFile = (text: string): Option.Option<number> => decodeExitCodeFile(text)

/**
 * The box launcher and wrapper: `bash -c LAUNCHER a3s-box-wrapper N BOX...`, where each BOX is
 * `GATE_FD LOG_FD EXIT_FILE CWD ARGC CMD...`. One launcher starts the wrappers of every box
 * booted at the same moment with the same environment (a restart storm boots 100 boxes with
 * one process spawned by the booting process instead of 100: a spawn from a large process
 * costs a millisecond or more of its CPU, a bash start-up two more). It forks a wrapper
 * (subshell) per box but the last, and is itself the last box's wrapper. The command is
 * never part of a shell string: it arrives as arguments.
 * - GATE_FD is one end of a socket pair: the wrapper reports the job's pid on it, the booting
 *   process answers `go` (or closes it), and the wrapper reports `exit CODE` there once the
 *   exit code is written. LOG_FD is the console log, opened by the booting process. Each
 *   wrapper moves its gate above every inherited descriptor and closes the others' at once.
 * - The wrapper changes to CWD (`cd -P`: PWD is the physical path, as for a process started
 *   there; OLDPWD is as the launcher found it).
 * - `set -m` makes the background job a process group of its own whose signals are not
 *   ignored (non-job-control shells start async commands with SIGINT/SIGQUIT ignored).
 *   Job control is switched off again right after, so `wait` returns only on termination
 *   (with it on, `wait` also returns when the box is SIGSTOPped: a paused box).
 * - The job is a subshell that waits for `go` on the gate (the booting process reads the
 *   job's start time first, so the recorded identity is never missed, however fast the
 *   command dies), then `exec`s the command: the recorded pid is the command's own. If the
 *   booting process dies first (or closes the gate), the gate reads end-of-file: the job
 *   SIGKILLs its wrapper and exits 125. The box's command never ran, so nothing may write an
 *   exit code for it: the box's `exit_code` is its last real run's (or a newer incarnation's),
 *   and a wrapper that could only write 125 over it is gone (SIGKILL: no trap runs).
 * - Before anyone learns the job's pid, the wrapper silences its own stderr (bash's "Killed"
 *   job notices must not reach the console log) and ignores HUP/INT/QUIT/TERM (only the box
 *   receives the stop signal) and PIPE (the booting process may be gone).
 * - The exit code (128+N for signal N) is written to EXIT_FILE in one write of a few bytes
 *   ending in a newline (a reader sees no file, an empty one or the whole line: see
 *   `parseExitCodeFile`), and the wrapper exits with it. The wrapper sets umask 077 once the
 *   job is forked (the box keeps the booting process's umask): the file is the user's alone.
 * - BASH_ENV in the box env would make the launcher source it: it travels under another
 *   name and is restored for the command. The launcher's own variables are a3s_-prefixed.
 * - `bash -c LAUNCHER a3s-box-wrapper spare` is a launcher started ahead of need (a process
 *   that boots again and again, the monitor, keeps one ready): it reads one box as
 *   NUL-terminated fields `EXIT_FILE LOG CWD ARGC CMD...` from its gate (fd 3), opens the log
 *   itself, and carries on as the launcher of that one box. Closed unused, it exits.
 */
export const WRAPPER_SCRIPT = [
  "if [ \"$1\" = spare ]; then",
  "  IFS= read -r -d '' a3s_exit_file <&3 || exit 0",
  "  IFS= read -r -d '' a3s_log <&3 || exit 0",
  "  IFS= read -r -d '' a3s_cwd <&3 || exit 0",
  "  IFS= read -r -d '' a3s_argc <&3 || exit 0",
  "  a3s_cmd=()",
  "  for ((a3s_i = 0; a3s_i < a3s_argc; a3s_i++)); do IFS= read -r -d '' a3s_arg <&3 || exit 0; a3s_cmd+=(\"$a3s_arg\"); done",
  "  exec 4>>\"$a3s_log\" || exit 126",
  "  set -- 1 3 4 \"$a3s_exit_file\" \"$a3s_cwd\" \"$a3s_argc\" \"${a3s_cmd[@]}\"",
  "fi",
  "a3s_n=$1",
  "shift",
  "a3s_top=$((3 + 2 * a3s_n))",
  "a3s_close=",
  "for ((a3s_f = 3; a3s_f < a3s_top; a3s_f++)); do a3s_close+=\" $a3s_f>&-\"; done",
  "a3s_had_old=${OLDPWD+x}",
  "a3s_old=${OLDPWD-}",
  "a3s_wrap() {",
  "  eval \"exec $a3s_top<&$1 1>&$2 2>&1 0</dev/null $a3s_close\"",
  "  a3s_exit_file=$3",
  "  cd -P -- \"$4\" || exit 126",
  "  if [ -n \"$a3s_had_old\" ]; then OLDPWD=$a3s_old; else unset OLDPWD; fi",
  "  shift 5",
  "  a3s_self=$BASHPID",
  "  set -m",
  "  (",
  "    IFS= read -r a3s_go <&\"$a3s_top\" || a3s_go=",
  "    eval \"exec $a3s_top<&-\"",
  "    if [ \"$a3s_go\" != go ]; then kill -KILL \"$a3s_self\" 2>/dev/null; exit 125; fi",
  "    if [ -n \"${A3S_BOX_BASH_ENV+x}\" ]; then export BASH_ENV=\"$A3S_BOX_BASH_ENV\"; unset A3S_BOX_BASH_ENV; fi",
  "    exec \"$@\"",
  "  ) &",
  "  a3s_child=$!",
  "  set +m",
  "  umask 077",
  "  exec 2>/dev/null",
  "  trap '' HUP INT QUIT TERM PIPE",
  "  printf '%s\\n' \"$a3s_child\" >&\"$a3s_top\"",
  "  wait \"$a3s_child\"",
  "  a3s_code=$?",
  "  printf '%s\\n' \"$a3s_code\" >\"$a3s_exit_file\"",
  "  printf 'exit %s\\n' \"$a3s_code\" >&\"$a3s_top\"",
  "  exit \"$a3s_code\"",
  "}",
  "while [ \"$#\" -gt 0 ]; do",
  "  a3s_argc=$((5 + $5))",
  "  if [ \"$#\" -le \"$a3s_argc\" ]; then a3s_wrap \"${@:1:a3s_argc}\"; fi",
  "  ( a3s_wrap \"${@:1:a3s_argc}\" ) &",
  "  shift \"$a3s_argc\"",
  "done"
].join("\n")


const bashPath = (): string => (existsSync("/bin/bash") ? "/bin/bash" : "bash")

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const isErrno = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === code

// ---------------------------------------------------------------------------
// Boot

// The checks and file operations of a boot (and the exit code read of a reconcile) are
// synchronous node:fs calls: a boot is on the path of every restart, and as asynchronous calls
// they were a dozen thread-pool round trips, each waiting for the event loop to be scheduled
// again on a busy machine. They are stats and small files: microseconds each.

/** Where the executable `name` would be found, as execvp would look for it. */
const resolveExecutable = (name: string, cwd: string, pathVar: string): string | undefined => {
  const candidates = name.includes("/")
    ? [path.resolve(cwd, name)]
    : pathVar.split(":").map((dir) => path.resolve(cwd, dir === "" ? "." : dir, name))
  for (const candidate of candidates) {
    try {
      // Most PATH entries do not have it: no exception (and its stack trace) for those.
      if (statSync(candidate, { throwIfNoEntry: false })?.isFile() !== true) continue
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

// A box's files are its user's alone, whatever the home's mode and the umask: its output may
// hold the secrets it was given (`-e API_KEY=...`). Directories a boot creates are 0700, the
// console log 0600 (the wrapper writes `exit_code` under umask 077).

const ownUid = process.getuid?.()

/** Ours, and readable or writable by the group or others. */
const isShared = (info: { readonly mode: number; readonly uid: number }): boolean =>
  (info.mode & 0o077) !== 0 && (ownUid === undefined || info.uid === ownUid)

/**
 * The box's directories exist, or the problem creating them; synchronous when they already exist
 * (a restart). A box dir an older version left shared is made private: only one named after the
 * box (its id), never a shared directory a hand-written record might name (`/tmp`).
 */
const ensureBoxDirectories = (box: BoxRecord): Effect.Effect<string | undefined> => {
  const missing: Array<string> = []
  for (const dir of [box.box_dir, path.dirname(box.console_log)]) {
    const info = statSync(dir, { throwIfNoEntry: false })
    if (info?.isDirectory() !== true) missing.push(dir)
    else if (dir === box.box_dir && path.basename(dir) === box.id && isShared(info)) {
      try {
        chmodSync(dir, PRIVATE_DIR_MODE)
      } catch {
        // best effort: the boot does not depend on it
      }
    }
  }
  if (missing.length === 0) return Effect.succeed(undefined)
  return Effect.promise(async () => {
    try {
      for (const dir of missing) await makeDirectories(dir, PRIVATE_DIR_MODE)
      return undefined
    } catch (error) {
      return `cannot create its directories (${errorText(error)})`
    }
  })
}

/** Everything else that can be checked before spawning (synchronous: stats and an unlink); returns the problem, if any. */
const checkBoot = (box: BoxRecord, env: Record<string, string>, cwd: string): string | undefined => {
  const cwdStat = statSync(cwd, { throwIfNoEntry: false })
  if (cwdStat === undefined) return `its working directory ${cwd} does not exist: create it or fix the box's workdir`
  if (!cwdStat.isDirectory()) return `its working directory ${cwd} is not a directory`
  const exe = box.cmd[0]!
  if (resolveExecutable(exe, cwd, env["PATH"] ?? "") === undefined) {
    return exe.includes("/")
      ? `${exe} is not an executable file`
      : `executable ${exe} not found in PATH (${env["PATH"] ?? ""}): install it or use an absolute path`
  }
  try {
    unlinkSync(exitCodePath(box))
  } catch (error) {
    if (!isErrno(error, "ENOENT")) {
      return `cannot clear the stale exit code file ${exitCodePath(box)} (${errorText(error)})`
    }
  }
  return undefined
}

/** Opens the console log for appending: created 0600; one left shared (by an older version) made private. */
const openConsoleLog = (file: string): number => {
  const fd = openSync(file, "a", PRIVATE_FILE_MODE)
  try {
    const info = fstatSync(fd)
    if (info.isFile() && isShared(info)) fchmodSync(fd, PRIVATE_FILE_MODE)
  } catch {
    // best effort: the boot does not depend on it
  }
  return fd
}

/** /proc/PID/stat now, synchronously; undefined where there is no /proc (then `ProcessInfo.readProcessInfo`). */
const procInfoNow = (pid: number): Option.Option<ProcessInfo.ProcessInfo> | undefined => {
  if (process.platform !== "linux") return undefined
  try {
    return ProcessInfo.parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1"))
  } catch {
    return Option.none()
  }
}

/** Signals `pid` (or the group it leads, with `group`), ignoring a process already gone. Never pid 0 or 1. */
const killQuietly = (pid: number | undefined, signal: NodeJS.Signals, group = false): void => {
  if (pid === undefined || pid <= 1) return
  try {
    process.kill(group ? -pid : pid, signal)
  } catch {
    // already gone
  }
}

const closeQuietly = (fd: number): void => {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

/** How long after a lone launch its replacement spare is started. */
const SPARE_DELAY_MS = 50

/** How long a boot waits for its wrapper to report the command's pid. */
const BOOT_DEADLINE_MS = 10_000

/** What the wrapper of one box reported over its gate, or why it could not. */
type Report =
  | { readonly _tag: "Pid"; readonly pid: number; readonly gate: Socket }
  | { readonly _tag: "Failed"; readonly reason: string }

/** One box waiting for its wrapper, in the launch batch of this moment. */
interface LaunchRequest {
  readonly box: BoxRecord
  readonly cwd: string
  readonly logFd: number
  /** Completed when the wrapper writes `exit CODE` (the box's exit code) on the gate. */
  readonly exited: Deferred.Deferred<number>
  readonly report: (report: Report) => void
  /** Set when the boot was interrupted before the report: a late pid is dropped at once. */
  cancelled: boolean
  /** Set once its launcher is spawned (its log descriptor is no longer needed). */
  launched: boolean
}

/**
 * Gathers the boots of one moment (every boot that reaches its spawn before the event loop
 * turns) and starts them with one launcher per distinct environment. A restart storm's boots
 * are all started by one process; a lone boot is just as before (the launcher is its wrapper).
 */
const makeLauncher = () => {
  const batches = new Map<string, { readonly env: Record<string, string>; readonly requests: Array<LaunchRequest> }>()
  let scheduled = false

  const flush = () => {
    scheduled = false
    const groups = [...batches.entries()]
    batches.clear()
    for (const [key, { env, requests }] of groups) {
      for (const r of requests) r.launched = true
      if (requests.length === 0) continue
      launches++
      if (!(requests.length === 1 && useSpare(key, env, requests[0]!))) launch(env, requests)
      if (launches >= 2 && requests.length === 1) wantSpare(key, env)
    }
  }

  /**
   * Listens on `r`'s gate: its pid report, then its `exit CODE`. `ended` is called if the gate
   * closes before the report.
   */
  const attach = (r: LaunchRequest, gate: Socket, settle: (report: Report) => void, ended: () => void) => {
    // Writing to a wrapper that died raises EPIPE: handled where it matters.
    gate.on("error", () => {})
    let buffer = ""
    let reported = false
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("latin1")
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (!reported) {
          reported = true
          const pid = Number(line)
          if (!Number.isSafeInteger(pid) || pid <= 1) {
            gate.destroy()
            settle({ _tag: "Failed", reason: `the box wrapper reported a bad pid ${JSON.stringify(line)}` })
            return
          }
          if (r.cancelled) {
            gate.destroy()
            return
          }
          settle({ _tag: "Pid", pid, gate })
        } else if (line.startsWith("exit ")) {
          const code = Number(line.slice(5))
          if (Number.isSafeInteger(code)) Deferred.unsafeDone(r.exited, Exit.succeed(code))
          gate.destroy()
          return
        }
      }
    }
    gate.on("data", onData)
    gate.once("close", () => {
      if (!reported) ended()
    })
  }

  const launch = (env: Record<string, string>, requests: ReadonlyArray<LaunchRequest>) => {
    const n = requests.length
    const args: Array<string> = [String(n)]
    for (const [i, r] of requests.entries()) {
      args.push(String(3 + i), String(3 + n + i), exitCodePath(r.box), r.cwd, String(r.box.cmd.length), ...r.box.cmd)
    }
    const bash = bashPath()
    let launcher: ChildProcess
    try {
      launcher = spawn(bash, ["--norc", "--noprofile", "-c", WRAPPER_SCRIPT, WRAPPER_NAME, ...args], {
        env,
        detached: true,
        stdio: ["ignore", "ignore", "ignore", ...requests.map(() => "pipe" as const), ...requests.map((r) => r.logFd)]
      })
    } catch (error) {
      for (const r of requests) r.report({ _tag: "Failed", reason: `cannot run the box wrapper ${bash} (${errorText(error)})` })
      return
    } finally {
      // The launcher has its own copies of the console logs now.
      for (const r of requests) closeQuietly(r.logFd)
    }
    const pending = new Set(requests)
    const settle = (r: LaunchRequest) => (report: Report) => {
      if (!pending.delete(r)) return
      r.report(report)
    }
    // The last box's wrapper is the launcher itself: it exits with the box's exit code. One
    // killed by a signal says nothing about the box, which may live on.
    launcher.on("error", (error) => {
      for (const r of [...pending]) settle(r)({ _tag: "Failed", reason: `cannot run the box wrapper ${bash} (${error.message})` })
    })
    launcher.unref()
    for (const [i, r] of requests.entries()) {
      attach(r, launcher.stdio[3 + i] as Socket, settle(r), () =>
        settle(r)({ _tag: "Failed", reason: "the box wrapper ended before starting the command" }))
    }
  }

  // A process that launches again and again (the monitor) keeps one launcher started ahead
  // of need, for the environment of its latest lone boot: a lone restart (a crash) then skips
  // a spawn from this large process and a bash start-up. One that boots once (`run -d`) never
  // starts a spare. A spare is never relied upon: if it is gone when used, the box is
  // launched as usual.
  interface Spare {
    readonly key: string
    readonly gate: Socket
    dead: boolean
  }
  let spare: Spare | undefined
  let spareTimer: NodeJS.Timeout | undefined
  let launches = 0

  const dropSpare = () => {
    if (spare === undefined) return
    spare.dead = true
    spare.gate.destroy()
    spare = undefined
  }

  const startSpare = (key: string, env: Record<string, string>) => {
    spareTimer = undefined
    if (spare !== undefined && !spare.dead && spare.key === key) return
    dropSpare()
    let proc: ChildProcess
    try {
      proc = spawn(bashPath(), ["--norc", "--noprofile", "-c", WRAPPER_SCRIPT, WRAPPER_NAME, "spare"], {
        env,
        detached: true,
        stdio: ["ignore", "ignore", "ignore", "pipe"]
      })
    } catch {
      return
    }
    const gate = proc.stdio[3] as Socket
    const s: Spare = { key, gate, dead: false }
    proc.on("error", () => {
      s.dead = true
    })
    proc.unref()
    gate.on("error", () => {})
    gate.unref()
    gate.once("close", () => {
      s.dead = true
      if (spare === s) spare = undefined
    })
    spare = s
  }

  /** Starts a spare for `key` a moment from now (off the path of the boot that just launched). */
  const wantSpare = (key: string, env: Record<string, string>) => {
    if (spareTimer !== undefined) clearTimeout(spareTimer)
    spareTimer = setTimeout(() => startSpare(key, env), SPARE_DELAY_MS)
    spareTimer.unref()
  }

  /** Hands `r` to the spare; false if there is none for `key`. */
  const useSpare = (key: string, env: Record<string, string>, r: LaunchRequest): boolean => {
    const s = spare
    if (s === undefined || s.dead || s.key !== key) return false
    spare = undefined
    const fields = [exitCodePath(r.box), r.box.console_log, r.cwd, String(r.box.cmd.length), ...r.box.cmd]
    s.gate.ref()
    s.gate.write(fields.map((f) => `${f}\0`).join(""))
    let done = false
    attach(r, s.gate, (report) => {
      if (done) return
      done = true
      closeQuietly(r.logFd)
      r.report(report)
    }, () => {
      // The spare was gone: launched as usual instead.
      if (done) return
      done = true
      launch(env, [r])
    })
    return true
  }

  /**
   * Starts `box`'s wrapper with the next batch (taking over `logFd`); `report` gets its job's
   * pid (parked at the gate) or the failure, at most once. Returns the cancellation: a request
   * not launched yet leaves the batch; a launched one has its gate closed as soon as it
   * reports, so the job never runs the command. A request not answered within
   * BOOT_DEADLINE_MS fails (and is cancelled).
   */
  const request = (
    box: BoxRecord,
    env: Record<string, string>,
    cwd: string,
    logFd: number,
    exited: Deferred.Deferred<number>,
    report: (report: Report) => void
  ): () => void => {
    const wrapperEnv: Record<string, string> = { ...env }
    if (wrapperEnv["BASH_ENV"] !== undefined) {
      wrapperEnv["A3S_BOX_BASH_ENV"] = wrapperEnv["BASH_ENV"]
      delete wrapperEnv["BASH_ENV"]
    }
    const key = JSON.stringify(Object.entries(wrapperEnv))
    let answered = false
    const cancel = () => {
      clearTimeout(timer)
      if (r.cancelled) return
      r.cancelled = true
      if (r.launched) return
      const requests = batches.get(key)?.requests
      const index = requests?.indexOf(r) ?? -1
      if (index >= 0) requests!.splice(index, 1)
      closeQuietly(logFd)
    }
    const r: LaunchRequest = {
      box,
      cwd,
      logFd,
      exited,
      cancelled: false,
      launched: false,
      report: (result) => {
        if (r.cancelled || answered) {
          if (result._tag === "Pid") result.gate.destroy()
          return
        }
        answered = true
        clearTimeout(timer)
        report(result)
      }
    }
    const timer = setTimeout(() => {
      if (answered) return
      r.report({ _tag: "Failed", reason: `the box wrapper did not report the command's pid within ${BOOT_DEADLINE_MS / 1000} s` })
      cancel()
    }, BOOT_DEADLINE_MS)
    timer.unref()
    const batch = batches.get(key)
    if (batch === undefined) batches.set(key, { env: wrapperEnv, requests: [r] })
    else batch.requests.push(r)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
    return cancel
  }

  return { request }
}

// ---------------------------------------------------------------------------
// Health probes

const unhealthy = (reason: string): ProbeResult => ({ _tag: "Unhealthy", reason })
const healthy: ProbeResult = { _tag: "Healthy" }

/** The last bytes a probe printed, kept for the failure reason. Larger output is discarded as it arrives. */
const PROBE_OUTPUT_TAIL = 512

const outputSuffix = (tail: string): string => {
  const lines = tail.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const last = lines.at(-1)
  if (last === undefined) return ""
  return `: ${last.length > 200 ? `…${last.slice(-200)}` : last}`
}

const runProbe = (
  cmd: ReadonlyArray<string>,
  env: Record<string, string>,
  cwd: string
): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    const exe = cmd[0]!
    let child: ChildProcess
    try {
      child = spawn(exe, cmd.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    } catch (error) {
      resume(Effect.succeed(unhealthy(`cannot run health check ${exe} (${errorText(error)})`)))
      return
    }
    let tail = ""
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-PROBE_OUTPUT_TAIL)
    }
    child.stdout!.on("data", collect)
    child.stderr!.on("data", collect)
    let exited = false
    let settled = false
    const settle = (result: ProbeResult) => {
      child.stdout!.destroy()
      child.stderr!.destroy()
      if (settled) return
      settled = true
      resume(Effect.succeed(result))
    }
    child.once("error", (error) => {
      exited = true
      settle(unhealthy(`cannot run health check ${exe} (${error.message})`))
    })
    child.once("exit", (code, signal) => {
      exited = true
      if (code === 0) settle(healthy)
      else if (code !== null) settle(unhealthy(`health check exited with code ${code}${outputSuffix(tail)}`))
      else settle(unhealthy(`health check was killed by ${signal}`))
    })
    // Interrupted (timeout): kill the probe's whole process group, then wait until it is reaped.
    return Effect.async<void>((done) => {
      settled = true
      if (exited) return done(Effect.void)
      // The leader is our unreaped child: its pid (and so its group id) cannot have been reused.
      killQuietly(child.pid, "SIGKILL", true)
      const timer = setTimeout(() => done(Effect.void), 5_000)
      child.once("exit", () => {
        clearTimeout(timer)
        child.stdout!.destroy()
        child.stderr!.destroy()
        done(Effect.void)
      })
    })
  })

// ---------------------------------------------------------------------------
// The service

/** `kill(pid, 0)`: about a microsecond, no identity or zombie check. EPERM means it exists. */
export const pidExists = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return isErrno(error, "EPERM")
  }
}

const POLL = Duration.millis(50)
/** How long stop waits for the wrapper to write the exit code once the box is gone. */
const EXIT_FILE_GRACE_MS = 2_000
/** How long a SIGKILLed box may take to disappear before stop gives up. */
const KILL_GRACE_MS = 10_000
/** How long the SIGKILLed rest of a dead box's group is waited for. */
const REMAINS_GRACE_MS = 2_000

interface Booted {
  readonly startTime: number | null
  readonly exit: Deferred.Deferred<number>
}

/** Polls `check` every 50 ms until it holds or `ms` have passed; true when it held. */
const pollUntil = (check: Effect.Effect<boolean>, ms: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + ms
    while (true) {
      if (yield* check) return true
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep(POLL)
    }
  })

/**
 * Builds the local-process runtime. Boxes booted by this instance are remembered (by pid)
 * until they exit, so `stop` can take their exit code straight from the wrapper.
 */
export const make: Effect.Effect<BoxRuntimeShape> = Effect.sync(() => {
  const booted = new Map<number, Booted>()
  const launcher = makeLauncher()

  const readExitCode = (box: BoxRecord): Effect.Effect<Option.Option<number>> =>
    Effect.sync(() => {
      try {
        return parseExitCodeFile(readFileSync(exitCodePath(box), "utf8"))
      } catch {
        return Option.none<number>()
      }
    })

  /** The job parked at its gate (`pid`), the wrapper above it, and the gate: the booted box, gated or released. */
  const booted_ = (
    pid: number,
    gate: Socket,
    info: Option.Option<ProcessInfo.ProcessInfo>,
    wrapper: Option.Option<ProcessInfo.ProcessInfo>,
    exit: Deferred.Deferred<number>,
    box: BoxRecord,
    options: BootOptions
  ): Effect.Effect<BootedBox, BootFailed> => {
    // Its parent is the wrapper, which `drop` kills first, if it is still the same process (the
    // job, seeing its gate closed, kills it too: neither lets it write the job's 125 as the box's
    // exit code).
    const drop = Effect.suspend(() => {
      const check = Option.isSome(wrapper) ? ProcessInfo.isAlive(wrapper.value.pid, wrapper.value.startTime) : Effect.succeed(false)
      return Effect.map(check, (alive) => {
        if (alive && Option.isSome(wrapper)) killQuietly(wrapper.value.pid, "SIGKILL")
        gate.destroy()
      })
    })
    if (Option.isNone(info) || ProcessInfo.isGoneState(info.value.state)) {
      return Effect.zipRight(drop, Effect.fail(new BootFailed({ box: box.name, reason: `its process ${pid} vanished before the command started` })))
    }
    const startTime = info.value.startTime
    booted.set(pid, { startTime, exit })
    gate.once("close", () => {
      if (booted.get(pid)?.exit === exit) booted.delete(pid)
    })
    /** Opens the gate: the job execs the command. The gate stays open for the wrapper's `exit CODE`. */
    const go = () => {
      gate.write("go\n")
      gate.unref()
    }
    const result: BootedBox = { pid, pidStartTime: startTime, exited: Deferred.await(exit) }
    if (options.gated !== true) {
      go()
      return Effect.succeed(result)
    }
    // Gated: the job waits for `go` on the gate; if this process dies first, the gate closes
    // and the job exits 125 without running the command.
    let settled = false
    const once = (f: Effect.Effect<void>) =>
      Effect.suspend(() => {
        if (settled) return Effect.void
        settled = true
        return f
      })
    return Effect.succeed({ ...result, release: once(Effect.sync(go)), abandon: once(drop) } satisfies BootedBox)
  }

  // A boot is on the path of every restart, and a restart storm boots a hundred at once: it
  // is plain code around one asynchronous wait (the wrapper's report), with its deadline on a
  // timer rather than an Effect race.
  const boot = (box: BoxRecord, options: BootOptions = {}): Effect.Effect<BootedBox, BootFailed> => {
    const fail = (reason: string) => Effect.fail(new BootFailed({ box: box.name, reason }))
    if (box.cmd.length === 0 || box.cmd[0] === "") return fail("its cmd is empty: give the box a command to run")
    return Effect.flatMap(ensureBoxDirectories(box), (problem) => {
      if (problem !== undefined) return fail(problem)
      const env = bootEnvironment(box, process.env)
      const cwd = box.workdir ?? box.box_dir
      const checked = checkBoot(box, env, cwd)
      if (checked !== undefined) return fail(checked)
      let logFd: number
      try {
        logFd = openConsoleLog(box.console_log)
      } catch (error) {
        return fail(`cannot open its console log ${box.console_log} (${errorText(error)})`)
      }
      const exit = Deferred.unsafeMake<number>(FiberId.none)
      return Effect.async<BootedBox, BootFailed>((resume) => {
        const cancel = launcher.request(box, env, cwd, logFd, exit, (report) => {
          if (report._tag === "Failed") return resume(fail(report.reason))
          // The job is parked at its gate: it is alive and cannot be reaped yet, so this read cannot miss it.
          const { gate, pid } = report
          const info = procInfoNow(pid)
          if (info !== undefined) {
            const wrapper = Option.isSome(info) ? procInfoNow(info.value.ppid) ?? Option.none() : Option.none()
            return resume(booted_(pid, gate, info, wrapper, exit, box, options))
          }
          resume(Effect.gen(function*() {
            const info = yield* ProcessInfo.readProcessInfo(pid)
            const wrapper = Option.isSome(info) ? yield* ProcessInfo.readProcessInfo(info.value.ppid) : Option.none()
            return yield* booted_(pid, gate, info, wrapper, exit, box, options)
          }))
        })
        return Effect.sync(cancel)
      })
    })
  }

  /**
   * SPEC §12: what is left of the group of each box (found dead) is SIGKILLed, if the group is
   * provably that box's (`BoxProcess.decideRemains`), and waited for (a port it held is free
   * once it is gone) for up to REMAINS_GRACE_MS.
   */
  const killRemains = (boxes: ReadonlyArray<BoxRecord>): Effect.Effect<void> =>
    Effect.forEach(boxes, (box) =>
      Effect.gen(function*() {
        const remains = BoxProcess.decideRemains(box, yield* BoxProcess.readGroupFacts(box))
        if (remains._tag === "None") return
        if (remains._tag === "Refused") {
          return yield* Effect.logWarning(`box ${box.name}: not killing what is left of its process group: ${remains.reason}`)
        }
        killQuietly(remains.pgid, "SIGKILL", true)
        yield* Effect.logInfo(
          `box ${box.name}: killed the ${remains.pids.length} process${remains.pids.length === 1 ? "" : "es"} left in its process group (${remains.pids.join(", ")})`
        )
        yield* pollUntil(Effect.map(BoxProcess.readMembers(remains.pgid), (left) => left.length === 0), REMAINS_GRACE_MS)
      }).pipe(Effect.annotateLogs({ box: box.name, box_id: box.short_id })), { discard: true })

  const stop = Effect.fn("LocalBoxRuntime.stop")(function*(box: BoxRecord) {
    const pid = box.pid
    if (pid === null || !Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return yield* readExitCode(box)
    // The one rule before any signal (a stranger at a reused pid is never signalled).
    const decided = BoxProcess.decideTarget(box, yield* BoxProcess.readTargetFacts(box))
    if (decided._tag === "Refused") return yield* new SignalRefused({ box: box.name, pid, reason: decided.reason })
    if (decided._tag === "Gone") {
      // Its group may have outlived it.
      yield* killRemains([box])
      return yield* readExitCode(box)
    }
    const target = decided.process
    // Pin the identity seen now: even a record without a start time never gets a reused pid signalled later.
    const identity = box.pid_start_time ?? target.startTime
    const pinned: BoxRecord = { ...box, pid_start_time: identity }
    const stillThere = ProcessInfo.isAlive(pid, identity)
    const leadsGroup = target.pgid === pid
    // The wrapper, for boxes we boot: it writes the exit code once the box is gone.
    const parent = target.ppid > 1 ? yield* ProcessInfo.readProcessInfo(target.ppid) : Option.none()

    const configured = stopSignal(box)
    const signal = yield* Option.match(Signal.parseSignal(configured), {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.as(
          Effect.logWarning(`box ${box.name}: unknown stop_signal ${JSON.stringify(configured)}, using SIGTERM`),
          Signal.SIGTERM
        )
    })

    /** Signals the box's group (or the pid alone if it leads none) if it is still the same process. */
    const send = (sig: Signal.Signal) =>
      Effect.gen(function*() {
        const now = yield* ProcessInfo.readProcessInfo(pid)
        if (!ProcessInfo.isAliveGiven(now, identity) || Option.isNone(now)) return false
        try {
          process.kill(now.value.pgid === pid ? -pid : pid, sig.name)
          if (sig.number !== Signal.SIGKILL.number && ProcessInfo.isStoppedState(now.value.state)) {
            process.kill(now.value.pgid === pid ? -pid : pid, Signal.SIGCONT.name)
          }
          return true
        } catch (error) {
          if (isErrno(error, "ESRCH")) return false
          return yield* Effect.fail(
            new StopFailed({ box: box.name, reason: `cannot send ${sig.name} to process ${pid} (${errorText(error)})` })
          )
        }
      })
    /** What is left of the box's group once its leader is gone (the group got the stop signal too). */
    const remains = Effect.map(BoxProcess.readGroupFacts(pinned), (facts) => BoxProcess.decideRemains(pinned, facts))
    // The stop is over when the box's process and the rest of its group are gone.
    const gone = Effect.gen(function*() {
      if (yield* stillThere) return false
      return !leadsGroup || (yield* remains)._tag !== "Kill"
    })

    yield* send(signal)
    const timeoutMs = Math.max(0, stopTimeoutSecs(box)) * 1000
    let killed = false
    if (!(yield* pollUntil(gone, timeoutMs))) {
      killed = yield* send(Signal.SIGKILL)
      if (leadsGroup) {
        const left = yield* remains
        if (left._tag === "Kill") killQuietly(left.pgid, "SIGKILL", true)
      }
      if (!(yield* pollUntil(gone, KILL_GRACE_MS))) {
        return yield* Effect.fail(
          new StopFailed({ box: box.name, reason: `process ${pid} (or its group) is still there ${KILL_GRACE_MS / 1000} s after SIGKILL` })
        )
      }
    }

    // The exit code: from the wrapper we started, else from the exit code file once the wrapper wrote it.
    const ours = booted.get(pid)
    if (ours !== undefined && ours.startTime === identity) {
      const code = yield* Deferred.await(ours.exit).pipe(Effect.timeout(Duration.millis(EXIT_FILE_GRACE_MS)), Effect.option)
      if (Option.isSome(code)) return code
    }
    const parentAlive = Option.match(parent, {
      onNone: () => Effect.succeed(false),
      onSome: (p) => ProcessInfo.isAlive(p.pid, p.startTime)
    })
    let code = Option.none<number>()
    yield* pollUntil(
      Effect.gen(function*() {
        code = yield* readExitCode(box)
        return Option.isSome(code) || !(yield* parentAlive)
      }),
      EXIT_FILE_GRACE_MS
    )
    if (Option.isNone(code)) code = yield* readExitCode(box)
    if (Option.isNone(code) && killed) return Option.some(Signal.exitCodeOfSignal(Signal.SIGKILL))
    return code
  })

  const probe = (box: BoxRecord): Effect.Effect<ProbeResult> =>
    Effect.gen(function*() {
      const check = box.health_check
      if (check === null) return unhealthy("the box has no health_check")
      if (check.cmd.length === 0 || check.cmd[0] === "") return unhealthy("its health_check.cmd is empty")
      const cwd = box.workdir ?? box.box_dir
      const cwdOk = yield* Effect.promise(() => fsp.stat(cwd).then((s) => s.isDirectory(), () => false))
      if (!cwdOk) return unhealthy(`its working directory ${cwd} does not exist`)
      const seconds = Number.isFinite(check.timeout_secs) ? Math.max(1, check.timeout_secs) : 1
      return yield* runProbe(check.cmd, bootEnvironment(box, process.env), cwd).pipe(
        Effect.timeoutTo({
          duration: Duration.seconds(seconds),
          onSuccess: (result): ProbeResult => result,
          onTimeout: (): ProbeResult => unhealthy(`health check timed out after ${seconds}s`)
        })
      )
    }).pipe(Effect.withSpan("LocalBoxRuntime.probe"))

  // Real processes live in real time: stop timeouts, probe timeouts and boot deadlines use
  // the wall clock even when the caller runs under TestClock.
  const wallClock = Clock.make()
  return BoxRuntime.of({
    boot,
    stop: (box) => Effect.withClock(stop(box), wallClock),
    killRemains: (boxes) => Effect.withClock(killRemains(boxes), wallClock),
    liveness: (targets, verify) =>
      verify ? ProcessInfo.areAlive(targets) : Effect.sync(() => targets.map((target) => pidExists(target.pid))),
    exitCode: readExitCode,
    probe: (box) => Effect.withClock(probe(box), wallClock)
  })
})

/** The box runtime backed by real processes on this host. */
export const layer: Layer.Layer<BoxRuntime> = Layer.effect(BoxRuntime, make)
