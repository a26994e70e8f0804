import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { fstatSync, statSync } from "node:fs"
import * as path from "node:path"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { isActive } from "../domain/BoxStatus.js"
import * as LogLimits from "../domain/LogLimits.js"
import { errorText } from "../platform/ErrorText.js"
import * as FileWatch from "../platform/FileWatch.js"
import * as LogRotation from "../platform/LogRotation.js"
import * as ThrottledLog from "../platform/ThrottledLog.js"

/**
 * Keeps the console log of every active box under its cap (issue 15, `run --log-max-size
 * --log-max-files`), and the monitor's own `<home>/monitor.log` when that is where its output
 * goes (the launchd agent's). No process per box: one fiber per log in a FiberMap, which waits
 * for the log to change (an inotify watch through `fs.watch`, taken down at the first event),
 * rotates it if it is over its size (platform/LogRotation.ts), and waits again.
 *
 * A log is looked at on its first change, then at most every CHECK_GAP while it keeps changing:
 * a box that logs a line a second costs one look a second, and the live file can exceed its size
 * by what the box writes in CHECK_GAP (plus the rotation itself). Without a watch (inotify's
 * watches used up, a file system without them) the log is looked at every FALLBACK; with one,
 * every SAFETY_NET too (an idle monitor of many boxes must not wake for their logs: issue 13).
 *
 * The supervisor tells it the records after each cycle (`track`); without a monitor, nothing
 * rotates (nothing restarts either): say so in docs/behaviour.md.
 */
export interface LogRotatorShape {
  /** The logs to keep under their caps from now on: those of these records' active boxes (the same array again: nothing to do). */
  readonly track: (records: ReadonlyArray<BoxRecord>) => Effect.Effect<void>
}

export class LogRotator extends Context.Tag("a3s-box/LogRotator")<LogRotator, LogRotatorShape>() {}

const CHECK_GAP = Duration.millis(100)
const FALLBACK = Duration.seconds(5)
const SAFETY_NET = Duration.seconds(60)

/**
 * Watches the log until the scope closes: the returned effect ends at its first change after
 * this call (after FALLBACK when it cannot be watched; after SAFETY_NET at most). Armed before the look,
 * so a write during the look is not missed.
 */
const watchOnce = (log: string): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.map(FileWatch.firstChange(log), Either.match({
    onLeft: () => Effect.sleep(FALLBACK),
    onRight: (changed) => changed.pipe(Effect.timeout(SAFETY_NET), Effect.ignore)
  }))

/** One log's fiber: arm the watch, look (rotate if due), wait for a change, and again. */
const keepUnderCap = (log: string, limits: LogLimits.LogLimits, owner: string, throttled: ThrottledLog.ThrottledLog) =>
  Effect.gen(function*() {
    while (true) {
      const lookedAt = yield* Clock.currentTimeMillis
      yield* Effect.scoped(Effect.gen(function*() {
        const changed = yield* watchOnce(log)
        const outcome = yield* Effect.try(() => LogRotation.rotateIfOver(log, limits)).pipe(
          Effect.tapError((error) =>
            throttled.log(log, Effect.logWarning(`monitor: cannot rotate ${owner}'s log ${log}: ${errorText(error.error)}`))
          ),
          Effect.option
        )
        if (outcome._tag === "Some" && outcome.value._tag === "Rotated") {
          const { dropped, kept } = outcome.value
          yield* Effect.logDebug(
            `monitor: rotated ${owner}'s log ${log} (${kept} bytes to ${path.basename(LogLimits.rotatedPath(log, 1))}${
              dropped > 0 ? `, ${dropped} older bytes dropped` : ""
            })`
          )
        }
        yield* changed
      }))
      const since = (yield* Clock.currentTimeMillis) - lookedAt
      if (since < Duration.toMillis(CHECK_GAP)) yield* Effect.sleep(Duration.millis(Duration.toMillis(CHECK_GAP) - since))
    }
  })

/** What a record asks for: its key changes when its log or its limits do. */
const wanted = (box: BoxRecord) => {
  const limits = LogLimits.limitsOf(box)
  if (!isActive(box) || box.console_log === "" || !LogLimits.rotates(limits)) return undefined
  return { key: `${box.id}\0${box.console_log}\0${limits.maxSize}\0${limits.maxFiles}`, limits }
}

/** Whether fd 1 is the file at `file` (the launchd agent's StandardOutPath). */
const stdoutIs = (file: string): boolean => {
  try {
    const out = fstatSync(1)
    const there = statSync(file)
    return out.isFile() && out.dev === there.dev && out.ino === there.ino
  } catch {
    return false
  }
}

/**
 * The rotator of this host's logs; `ownLog`: the monitor's own log file, rotated at the default
 * limits when its stdout is that file.
 */
export const layer = (ownLog?: string): Layer.Layer<LogRotator> =>
  Layer.scoped(
    LogRotator,
    Effect.gen(function*() {
      const fibers = yield* FiberMap.make<string>()
      const throttled = yield* ThrottledLog.make()
      if (ownLog !== undefined && stdoutIs(ownLog)) {
        yield* FiberMap.run(fibers, "monitor", keepUnderCap(ownLog, LogLimits.defaultLimits, "the monitor", throttled))
      }
      let last: ReadonlyArray<BoxRecord> | undefined
      const track = (records: ReadonlyArray<BoxRecord>) =>
        Effect.gen(function*() {
          if (records === last) return
          last = records
          const keep = new Map<string, { readonly box: BoxRecord; readonly limits: LogLimits.LogLimits }>()
          for (const box of records) {
            const want = wanted(box)
            if (want !== undefined) keep.set(want.key, { box, limits: want.limits })
          }
          const running = [...fibers].map(([key]) => key)
          for (const key of running) if (key !== "monitor" && !keep.has(key)) yield* FiberMap.remove(fibers, key)
          for (const [key, { box, limits }] of keep) {
            if (FiberMap.unsafeHas(fibers, key)) continue
            yield* FiberMap.run(fibers, key, keepUnderCap(box.console_log, limits, `box ${box.name}`, throttled))
          }
        })
      return { track }
    })
  )
