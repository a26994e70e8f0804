import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { errorText } from "./ErrorText.js"

/**
 * A short-lived command run in a process group of its own (health checks, event hooks): it is
 * spawned detached (it leads its group), given its stdin, its output's tail is kept, and when
 * the run is interrupted (a timeout, the monitor's shutdown) its whole group is killed, so a
 * grandchild it left behind goes too. The interruption waits until the leader is reaped.
 */

/** `: LAST LINE` of a run's output tail (its last 200 characters), or nothing when it printed nothing. */
export const outputSuffix = (tail: string): string => {
  const lines = tail.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const last = lines.at(-1)
  if (last === undefined) return ""
  return `: ${last.length > 200 ? `…${last.slice(-200)}` : last}`
}

/** How a group run ended. */
export type GroupExit = Data.TaggedEnum<{
  Exited: { readonly code: number }
  Signalled: { readonly signal: string }
  /** The command could not be started (no such program, no such directory, ...). */
  SpawnFailed: { readonly reason: string }
}>
export const GroupExit = Data.taggedEnum<GroupExit>()

export interface GroupRunResult {
  readonly exit: GroupExit
  /** The last `outputTail` characters of its stdout and stderr, interleaved as they came. */
  readonly tail: string
}

export interface GroupRunOptions {
  readonly cmd: ReadonlyArray<string>
  readonly env: Record<string, string | undefined>
  readonly cwd?: string
  /** Written to its stdin, which is then closed; none: stdin is /dev/null. */
  readonly stdin?: string
  /** How much of the output to keep; larger output is discarded as it arrives. */
  readonly outputTail: number
  /**
   * On interruption: none, SIGKILL at once; some, SIGTERM first and SIGKILL this many ms later
   * if it is still there (a hook may want to clean up; a health check does not get to).
   */
  readonly termGraceMillis?: number
}

/** How long an interruption waits for the killed leader to be reaped before giving up on it. */
const REAP_WAIT_MILLIS = 5_000

/** Signals the group `pid` leads, ignoring one already gone. Never pid 0 or 1. */
const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined || pid <= 1) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

/** Runs `options.cmd` in its own process group; never fails (a spawn error is `SpawnFailed`). */
export const runInGroup = (options: GroupRunOptions): Effect.Effect<GroupRunResult> =>
  Effect.async<GroupRunResult>((resume) => {
    const [exe, ...args] = options.cmd
    let child: ChildProcess
    try {
      child = spawn(exe!, args, {
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        env: options.env,
        detached: true,
        stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
      })
    } catch (error) {
      resume(Effect.succeed({ exit: GroupExit.SpawnFailed({ reason: errorText(error) }), tail: "" }))
      return
    }
    let tail = ""
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-options.outputTail)
    }
    child.stdout!.on("data", collect)
    child.stderr!.on("data", collect)
    if (child.stdin !== null) {
      // A command that does not read its stdin (or exits first) closes the pipe: EPIPE, not our failure.
      child.stdin.on("error", () => {})
      child.stdin.end(options.stdin)
    }
    let exited = false
    let settled = false
    const release = () => {
      child.stdin?.destroy()
      child.stdout!.destroy()
      child.stderr!.destroy()
    }
    const settle = (exit: GroupExit) => {
      release()
      if (settled) return
      settled = true
      resume(Effect.succeed({ exit, tail }))
    }
    child.once("error", (error) => {
      exited = true
      settle(GroupExit.SpawnFailed({ reason: error.message }))
    })
    child.once("exit", (code, signal) => {
      exited = true
      settle(code !== null ? GroupExit.Exited({ code }) : GroupExit.Signalled({ signal: signal ?? "unknown" }))
    })
    // Interrupted: kill the whole process group, then wait until the leader is reaped.
    return Effect.async<void>((done) => {
      settled = true
      if (exited) return done(Effect.void)
      // The leader is our unreaped child: its pid (and so its group id) cannot have been reused.
      let escalate: ReturnType<typeof setTimeout> | undefined
      if (options.termGraceMillis === undefined) {
        killGroup(child.pid, "SIGKILL")
      } else {
        killGroup(child.pid, "SIGTERM")
        escalate = setTimeout(() => killGroup(child.pid, "SIGKILL"), options.termGraceMillis)
      }
      const giveUp = setTimeout(() => {
        clearTimeout(escalate)
        done(Effect.void)
      }, REAP_WAIT_MILLIS)
      child.once("exit", () => {
        // Reaped: its pid may be reused from now on, so no later SIGKILL to its group.
        clearTimeout(escalate)
        clearTimeout(giveUp)
        release()
        done(Effect.void)
      })
    })
  })
