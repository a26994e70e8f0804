import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { BoxRecord } from "../domain/BoxRecord.js"
import type { BoxRuntime } from "../runtime/BoxRuntime.js"
import type { StateFileCorrupt, StateStore } from "../state/StateStore.js"
import { BoxFailures, rejectOptionLike, type UnknownOption } from "./CliErrors.js"
import * as Lifecycle from "./Lifecycle.js"

/**
 * Runs a box command on each reference in turn, like docker: each box is resolved afresh
 * (after the previous one's changes), the reference is printed when its box succeeded, and
 * the failures are collected into one `BoxFailures` (so the command exits non-zero and
 * reports each one) after every box was tried. A corrupt state file fails the whole command
 * at once: every other box would fail the same way. An unknown option among the references
 * fails it before any box is touched.
 */
export const forEachBox = <E extends { readonly _tag: string; readonly message: string }, R>(
  command: string,
  refs: ReadonlyArray<string>,
  operation: (box: BoxRecord, ref: string) => Effect.Effect<void, E, R>,
  options: { readonly echo?: boolean } = {}
): Effect.Effect<void, BoxFailures | StateFileCorrupt | UnknownOption, R | StateStore | BoxRuntime> =>
  Effect.gen(function*() {
    yield* rejectOptionLike(command, refs)
    const failures: Array<{ readonly message: string }> = []
    for (const ref of refs) {
      const outcome = yield* Effect.either(
        Effect.flatMap(Lifecycle.resolve(ref), (box) => operation(box, ref))
      )
      if (outcome._tag === "Right") {
        if (options.echo !== false) yield* Console.log(ref)
        continue
      }
      const error = outcome.left
      if (error._tag === "StateFileCorrupt") return yield* Effect.fail(error as StateFileCorrupt)
      failures.push(error)
    }
    if (failures.length > 0) return yield* new BoxFailures({ failures })
  }).pipe(Effect.asVoid)
