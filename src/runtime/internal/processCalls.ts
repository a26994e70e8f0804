import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { closeSync, readFileSync } from "node:fs"
import * as ProcessInfo from "../ProcessInfo.js"

/** The small OS calls the local runtime makes around its processes, each ignoring what is already gone. */

/** Signals `pid` (or the group it leads, with `group`), ignoring a process already gone. Never pid 0 or 1. */
export const killQuietly = (pid: number | undefined, signal: NodeJS.Signals, group = false): void => {
  if (pid === undefined || pid <= 1) return
  try {
    process.kill(group ? -pid : pid, signal)
  } catch {
    // already gone
  }
}

/** Closes a descriptor, ignoring one already closed. */
export const closeQuietly = (fd: number): void => {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

/** /proc/PID/stat now, synchronously; undefined where there is no /proc (then `ProcessInfo.readProcessInfo`). */
export const procInfoNow = (pid: number): Option.Option<ProcessInfo.ProcessInfo> | undefined => {
  if (process.platform !== "linux") return undefined
  try {
    return ProcessInfo.parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1"))
  } catch {
    return Option.none()
  }
}

/** What is known of `pid` now: from /proc synchronously where there is one, else from `ps`. */
export const readProcessInfoNow = (pid: number): Effect.Effect<Option.Option<ProcessInfo.ProcessInfo>> => {
  const now = procInfoNow(pid)
  return now === undefined ? ProcessInfo.readProcessInfo(pid) : Effect.succeed(now)
}

const POLL = Duration.millis(50)

/** Polls `check` every 50 ms until it holds or `ms` have passed; true when it held. */
export const pollUntil = (check: Effect.Effect<boolean>, ms: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + ms
    while (true) {
      if (yield* check) return true
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep(POLL)
    }
  })
