import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { BoxRecord } from "../domain/BoxRecord.js"
import type { InvalidRecord } from "../domain/StateFileCodec.js"
import type { StateError, StateStoreShape, StateUpdate } from "./StateStore.js"
import { StateFileChange, StateFileCorrupt, StateFileUnavailable, StateStore, unwatchable } from "./StateStore.js"

/**
 * A `StateStore` kept in memory: for tests, and for embedders that supervise boxes whose
 * state lives elsewhere. Like the file store, it does not reconcile: `Boxes.load` does, over
 * any store (SPEC §3). The control methods play the part of other processes and of a
 * broken disk: `put` is another command writing the file, `corrupt` makes it unparseable
 * (it is then never written until `put` repairs it), `failWrites` makes writes fail,
 * `loseWatch` ends the watch of the file as a removed home directory would.
 *
 * `changes` watches the "file" like the Node store's inotify: `Watching`, then a `Changed` after
 * every write, `put` and `corrupt` (the store's own writes included, as inotify reports them).
 * Built with `watched: false`, it cannot be watched (a lone `Unwatched`): the monitor polls
 * `stamp` instead.
 */
export interface InMemoryStateStore extends StateStoreShape {
  readonly stamp: Effect.Effect<string>
  /** The current records, as a reader of the file would see them (fails while corrupt). */
  readonly records: Effect.Effect<ReadonlyArray<BoxRecord>, StateError>
  /** Replaces the whole content, as another writer would (also repairs a corrupt file); `invalid`: elements that are not records. */
  readonly put: (records: ReadonlyArray<BoxRecord>, invalid?: ReadonlyArray<InvalidRecord>) => Effect.Effect<void>
  /** Makes the "file" unparseable: every read fails with `StateFileCorrupt` until `put`. */
  readonly corrupt: (detail?: string) => Effect.Effect<void>
  /** While true, every write fails with `StateFileUnavailable` (nothing is changed). */
  readonly failWrites: (fail: boolean) => Effect.Effect<void>
  /** How many writes succeeded so far (the monitor's and `put`s). */
  readonly writes: Effect.Effect<number>
  /** Ends every watch of `changes` with `Unwatched`; later watches get a lone `Unwatched`. */
  readonly loseWatch: Effect.Effect<void>
}

export interface Options {
  /** Whether `changes` can watch the "file" (default true, as on Linux). */
  readonly watched?: boolean
}

interface Content {
  readonly records: ReadonlyArray<BoxRecord>
  readonly invalid: ReadonlyArray<InvalidRecord>
  readonly corrupt: Option.Option<string>
  readonly failWrites: boolean
  readonly version: number
  readonly writes: number
}

export const DEFAULT_PATH = "<memory>/boxes.json"

export const make = (
  initial: ReadonlyArray<BoxRecord> = [],
  path: string = DEFAULT_PATH,
  options: Options = {}
): Effect.Effect<InMemoryStateStore> =>
  Effect.gen(function*() {
    const ref = yield* Ref.make<Content>({
      records: initial,
      invalid: [],
      corrupt: Option.none(),
      failWrites: false,
      version: 0,
      writes: 0
    })
    // The cross-process lock of the file store: one read-modify-write at a time.
    const lock = yield* Effect.makeSemaphore(1)
    /** Every change of the content, for the watches of `changes`; ends with `Unwatched` once lost. */
    const watchers = yield* PubSub.unbounded<StateFileChange>()
    let watchable = options.watched ?? true
    const changed = Effect.asVoid(PubSub.publish(watchers, StateFileChange.Changed()))
    const changes: Stream.Stream<StateFileChange> = Stream.unwrapScoped(Effect.gen(function*() {
      if (!watchable) return unwatchable(`${path} is not watched`)
      const subscription = yield* PubSub.subscribe(watchers)
      return Stream.concat(
        Stream.make(StateFileChange.Watching()),
        Stream.fromQueue(subscription).pipe(Stream.takeUntil(StateFileChange.$is("Unwatched")))
      )
    }))

    const read: Effect.Effect<ReadonlyArray<BoxRecord>, StateError> = Effect.flatMap(Ref.get(ref), (c) =>
      Option.match(c.corrupt, {
        onNone: () => Effect.succeed(c.records),
        onSome: (detail) => Effect.fail(new StateFileCorrupt({ path, detail }))
      }))

    const write = (records: ReadonlyArray<BoxRecord>): Effect.Effect<void, StateError> =>
      Effect.flatMap(Ref.get(ref), (c) =>
        c.failWrites
          ? Effect.fail(new StateFileUnavailable({ path, operation: "write", cause: new Error("simulated write failure") }))
          : Effect.zipRight(Ref.set(ref, { ...c, records, version: c.version + 1, writes: c.writes + 1 }), changed))

    const modify = <A>(f: StateUpdate<A>): Effect.Effect<A, StateError> =>
      lock.withPermits(1)(Effect.gen(function*() {
        const before = yield* read
        const [result, after] = f(before)
        if (after !== before) yield* write(after)
        return result
      }))

    const store: InMemoryStateStore = {
      path,
      snapshot: read,
      invalid: Effect.flatMap(read, () => Effect.map(Ref.get(ref), (c) => c.invalid)),
      modify,
      stamp: Effect.map(Ref.get(ref), (c) => `${c.version}`),
      records: read,
      put: (records, invalid = []) =>
        Ref.update(ref, (c) => ({
          ...c,
          records,
          invalid,
          corrupt: Option.none(),
          version: c.version + 1,
          writes: c.writes + 1
        })).pipe(Effect.zipRight(changed)),
      corrupt: (detail = "Unexpected token '}' in JSON at position 1") =>
        Ref.update(ref, (c) => ({ ...c, corrupt: Option.some(detail), version: c.version + 1 })).pipe(
          Effect.zipRight(changed)
        ),
      failWrites: (fail) => Ref.update(ref, (c) => ({ ...c, failWrites: fail })),
      writes: Effect.map(Ref.get(ref), (c) => c.writes),
      changes,
      loseWatch: Effect.suspend(() => {
        watchable = false
        return Effect.asVoid(PubSub.publish(watchers, StateFileChange.Unwatched({ reason: `${path} is watched no more` })))
      })
    }
    return store
  })

/** The control side of an in-memory store, for tests that play other processes. */
export class InMemoryStateStoreControl
  extends Context.Tag("a3s-box/InMemoryStateStoreControl")<InMemoryStateStoreControl, InMemoryStateStore>()
{}

/** `StateStore` kept in memory, plus its control methods as `InMemoryStateStoreControl`. */
export const layer = (
  initial: ReadonlyArray<BoxRecord> = [],
  path: string = DEFAULT_PATH,
  options: Options = {}
): Layer.Layer<StateStore | InMemoryStateStoreControl> =>
  Layer.effectContext(
    Effect.map(make(initial, path, options), (store) =>
      Context.make(StateStore, store).pipe(Context.add(InMemoryStateStoreControl, store)))
  )
