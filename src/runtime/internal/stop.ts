import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type BoxRecord, stopSignal, stopTimeoutSecs } from "../../domain/BoxRecord.js"
import { errnoCode, errorText } from "../../platform/ErrorText.js"
import * as BoxProcess from "../BoxProcess.js"
import { SignalRefused, StopFailed } from "../BoxRuntime.js"
import * as ProcessInfo from "../ProcessInfo.js"
import * as Signal from "../Signal.js"
import type { BootedBoxes } from "./bootedBoxes.js"
import { readExitCode } from "./boxFiles.js"
import { killQuietly, pollUntil } from "./processCalls.js"

/**
 * `BoxRuntime.stop` and `killRemains` of the local runtime. Every signal goes through the rules
 * of `BoxProcess` first: a process that is not provably the box's is never signalled.
 */

/** How long stop waits for the wrapper to write the exit code once the box is gone. */
const EXIT_FILE_GRACE_MS = 2_000
/** How long a SIGKILLed box may take to disappear before stop gives up. */
const KILL_GRACE_MS = 10_000
/** How long the SIGKILLed rest of a dead box's group is waited for. */
const REMAINS_GRACE_MS = 2_000

/**
 * SPEC §12: what is left of the group of each box (found dead) is SIGKILLed, if the group is
 * provably that box's (`BoxProcess.decideRemains`), and waited for (a port it held is free
 * once it is gone) for up to REMAINS_GRACE_MS.
 */
export const killRemains = (boxes: ReadonlyArray<BoxRecord>): Effect.Effect<void> =>
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

/**
 * Stops a box: its stop signal to its process group (or its pid alone if it leads none), SIGKILL
 * after its stop timeout, done when the process and the rest of its group are gone; then its
 * exit code, from the wrapper when this instance booted it (`booted`), else from its exit_code file.
 */
export const makeStop = (booted: BootedBoxes) =>
  Effect.fn("LocalBoxRuntime.stop")(function*(box: BoxRecord) {
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
          if (errnoCode(error) === "ESRCH") return false
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
    const ours = booted.exitOf(pid, identity)
    if (ours !== undefined) {
      const code = yield* Deferred.await(ours).pipe(Effect.timeout(Duration.millis(EXIT_FILE_GRACE_MS)), Effect.option)
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
