/**
 * The boxes of a home as a command sees them (SPEC §3): the state file's records, reconciled
 * with the box runtime. The state store only reads, decodes and writes under its lock; this
 * module, above both the store and the runtime, is the one place that puts them together.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { needsLivenessCheck, type Observations, reconcile } from "../domain/Reconcile.js"
import { BoxRuntime, type BoxRuntimeShape } from "../runtime/BoxRuntime.js"
import * as Liveness from "../runtime/Liveness.js"
import {
  isWriteFailure,
  notUpdatedMessage,
  type StateError,
  type StateFileUnavailable,
  StateStore,
  type StateStoreShape
} from "../state/StateStore.js"

/**
 * SPEC §3 observations of the active boxes among `records`: whether each one's process is
 * alive, and for each found dead with an unknown exit code, its exit-code file. The one call
 * into the runtime's liveness from here.
 */
export const observe = (runtime: BoxRuntimeShape, records: ReadonlyArray<BoxRecord>): Effect.Effect<Observations> =>
  Liveness.observe(runtime, records.filter(needsLivenessCheck))

/**
 * The stores that already said `notUpdatedMessage`: a reader on a read-only home is told once
 * per store (once per command), not at every load.
 */
const toldNotUpdated = new WeakSet<StateStoreShape>()

const notUpdated = (store: StateStoreShape, error: StateFileUnavailable): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (toldNotUpdated.has(store)) return Effect.void
    toldNotUpdated.add(store)
    return Console.error(notUpdatedMessage(error))
  })

/**
 * Reads and reconciles (SPEC §3): active boxes whose process is gone are marked dead (or
 * removed with `auto_remove`), written back under the lock only if something changed. When
 * that write fails (`isWriteFailure`: a read-only home), it says so once on stderr and returns
 * the records as reconciled in memory.
 */
export const load: Effect.Effect<ReadonlyArray<BoxRecord>, StateError, StateStore | BoxRuntime> = Effect.gen(
  function*() {
    const store = yield* StateStore
    const runtime = yield* BoxRuntime
    const records = yield* store.snapshot
    const observations = yield* observe(runtime, records)
    const inMemory = reconcile(records, observations)
    if (!inMemory.changed) return records
    // Something died: apply it under the lock to a fresh read, so that a concurrent writer
    // is not clobbered. Pure: an observation only applies to the incarnation it was made
    // for, so a box restarted meanwhile (new pid) is left to the next load.
    return yield* store.modify((current) => {
      const result = reconcile(current, observations)
      return [result.records, result.records]
    }).pipe(Effect.catchIf(isWriteFailure, (error) => Effect.as(notUpdated(store, error), inMemory.records)))
  }
).pipe(Effect.withSpan("Boxes.load"))
