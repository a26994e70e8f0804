/**
 * "Log it, but not every cycle": a failure that repeats (a disk that stays full, a lease file
 * that stays unreadable) is logged when it first appears, and then at most once per `every`
 * while it stays the same. A different message is logged at once; `clear` (the failure is over)
 * forgets them all, so the next failure is news again.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/** How often an unchanged failure is repeated, unless told otherwise. */
export const DEFAULT_EVERY = Duration.minutes(1)

/**
 * The rule itself, for callers that keep the last time in state of their own (the supervisor's
 * owner fiber): whether a failure last let through at `loggedAt` may be logged again at `now`.
 */
export const isDue = (loggedAt: number | undefined, now: number, every: Duration.DurationInput = DEFAULT_EVERY): boolean =>
  loggedAt === undefined || now - loggedAt >= Duration.toMillis(Duration.decode(every))

export interface ThrottledLog {
  /** Runs `log` unless `key` was let through less than `every` ago (by the Clock). Says whether it ran. */
  readonly log: <E, R>(key: string, log: Effect.Effect<void, E, R>) => Effect.Effect<boolean, E, R>
  /** Forgets every key. */
  readonly clear: Effect.Effect<void>
}

export const make = (every: Duration.DurationInput = DEFAULT_EVERY): Effect.Effect<ThrottledLog> =>
  Effect.map(Ref.make(new Map<string, number>()), (lastLogged) => {
    const everyMs = Duration.toMillis(Duration.decode(every))
    return {
      log: <E, R>(key: string, log: Effect.Effect<void, E, R>) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const due = yield* Ref.modify(lastLogged, (map): readonly [boolean, Map<string, number>] => {
            if (!isDue(map.get(key), now, everyMs)) return [false, map]
            return [true, new Map(map).set(key, now)]
          })
          if (due) yield* log
          return due
        }),
      clear: Ref.update(lastLogged, (map) => (map.size === 0 ? map : new Map()))
    }
  })
