/**
 * The end of a box's run, awaited without polling, for a box whose parent is its wrapper (a box
 * from `run -d` or `start`, or one booted by an earlier monitor): the wrapper writes the run's
 * exit code to `<box_dir>/exit_code` the moment its `wait` returns (wrapper.sh), so one watch of
 * the box dir (platform/FileWatch.ts, one per box) tells the monitor as fast as a child's exit would.
 *
 * The watch is armed before the checks, so a run that ends during them is seen by one or the
 * other: an exit code already there, or the event. The box's parent must be proved its wrapper
 * (Linux: its command line, as for a signal, or its stdout being the box's console log for a
 * spare launcher, whose command line names no box): a process started by another tool or a
 * wrapper already gone writes nothing, and must be polled.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { existsSync } from "node:fs"
import * as path from "node:path"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import * as FileWatch from "../../platform/FileWatch.js"
import * as ProcessInfo from "../../platform/ProcessInfo.js"
import { argvOf, exitCodePath, isWrapperOf, stdoutOf, WRAPPER_NAME } from "../BoxProcess.js"
import { ExitWatch } from "../BoxRuntime.js"

const EXIT_FILE_NAME = "exit_code"

/** Why the parent of `box.pid` is not known to be the box's wrapper; undefined when it is. */
const notWrapped = (box: BoxRecord, pid: number): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const info = yield* ProcessInfo.readProcessInfo(pid)
    if (Option.isNone(info) || ProcessInfo.isGoneState(info.value.state)) return `process ${pid} has exited`
    if (box.pid_start_time !== null && info.value.startTime !== box.pid_start_time) return `pid ${pid} is another process now`
    const argv = info.value.ppid > 1 ? argvOf(info.value.ppid) : []
    if (isWrapperOf(argv, box)) return undefined
    const log = stdoutOf(info.value.ppid)
    if (argv.includes(WRAPPER_NAME) && log !== null && path.resolve(log) === path.resolve(box.console_log)) return undefined
    return `its parent (${info.value.ppid}) is not the box's wrapper`
  })

export const watchExit = (box: BoxRecord): Effect.Effect<ExitWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pid = box.pid
    if (pid === null) return ExitWatch.Unwatchable({ reason: "no pid is recorded" })
    const exitFile = exitCodePath(box)
    // A boot clearing a stale exit code also makes an event: only a file that is there counts.
    const watched = yield* FileWatch.firstChange(box.box_dir, (name) => name === EXIT_FILE_NAME && existsSync(exitFile))
    if (Either.isLeft(watched)) return ExitWatch.Unwatchable({ reason: `cannot watch ${box.box_dir}: ${watched.left}` })
    if (existsSync(exitFile)) return ExitWatch.Unwatchable({ reason: "its run has already ended" })
    const why = yield* notWrapped(box, pid)
    if (why !== undefined) return ExitWatch.Unwatchable({ reason: why })
    return ExitWatch.Watching({ ended: watched.right })
  })
