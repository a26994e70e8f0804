import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type { Socket } from "node:net"
import { bootEnvironment } from "../../domain/BoxEnvironment.js"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import { errorText } from "../../platform/ErrorText.js"
import { BootFailed, type BootedBox, type BootOptions } from "../BoxRuntime.js"
import * as ProcessInfo from "../ProcessInfo.js"
import type { BootedBoxes } from "./bootedBoxes.js"
import { checkBoot, ensureBoxDirectories, openConsoleLog } from "./boxFiles.js"
import type { BoxLauncher } from "./launcher.js"
import { killQuietly, readProcessInfoNow } from "./processCalls.js"

/**
 * `BoxRuntime.boot` of the local runtime: checks and prepares the box's files, has the launcher
 * start its wrapper, reads the identity of the job parked at its gate, then releases it (or, gated,
 * hands the caller `release`/`abandon`). A boot is on the path of every restart, and a restart
 * storm boots a hundred at once: the checks are synchronous, and the one asynchronous wait is the
 * wrapper's report (see launcher.ts).
 */
export const makeBoot = (launcher: BoxLauncher, booted: BootedBoxes) =>
(box: BoxRecord, options: BootOptions = {}): Effect.Effect<BootedBox, BootFailed> =>
  Effect.gen(function*() {
    const fail = (reason: string) => new BootFailed({ box: box.name, reason })
    if (box.cmd.length === 0 || box.cmd[0] === "") return yield* fail("its cmd is empty: give the box a command to run")
    const problem = yield* ensureBoxDirectories(box)
    if (problem !== undefined) return yield* fail(problem)
    const env = bootEnvironment(box, process.env)
    const cwd = box.workdir ?? box.box_dir
    const checked = checkBoot(box, env, cwd)
    if (checked !== undefined) return yield* fail(checked)
    // Only the wait for the wrapper can be interrupted (the launcher then drops the job): once the
    // job is parked, the boot ends with the box booted or dropped, never with its gate left open.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const exit = Deferred.unsafeMake<number>(FiberId.none)
        const { gate, pid } = yield* restore(Effect.suspend(() => {
          let logFd: number
          try {
            logFd = openConsoleLog(box.console_log)
          } catch (error) {
            return Effect.fail(fail(`cannot open its console log ${box.console_log} (${errorText(error)})`))
          }
          return Effect.mapError(launcher.launch({ box, env, cwd, logFd, exited: exit }), (failed) => fail(failed.reason))
        }))
        // The job is parked at its gate: it is alive and cannot be reaped yet, so this read cannot miss it.
        const info = yield* readProcessInfoNow(pid)
        const wrapper = Option.isSome(info) ? yield* readProcessInfoNow(info.value.ppid) : Option.none()
        return yield* parked({ pid, gate, info, wrapper, exit, box, options, booted })
      })
    )
  })

/** The job parked at its gate (`pid`), the wrapper above it, and the gate: the booted box, gated or released. */
const parked = (
  { booted, box, exit, gate, info, options, pid, wrapper }: {
    readonly pid: number
    readonly gate: Socket
    readonly info: Option.Option<ProcessInfo.ProcessInfo>
    readonly wrapper: Option.Option<ProcessInfo.ProcessInfo>
    readonly exit: Deferred.Deferred<number>
    readonly box: BoxRecord
    readonly options: BootOptions
    readonly booted: BootedBoxes
  }
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
  booted.remember(pid, startTime, exit, gate)
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
