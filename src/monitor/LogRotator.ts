import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
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
 * goes (the launchd agent's). No process per box, and no fiber per box either: one fiber owns
 * every log's watch and deadline. A log is watched (an inotify watch through `fs.watch`, taken
 * down by its first event, which is sent to the fiber's queue), looked at (rotated if it is over
 * its size: platform/LogRotation.ts), and watched again.
 *
 * A log is looked at on its first change, then at most every CHECK_GAP while it keeps changing:
 * a box that logs a line a second costs one look a second, and the live file can exceed its size
 * by what the box writes in CHECK_GAP (plus the rotation itself). Without a watch (inotify's
 * watches used up, a file system without them) the log is looked at every FALLBACK; with one,
 * every SAFETY_NET too (an idle monitor of many boxes must not wake for their logs: issue 13).
 * (A fiber per log, with a timeout around its watch, cost ~20 KB of heap per box: issue 12.)
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

/** A log to keep under its cap: its file, its limits, and whose it is (for log lines). */
interface Wanted {
  readonly file: string
  readonly limits: LogLimits.LogLimits
  readonly owner: string
}

/** What the rotator's fiber is told: the logs wanted now (by key), or that the watch armed `armed`-th for a log saw a change (or failed). */
type Event = Data.TaggedEnum<{
  Track: { readonly wanted: ReadonlyMap<string, Wanted> }
  Changed: { readonly key: string; readonly armed: number }
}>
const Event = Data.taggedEnum<Event>()

/** The key of the monitor's own log: kept whatever the records say. */
const OWN_LOG = "monitor"

/** What a record asks for: its key changes when its log or its limits do. */
const wantedOf = (box: BoxRecord): readonly [string, Wanted] | undefined => {
  const limits = LogLimits.limitsOf(box)
  if (!isActive(box) || box.console_log === "" || !LogLimits.rotates(limits)) return undefined
  return [`${box.id}\0${box.console_log}\0${limits.maxSize}\0${limits.maxFiles}`, { file: box.console_log, limits, owner: `box ${box.name}` }]
}

/** What the rotator needs from the OS: a watch (platform/FileWatch.ts) and a look (platform/LogRotation.ts). Tests give their own. */
export interface Ports {
  readonly watch: (file: string, onChange: () => void, onError: () => void) => Either.Either<FileWatch.Watch, string>
  readonly rotateIfOver: (file: string, limits: LogLimits.LogLimits) => LogRotation.Outcome
}

const nodePorts: Ports = {
  watch: FileWatch.watch,
  rotateIfOver: LogRotation.rotateIfOver
}

/** One log as the fiber keeps it: its open watch (if any), which arming that was, when it was last looked at and when it is due. */
interface Kept {
  readonly key: string
  readonly wanted: Wanted
  watch: FileWatch.Watch | undefined
  armed: number
  lookedAt: number
  dueAt: number
}

/**
 * The rotator over `ports`, with `ownLog` (the monitor's own log, at the default limits) kept
 * from the start. The fiber and every watch end with the scope.
 */
export const makeWith = (ports: Ports, ownLog?: string) =>
  Effect.gen(function*() {
    const events = yield* Queue.unbounded<Event>()
    const throttled = yield* ThrottledLog.make()
    const kept = yield* Effect.acquireRelease(
      Effect.sync(() => new Map<string, Kept>()),
      (kept) => Effect.sync(() => kept.forEach((log) => log.watch?.close()))
    )
    const gap = Duration.toMillis(CHECK_GAP)

    /** Arms a watch of the log: its first event (or failure) takes it down and tells the fiber. */
    const arm = (log: Kept) => {
      const armed = ++log.armed
      // Node calls this, not the fiber: it takes its own watch down and tells the fiber, once.
      let own: FileWatch.Watch | undefined
      let fired = false
      const changed = () => {
        if (fired) return
        fired = true
        own?.close()
        Queue.unsafeOffer(events, Event.Changed({ key: log.key, armed }))
      }
      own = log.watch = Either.getOrUndefined(ports.watch(log.wanted.file, changed, changed))
    }

    /**
     * Looks at the log, its watch armed first (so a write during the look is not missed). A watch
     * that has not fired is still armed: kept (a rotation truncates the live file in place, the
     * same inode; a file replaced or removed fires it).
     */
    const look = (log: Kept, now: number) =>
      Effect.gen(function*() {
        if (log.watch === undefined) arm(log)
        log.lookedAt = now
        log.dueAt = now + Duration.toMillis(log.watch !== undefined ? SAFETY_NET : FALLBACK)
        const { file, owner } = log.wanted
        const outcome = yield* Effect.try(() => ports.rotateIfOver(file, log.wanted.limits)).pipe(
          Effect.tapError((error) =>
            throttled.log(file, Effect.logWarning(`monitor: cannot rotate ${owner}'s log ${file}: ${errorText(error.error)}`))
          ),
          Effect.option
        )
        if (Option.isSome(outcome) && outcome.value._tag === "Rotated") {
          const { dropped, kept } = outcome.value
          yield* Effect.logDebug(
            `monitor: rotated ${owner}'s log ${file} (${kept} bytes to ${path.basename(LogLimits.rotatedPath(file, 1))}${
              dropped > 0 ? `, ${dropped} older bytes dropped` : ""
            })`
          )
        }
      })

    const apply = (event: Event) =>
      Event.$match(event, {
        Track: ({ wanted }) => {
          for (const [key, log] of kept) {
            if (key === OWN_LOG || wanted.has(key)) continue
            log.watch?.close()
            kept.delete(key)
          }
          for (const [key, want] of wanted) {
            if (!kept.has(key)) kept.set(key, { key, wanted: want, watch: undefined, armed: 0, lookedAt: -Infinity, dueAt: -Infinity })
          }
        },
        // The watch that fired is the log's latest (a look since then armed another: nothing new).
        Changed: ({ armed, key }) => {
          const log = kept.get(key)
          if (log === undefined || log.armed !== armed) return
          log.watch = undefined
          log.dueAt = Math.min(log.dueAt, log.lookedAt + gap)
        }
      })

    /** Look at the logs that are due; wait for the next deadline or event; apply what came. */
    const loop = Effect.gen(function*() {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        let next = Infinity
        for (const log of kept.values()) {
          if (log.dueAt <= now) yield* look(log, now)
          next = Math.min(next, log.dueAt)
        }
        const first = next === Infinity
          ? Option.some(yield* Queue.take(events))
          : yield* Effect.timeoutOption(Queue.take(events), Duration.millis(next - now))
        if (Option.isSome(first)) apply(first.value)
        for (const event of yield* Queue.takeAll(events)) apply(event)
      }
    })

    if (ownLog !== undefined) {
      apply(Event.Track({ wanted: new Map([[OWN_LOG, { file: ownLog, limits: LogLimits.defaultLimits, owner: "the monitor" }]]) }))
    }
    yield* Effect.forkScoped(loop)

    let last: ReadonlyArray<BoxRecord> | undefined
    const track = (records: ReadonlyArray<BoxRecord>) =>
      Effect.suspend(() => {
        if (records === last) return Effect.void
        last = records
        const wanted = new Map<string, Wanted>()
        for (const box of records) {
          const want = wantedOf(box)
          if (want !== undefined) wanted.set(want[0], want[1])
        }
        return Queue.offer(events, Event.Track({ wanted }))
      })
    return LogRotator.of({ track })
  })

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
  Layer.scoped(LogRotator, makeWith(nodePorts, ownLog !== undefined && stdoutIs(ownLog) ? ownLog : undefined))
