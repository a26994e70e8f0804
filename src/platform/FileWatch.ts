/**
 * One inotify watch of a path (`fs.watch`; Node's loop shares one inotify descriptor between all
 * its watches, and `persistent: false` keeps a watch from holding the process alive). `watch` is
 * the watch itself, for an owner that keeps many (the log rotator: one fiber for every console
 * log); `firstChange` is one watch for as long as a scope is open, as an effect that ends at the
 * first event `accept`s or when the watch fails (the watcher's owner then looks for itself), used
 * by the exit watch (a box dir's `exit_code`).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { watch as watchNode } from "node:fs"
import { errorText } from "./ErrorText.js"

/** An open watch: `close` ends it (no call of its `onEvent` after that). */
export interface Watch {
  readonly close: () => void
}

/**
 * Right: a watch of `target` that calls `onChange` with the changed entry's name (null when Node
 * does not say) at each event, and `onError` if the watch fails (it is of no use after that: close
 * it). Left: why the path cannot be watched (no such path, inotify's watches used up).
 */
export const watch = (
  target: string,
  onChange: (name: string | null) => void,
  onError: () => void
): Either.Either<Watch, string> => {
  try {
    const watcher = watchNode(target, { persistent: false }, (_event, name) => onChange(name))
    watcher.on("error", onError)
    return Either.right(watcher)
  } catch (error) {
    return Either.left(errorText(error))
  }
}

/** Right: the effect that ends at the first accepted event (or when the watch fails); Left: why the path cannot be watched. */
export const firstChange = (
  target: string,
  accept: (name: string | null) => boolean = () => true
): Effect.Effect<Either.Either<Effect.Effect<void>, string>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const changed = yield* Deferred.make<void>()
    const watched = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const done = () => Deferred.unsafeDone(changed, Exit.void)
        return watch(target, (name) => {
          if (accept(name)) done()
        }, done)
      }),
      (w) => Effect.sync(() => Either.map(w, (open) => open.close()))
    )
    return Either.map(watched, () => Deferred.await(changed))
  })
