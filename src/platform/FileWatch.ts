/**
 * One inotify watch of a path (`fs.watch`; Node's loop shares one inotify descriptor between all
 * its watches, and `persistent: false` keeps a watch from holding the process alive), for as long
 * as the scope is open, as an effect that ends at the first event `accept`s or when the watch
 * fails (the watcher's owner then looks for itself). Used by the log rotator (a console log's
 * changes) and the exit watch (a box dir's `exit_code`).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { watch } from "node:fs"
import { errorText } from "./ErrorText.js"

/** Right: the effect that ends at the first accepted event; Left: why the path cannot be watched. */
export const firstChange = (
  target: string,
  accept: (name: string | null) => boolean = () => true
): Effect.Effect<Either.Either<Effect.Effect<void>, string>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const changed = yield* Deferred.make<void>()
    const done = () => Deferred.unsafeDone(changed, Exit.void)
    const watcher = yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          const w = watch(target, { persistent: false }, (_event, name) => {
            if (accept(name)) done()
          })
          w.on("error", done)
          return Either.right(w)
        } catch (error) {
          return Either.left(errorText(error))
        }
      }),
      (w) => Effect.sync(() => Either.map(w, (watcher) => watcher.close()))
    )
    return Either.map(watcher, () => Deferred.await(changed))
  })
