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
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync, rmSync, statSync } from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { type BoxRecord, stopSignal, stopTimeoutSecs } from "../domain/BoxRecord.js"
import { makeDirectories } from "../platform/Directories.js"
import {
  BootFailed,
  type BootedBox,
  type BootOptions,
  BoxRuntime,
  type BoxRuntimeShape,
  type ProbeResult,
  StopFailed
} from "./BoxRuntime.js"
import * as ProcessInfo from "./ProcessInfo.js"
import * as ProcessIdentity from "./ProcessIdentity.js"
import * as Signal from "./Signal.js"

// ---------------------------------------------------------------------------
// Pure pieces

/** `<box_dir>/exit_code`: the box wrapper writes the exit code of each run there. */
export const exitCodePath = (box: Pick<BoxRecord, "box_dir">): string => path.join(box.box_dir, "exit_code")

/** Host variables a box inherits unless its own `env` overrides them. Everything else of the host stays out. */
export const BASE_ENV_KEYS: ReadonlyArray<string> = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TZ", "TMPDIR"]

/** Used when the host has no PATH at all (a service manager's minimal environment). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/**
 * The environment a box (and its health check) runs with: a small base taken from the
 * host (PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_ALL, TZ, TMPDIR), PATH defaulted when
 * the host has none, then the box's own `env` on top. The rest of the host environment
 * (the CLI's or the monitor's) is deliberately not passed: a box restarted by the
 * monitor sees what it saw when `run` started it.
 */
export const boxEnvironment = (
  boxEnv: Readonly<Record<string, string>>,
  hostEnv: Readonly<Record<string, string | undefined>>
): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const key of BASE_ENV_KEYS) {
    const value = hostEnv[key]
    if (value !== undefined) env[key] = value
  }
  if (env["PATH"] === undefined || env["PATH"] === "") env["PATH"] = DEFAULT_PATH
  return { ...env, ...boxEnv }
}

const ExitCodeFile = Schema.compose(Schema.Trim, Schema.NumberFromString).pipe(Schema.int())
const decodeExitCodeFile = Schema.decodeUnknownOption(ExitCodeFile)

/** Parses the content of an exit_code file: one integer, surrounding whitespace allowed. */
export const parseExitCodeFile = (text: string): Option.Option<number> => decodeExitCodeFile(text)

/**
 * The box wrapper, run as `bash -c WRAPPER a3s-box-wrapper EXIT_FILE CMD...` in its own
 * session. The command is never part of a shell string: it arrives as arguments.
 * - `set -m` makes the background job a process group of its own whose signals are not
 *   ignored (non-job-control shells start async commands with SIGINT/SIGQUIT ignored).
 *   Job control is switched off again right after, so `wait` returns only on termination
 *   (with it on, `wait` also returns when the box is SIGSTOPped: a paused box).
 * - The job is a subshell that waits for `go` on the gate (the booting process reads the
 *   job's start time first, so the recorded identity is never missed, however fast the
 *   command dies), then `exec`s the command: the recorded pid is the command's own.
 * - Before anyone learns the job's pid (sent to the booting process over fd 3), the wrapper
 *   silences its own stderr (bash's "Killed" job notices must not reach the console log)
 *   and ignores HUP/INT/QUIT/TERM, so only the box receives the stop signal.
 * - The exit code (128+N for signal N) is written atomically to EXIT_FILE, and the
 *   wrapper exits with it.
 * - BASH_ENV in the box env would make the wrapper source it: it travels under another
 *   name and is restored for the command.
 */
export const WRAPPER_SCRIPT = [
  "set -m",
  "exit_file=$1",
  "shift",
  "exec 4<&0 0</dev/null",
  "(",
  "  exec 3>&-",
  "  IFS= read -r go <&4 || go=",
  "  exec 4<&-",
  "  [ \"$go\" = go ] || exit 125",
  "  if [ -n \"${A3S_BOX_BASH_ENV+x}\" ]; then export BASH_ENV=\"$A3S_BOX_BASH_ENV\"; unset A3S_BOX_BASH_ENV; fi",
  "  exec \"$@\"",
  ") &",
  "child=$!",
  "set +m",
  "exec 4<&- 2>/dev/null",
  "trap '' HUP INT QUIT TERM",
  "printf '%s\\n' \"$child\" >&3",
  "exec 3>&-",
  "wait \"$child\"",
  "code=$?",
  "printf '%s\\n' \"$code\" >\"$exit_file.tmp.$$\" && command mv -f \"$exit_file.tmp.$$\" \"$exit_file\"",
  "exit \"$code\""
].join("\n")

/** argv[0] of the wrapper, as `ps` shows it. */
export const WRAPPER_NAME = "a3s-box-wrapper"

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
      if (!statSync(candidate).isFile()) continue
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const isDirectory = (dir: string): boolean => statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true

/** Everything that can be checked before spawning; returns the problem, if any. */
const prepareBoot = async (box: BoxRecord, env: Record<string, string>, cwd: string): Promise<string | undefined> => {
  try {
    if (!isDirectory(box.box_dir)) await makeDirectories(box.box_dir)
    if (!isDirectory(path.dirname(box.console_log))) await makeDirectories(path.dirname(box.console_log))
  } catch (error) {
    return `cannot create its directories (${errorText(error)})`
  }
  try {
    if (!statSync(cwd).isDirectory()) return `its working directory ${cwd} is not a directory`
  } catch {
    return `its working directory ${cwd} does not exist: create it or fix the box's workdir`
  }
  const exe = box.cmd[0]!
  if (resolveExecutable(exe, cwd, env["PATH"] ?? "") === undefined) {
    return exe.includes("/")
      ? `${exe} is not an executable file`
      : `executable ${exe} not found in PATH (${env["PATH"] ?? ""}): install it or use an absolute path`
  }
  try {
    rmSync(exitCodePath(box), { force: true })
  } catch (error) {
    return `cannot clear the stale exit code file ${exitCodePath(box)} (${errorText(error)})`
  }
  return undefined
}

interface Spawned {
  readonly wrapper: ChildProcess
  readonly pid: number
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

/** Drops the wrapper and its gated job: the job reads EOF instead of `go` and never runs the command. */
const abandon = (wrapper: ChildProcess): void => {
  killQuietly(wrapper.pid, "SIGKILL")
  wrapper.stdin?.destroy()
  wrapper.stdio[3]?.destroy()
  wrapper.unref()
}

const spawnWrapper = (
  box: BoxRecord,
  env: Record<string, string>,
  cwd: string,
  logFd: number,
  exited: Deferred.Deferred<number>
): Effect.Effect<Spawned, BootFailed> =>
  Effect.async<Spawned, BootFailed>((resume) => {
    const fail = (reason: string) => Effect.fail(new BootFailed({ box: box.name, reason }))
    const wrapperEnv: Record<string, string> = { ...env }
    if (wrapperEnv["BASH_ENV"] !== undefined) {
      wrapperEnv["A3S_BOX_BASH_ENV"] = wrapperEnv["BASH_ENV"]
      delete wrapperEnv["BASH_ENV"]
    }
    const bash = bashPath()
    let wrapper: ChildProcess
    try {
      wrapper = spawn(bash, ["--norc", "--noprofile", "-c", WRAPPER_SCRIPT, WRAPPER_NAME, exitCodePath(box), ...box.cmd], {
        cwd,
        env: wrapperEnv,
        detached: true,
        stdio: ["pipe", logFd, logFd, "pipe"]
      })
    } catch (error) {
      resume(fail(`cannot run the box wrapper ${bash} (${errorText(error)})`))
      return
    }
    const pidPipe = wrapper.stdio[3]!
    // The wrapper exits with the box's exit code. One killed by a signal says nothing about
    // the box, which may live on: `exited` then stays open.
    wrapper.once("exit", (code) => {
      if (code !== null) Deferred.unsafeDone(exited, Exit.succeed(code))
    })
    // Writing to a wrapper that died raises EPIPE on these streams: handled where it matters.
    wrapper.stdin!.on("error", () => {})
    pidPipe.on("error", () => {})
    let settled = false
    let buffer = ""
    const settle = (result: Effect.Effect<Spawned, BootFailed>) => {
      if (settled) return
      settled = true
      pidPipe.off("data", onData)
      pidPipe.off("end", onEnd)
      wrapper.off("error", onError)
      wrapper.off("exit", onExit)
      resume(result)
    }
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("latin1")
      const newline = buffer.indexOf("\n")
      if (newline < 0) return
      const pid = Number(buffer.slice(0, newline))
      if (Number.isSafeInteger(pid) && pid > 1) {
        settle(Effect.succeed({ wrapper, pid }))
      } else {
        abandon(wrapper)
        settle(fail(`the box wrapper reported a bad pid ${JSON.stringify(buffer.slice(0, newline))}`))
      }
    }
    const onEnd = () => {
      abandon(wrapper)
      settle(fail("the box wrapper ended before starting the command"))
    }
    const onError = (error: Error) => {
      abandon(wrapper)
      settle(fail(`cannot run the box wrapper ${bash} (${error.message})`))
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      abandon(wrapper)
      settle(fail(`the box wrapper exited (${code ?? signal}) before starting the command`))
    }
    pidPipe.on("data", onData)
    pidPipe.on("end", onEnd)
    wrapper.on("error", onError)
    wrapper.on("exit", onExit)
    return Effect.sync(() => {
      if (settled) return
      settled = true
      abandon(wrapper)
    })
  })

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

  const readExitCode = (box: BoxRecord): Effect.Effect<Option.Option<number>> =>
    Effect.sync(() => {
      try {
        return parseExitCodeFile(readFileSync(exitCodePath(box), "utf8"))
      } catch {
        return Option.none<number>()
      }
    })

  const boot = Effect.fn("LocalBoxRuntime.boot")(function*(box: BoxRecord, options: BootOptions = {}) {
    const fail = (reason: string) => Effect.fail(new BootFailed({ box: box.name, reason }))
    if (box.cmd.length === 0 || box.cmd[0] === "") return yield* fail("its cmd is empty: give the box a command to run")
    const env = boxEnvironment(box.env, process.env)
    const cwd = box.workdir ?? box.box_dir
    const problem = yield* Effect.promise(() => prepareBoot(box, env, cwd))
    if (problem !== undefined) return yield* fail(problem)
    const logFd = yield* Effect.try({
      try: () => openSync(box.console_log, "a"),
      catch: (error) => new BootFailed({ box: box.name, reason: `cannot open its console log ${box.console_log} (${errorText(error)})` })
    })
    const exit = Deferred.unsafeMake<number>(FiberId.none)
    const { pid, wrapper } = yield* spawnWrapper(box, env, cwd, logFd, exit).pipe(
      Effect.timeoutFail({
        duration: Duration.seconds(10),
        onTimeout: () => new BootFailed({ box: box.name, reason: "the box wrapper did not report the command's pid within 10 s" })
      }),
      Effect.ensuring(Effect.sync(() => {
        try {
          closeSync(logFd)
        } catch {
          // already closed
        }
      }))
    )
    // The job is parked at its gate: it is alive and cannot be reaped yet, so this read cannot miss it.
    const info = yield* ProcessInfo.readProcessInfo(pid)
    if (Option.isNone(info) || ProcessInfo.isGoneState(info.value.state)) {
      abandon(wrapper)
      return yield* fail(`its process ${pid} vanished before the command started`)
    }
    const startTime = info.value.startTime
    booted.set(pid, { startTime, exit })
    wrapper.once("exit", () => {
      if (booted.get(pid)?.exit === exit) booted.delete(pid)
    })
    /** Opens the gate: the job execs the command. */
    const go = () => {
      wrapper.stdin!.end("go\n")
      wrapper.stdio[3]!.destroy()
      wrapper.unref()
    }
    const result: BootedBox = { pid, pidStartTime: startTime, exited: Deferred.await(exit) }
    if (options.gated !== true) {
      go()
      return result
    }
    // Gated: the job waits for `go` on the wrapper's stdin; if this process dies first, that
    // pipe closes and the job exits 125 without running the command.
    let settled = false
    const once = (f: () => void) => Effect.sync(() => {
      if (settled) return
      settled = true
      f()
    })
    return { ...result, release: once(go), abandon: once(() => abandon(wrapper)) } satisfies BootedBox
  })

  const stop = Effect.fn("LocalBoxRuntime.stop")(function*(box: BoxRecord) {
    const pid = box.pid
    if (pid === null || !Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return yield* readExitCode(box)
    const first = yield* ProcessInfo.readProcessInfo(pid)
    if (!ProcessInfo.isAliveGiven(first, box.pid_start_time) || Option.isNone(first)) return yield* readExitCode(box)
    const target = first.value
    // A process that started after the box did is not the box's (a reused pid), even when the record has no start time.
    if (ProcessIdentity.isForeign(target, box)) return yield* readExitCode(box)
    // Pin the identity seen now: even a record without a start time never gets a reused pid signalled later.
    const identity = box.pid_start_time ?? target.startTime
    const stillThere = ProcessInfo.isAlive(pid, identity)
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
    const gone = Effect.map(stillThere, (alive) => !alive)

    yield* send(signal)
    const timeoutMs = Math.max(0, stopTimeoutSecs(box)) * 1000
    let killed = false
    if (!(yield* pollUntil(gone, timeoutMs))) {
      killed = yield* send(Signal.SIGKILL)
      if (!(yield* pollUntil(gone, KILL_GRACE_MS))) {
        return yield* Effect.fail(
          new StopFailed({ box: box.name, reason: `process ${pid} is still there ${KILL_GRACE_MS / 1000} s after SIGKILL` })
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
      return yield* runProbe(check.cmd, boxEnvironment(box.env, process.env), cwd).pipe(
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
    boot: (box, options) => Effect.withClock(boot(box, options), wallClock),
    stop: (box) => Effect.withClock(stop(box), wallClock),
    isAlive: ProcessInfo.isAlive,
    areAlive: ProcessInfo.areAlive,
    pidsExist: (pids) => Effect.sync(() => pids.map(pidExists)),
    exitCode: readExitCode,
    probe: (box) => Effect.withClock(probe(box), wallClock)
  })
})

/** The box runtime backed by real processes on this host. */
export const layer: Layer.Layer<BoxRuntime> = Layer.effect(BoxRuntime, make)
