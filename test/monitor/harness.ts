/** Runs the supervisor under TestClock on the in-memory runtime and store. */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import type { BoxEvent } from "../../src/domain/BoxEvent.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as Supervisor from "../../src/monitor/Supervisor.js"
import { BoxRuntime, type BoxRuntimeShape } from "../../src/runtime/BoxRuntime.js"
import * as InMemoryBoxRuntime from "../../src/runtime/InMemoryBoxRuntime.js"
import * as InMemoryStateStore from "../../src/state/InMemoryStateStore.js"
import { StateStore, type StateStoreShape } from "../../src/state/StateStore.js"

export interface LogLine {
  readonly at: number
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

export interface Harness {
  readonly store: InMemoryStateStore.InMemoryStateStore
  readonly runtime: InMemoryBoxRuntime.InMemoryBoxRuntimeControlShape
  /** The runtime as the supervisor sees it (for running CLI operations beside it). */
  readonly boxRuntime: BoxRuntimeShape
  readonly stats: MonitorStats.MonitorStatsShape
  readonly supervisor: Supervisor.SupervisorShape
  readonly logs: ReadonlyArray<LogLine>
  /** The event journal the supervisor appends to (in memory). */
  readonly journal: InMemoryEventJournal.InMemoryEventJournal
  /** Everything appended to the journal so far, in order. */
  readonly events: Effect.Effect<ReadonlyArray<BoxEvent>>
  /** The record of a box by name (fails the test if it is gone). */
  readonly box: (name: string) => Effect.Effect<BoxRecord>
  /** The record of a box by name, if present. */
  readonly find: (name: string) => Effect.Effect<Option.Option<BoxRecord>>
}

/**
 * The defaults, except the liveness tick, which is off (1 hour) unless a test is about it:
 * each wake-up costs TestClock real milliseconds, and ten per virtual second add up.
 */
export const testConfig: MonitorConfig.MonitorConfigShape = {
  ...MonitorConfig.defaults("/test-home"),
  livenessTick: Duration.hours(1)
}

export interface HarnessOptions {
  readonly config?: Partial<MonitorConfig.MonitorConfigShape>
  /** Wraps the fake runtime (e.g. to make boots slow). */
  readonly wrapRuntime?: (runtime: BoxRuntimeShape) => BoxRuntimeShape
  /** Wraps the store as the supervisor sees it (e.g. to play its `changes` by hand). */
  readonly wrapStore?: (store: StateStoreShape) => StateStoreShape
}

/**
 * Starts a supervisor in the current scope over `boxes`. The monitor's forked fibers have not
 * run yet when this returns: `yield* TestClock.adjust(0)` (or `settle`) first.
 */
export const start = (
  boxes: ReadonlyArray<BoxRecord>,
  options: HarnessOptions = {}
): Effect.Effect<Harness, never, Scope.Scope> =>
  Effect.gen(function*() {
    const logs: Array<LogLine> = []
    const capture = Logger.make(({ annotations, date, logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      logs.push({
        at: date.getTime(),
        level: logLevel.label,
        message: parts.map(String).join(" "),
        annotations: Object.fromEntries(annotations)
      })
    })
    // Forked fibers inherit the loggers of the fiber that builds the layer.
    yield* Effect.locallyScopedWith(FiberRef.currentLoggers, () => HashSet.make(capture))

    const wrap = options.wrapRuntime ?? ((runtime: BoxRuntimeShape) => runtime)
    const runtimeLayer = Layer.effectContext(Effect.map(InMemoryBoxRuntime.make, ({ control, runtime }) =>
      Context.make(BoxRuntime, wrap(runtime)).pipe(Context.add(InMemoryBoxRuntime.InMemoryBoxRuntimeControl, control))))
    const wrapStore = options.wrapStore
    const storeLayer = wrapStore === undefined
      ? InMemoryStateStore.layer(boxes)
      : Layer.effectContext(Effect.map(InMemoryStateStore.make(boxes), (store) =>
        Context.make(StateStore, wrapStore(store)).pipe(Context.add(InMemoryStateStore.InMemoryStateStoreControl, store))))
    const journal = yield* InMemoryEventJournal.make
    const services = Layer.mergeAll(
      storeLayer,
      Layer.succeed(EventJournal, journal),
      MonitorStats.layer,
      MonitorConfig.layer({ ...testConfig, ...options.config })
    ).pipe(Layer.provideMerge(runtimeLayer))
    const ctx = yield* Layer.build(Supervisor.layer.pipe(Layer.provideMerge(services)))

    const store = Context.get(ctx, InMemoryStateStore.InMemoryStateStoreControl)
    const find = (name: string) =>
      Effect.map(Effect.orDie(store.records), (records) => Option.fromNullable(records.find((b) => b.name === name)))
    return {
      store,
      runtime: Context.get(ctx, InMemoryBoxRuntime.InMemoryBoxRuntimeControl),
      boxRuntime: Context.get(ctx, BoxRuntime),
      stats: Context.get(ctx, MonitorStats.MonitorStats),
      supervisor: Context.get(ctx, Supervisor.Supervisor),
      logs,
      journal,
      events: journal.events,
      find,
      box: (name: string) =>
        Effect.flatMap(find(name), Option.match({
          onNone: () => Effect.dieMessage(`box ${name} is not in the state`),
          onSome: Effect.succeed
        }))
    }
  })

/** Lets every fiber that can run at the current instant run. */
export const settle = TestClock.adjust(Duration.zero)

export const now = Clock.currentTimeMillis

/**
 * Advances the clock in `step`s until `condition` holds; returns the time it first held.
 * Dies if it does not hold within `within`.
 */
export const advanceUntil = (
  condition: Effect.Effect<boolean>,
  options: { readonly step?: Duration.DurationInput; readonly within?: Duration.DurationInput } = {}
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const step = Duration.toMillis(options.step ?? "100 millis")
    const deadline = (yield* now) + Duration.toMillis(options.within ?? "10 minutes")
    yield* settle
    while (!(yield* condition)) {
      if ((yield* now) >= deadline) return yield* Effect.dieMessage("condition did not hold in time")
      yield* TestClock.adjust(Duration.millis(step))
    }
    return yield* now
  })

/** Successful boots of a box so far. */
export const bootsOf = (h: Harness, name: string): Effect.Effect<number> =>
  Effect.map(h.runtime.calls, (calls) => calls.filter((c) => c._tag === "Boot" && c.box === name).length)

export const messages = (h: Harness): ReadonlyArray<string> => h.logs.map((l) => l.message)
