/**
 * The boxes of a home as a command sees them (SPEC §3): the state file's records, reconciled
 * with the box runtime. The state store only reads, decodes and writes under its lock; this
 * module, above both the store and the runtime, is the one place that puts them together.
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { needsLivenessCheck, type Observations, reconcile } from "../domain/Reconcile.js"
import { destroyed, died } from "../domain/BoxEvent.js"
import { EventJournal } from "../events/EventJournal.js"
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

/** The deaths a load recorded, in the journal when there is one (see `load`). */
const journalDeaths = (dead: ReadonlyArray<BoxRecord>, removed: ReadonlyArray<BoxRecord>): Effect.Effect<void> =>
  dead.length === 0 && removed.length === 0
    ? Effect.void
    : Effect.flatMap(Effect.serviceOption(EventJournal), (journal) =>
      Option.isNone(journal)
        ? Effect.void
        : journal.value.append([...dead.map(died), ...removed.flatMap((box) => [died(box), destroyed(box)])]))

/**
 * Reads and reconciles (SPEC §3): active boxes whose process is gone are marked dead (or
 * removed with `auto_remove`), written back under the lock only if something changed. When
 * that write fails (`isWriteFailure`: a read-only home), it says so once on stderr and returns
 * the records as reconciled in memory. The deaths it recorded (`last_exit` with the time) go to
 * the event journal when there is one (`die`, and `destroy` for an `auto_remove` box): a `ps`
 * that finds a box dead is what recorded it (issue 14). The journal is optional here, so that
 * whatever only reads the boxes (a host's status page, a test) need not provide one.
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
    const now = yield* Clock.currentTimeMillis
    return yield* store.modify((current) => {
      const result = reconcile(current, observations, now)
      return [result, result.records]
    }).pipe(
      Effect.tap((result) => journalDeaths(result.died, result.removed)),
      Effect.map((result) => result.records),
      Effect.catchIf(isWriteFailure, (error) => Effect.as(notUpdated(store, error), inMemory.records))
    )
  }
).pipe(Effect.withSpan("Boxes.load"))
