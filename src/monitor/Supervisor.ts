import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Backoff from "../domain/Backoff.js"
import { isHealthy } from "../domain/BoxStatus.js"
import { EventJournal } from "../events/EventJournal.js"
import { BoxRuntime } from "../runtime/BoxRuntime.js"
import { StateFileChange, StateStore } from "../state/StateStore.js"
import * as Cycle from "./internal/cycle.js"
import { nameOf, restartFailed } from "./internal/CycleDecision.js"
import * as LivenessTick from "./internal/livenessTick.js"
import { SupervisorEvent } from "./internal/SupervisorEvent.js"
import * as SupervisorState from "./internal/SupervisorState.js"
import * as Workers from "./internal/workers.js"
import { LogRotator } from "./LogRotator.js"
import { MonitorConfig } from "./MonitorConfig.js"
import { MonitorStats } from "./MonitorStats.js"

/**
 * The supervisor (SPEC §3–7): keeps the boxes of one state store alive, for as long as its
 * scope is open.
 *
 * ONE fiber, the owner, holds the supervisor's memory (`internal/SupervisorState.ts`: one value,
 * changed only by its `update`). Everything else sends it events (`internal/SupervisorEvent.ts`)
 * through one queue: the poll schedule (`Schedule.spaced(interval)`: a *full* cycle, which checks
 * every active box's liveness and identity), the state file's watch (`StateStore.changes`), the
 * exit of a box it booted, the liveness tick's pids found gone, probe results and the end of an
 * unhealthy restart's stop. The owner takes every queued event, then runs one poll cycle over
 * them when any asked for one (wake-ups are coalesced; cycles never overlap), starts the health
 * checks that are due and sleeps until the next event or the next due time (a backoff wait's
 * end, a probe, the end of a burst of exits).
 *
 * - A **cycle** (`internal/cycle.ts`) reads the state without the lock, observes, decides (a pure
 *   function: `internal/CycleDecision.ts`), boots every restart at once, then writes it all in ONE
 *   locked update that re-checks each change against the state as it is then. On shutdown the
 *   cycle in progress completes, so a booted box is always recorded.
 * - A burst of exits (a restart storm: many boxes killed at once) arrives over some
 *   milliseconds, as their wrappers get the CPU to report. The first exit asks for a cycle at
 *   once; the others of the burst wait until it has ended (no exit for 5 ms, or 60 ms after it
 *   began), so that they are restarted together by one cycle (one launch, one write).
 * - The **workers** are fibers in FiberMaps keyed by box: exit waiters of the boxes it booted,
 *   exit watches of the others (`BoxRuntime.watchExit`: their wrapper reports the end), health checks (at most
 *   `probeConcurrency` at once, each under a hard timeout) and unhealthy restarts (a graceful
 *   stop, then the box is marked dead under the lock and restarted by a cycle, SPEC §6).
 * - The **liveness tick** (`internal/livenessTick.ts`, 100 ms) polls the pids of active boxes
 *   whose end is neither awaited nor watched, and the state file's stamp while it is not watched.
 *
 * Needs only `StateStore`, `BoxRuntime`, `MonitorConfig`, `MonitorStats`, `EventJournal` (where
 * what it records is told, after each write: issue 14) and the `Clock`; given a `LogRotator`, it
 * tells it the records after each cycle (the logs to keep under their caps: issue 15).
 */
export interface SupervisorShape {
  /** Asks for a poll cycle as soon as possible (coalesced with any already pending). */
  readonly wake: Effect.Effect<void>
}

export class Supervisor extends Context.Tag("a3s-box/Supervisor")<Supervisor, SupervisorShape>() {}

/** A bug must not stop the supervisor: a defect is logged and `fallback` is used. */
const keepGoing = <A, E, R, B>(name: string, effect: Effect.Effect<A, E, R>, fallback: B) =>
  effect.pipe(
    Effect.catchAllDefect((defect) => Effect.as(Effect.logError(`monitor: ${name} failed`, defect), fallback))
  )

export const make: Effect.Effect<
  SupervisorShape,
  never,
  StateStore | BoxRuntime | MonitorConfig | MonitorStats | EventJournal | Scope.Scope
> = Effect.gen(function*() {
  const store = yield* StateStore
  const runtime = yield* BoxRuntime
  const config = yield* MonitorConfig
  const stats = yield* MonitorStats
  const journal = yield* EventJournal
  // Optional: a host's monitor keeps its boxes' logs under their caps (issue 15); in-memory stacks have none.
  const rotator = yield* Effect.serviceOption(LogRotator)
  const backoff = Backoff.machine({ base: config.backoffBase, cap: config.backoffCap, reset: config.backoffReset })

  const events = yield* Queue.unbounded<SupervisorEvent>()
  const offer = (event: SupervisorEvent) => Effect.asVoid(Queue.offer(events, event))
  const exitWaiters = yield* FiberMap.make<string>()
  const exitWatches = yield* FiberMap.make<string>()
  const stops = yield* FiberMap.make<string>()
  const probes = yield* FiberMap.make<string>()
  const timers = yield* FiberSet.make()
  const probeSlots = yield* Effect.makeSemaphore(Math.max(1, config.probeConcurrency))
  const tickPlan = yield* Ref.make(LivenessTick.initialPlan)
  const replanned = yield* Queue.dropping<void>(1)

  const ctx: Cycle.CycleContext = {
    store,
    runtime,
    stats,
    journal,
    backoff,
    offer,
    exitWaiters,
    stops,
    timers,
    unhealthyRestart: (box) => Workers.unhealthyRestart(runtime, store, journal, offer, box)
  }

  /**
   * A cycle runs to its end even when the supervisor is being shut down: the owner waits for
   * it. It is not simply made uninterruptible: races and timeouts inside it (the state lock's
   * wait, a boot's timeout) must still be able to interrupt their losers, so it runs,
   * interruptible, in a daemon fiber of its own that nothing else interrupts. It computes the
   * next state; the owner keeps it.
   */
  const runCycle = (state: SupervisorState.State) =>
    Effect.uninterruptible(Effect.flatMap(
      Effect.forkDaemon(Effect.interruptible(
        keepGoing("poll cycle", Cycle.run(ctx, state), SupervisorState.update(state, SupervisorState.Change.CycleStarted()))
      )),
      Fiber.join
    ))

  /** What an event changes (`duringCycle`: it came while a cycle ran). */
  const handle = (state: SupervisorState.State, event: SupervisorEvent, duringCycle: boolean) =>
    SupervisorEvent.$match(event, {
      Poll: () => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.CycleWanted({ full: true, suspects: [] }))),
      Wake: () => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.CycleWanted({ full: true, suspects: [] }))),
      FileChanged: () =>
        Effect.map(store.stamp ?? Effect.succeed(undefined), (stamp) =>
          SupervisorState.update(state, SupervisorState.Change.StampSeen({ stamp }))),
      WatchStarted: () => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.Watched({ watched: true }))),
      WatchLost: () => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.Watched({ watched: false }))),
      Exited: ({ at, id, pid }) =>
        Effect.succeed(SupervisorState.update(state, SupervisorState.Change.ExitSeen({ id, pid, at, duringCycle }))),
      ExitUnwatchable: ({ id, pid }) =>
        Effect.succeed(SupervisorState.update(state, SupervisorState.Change.ExitsUnwatchable({ runs: [{ id, pid }] }))),
      Gone: ({ ids }) => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.CycleWanted({ full: false, suspects: ids }))),
      Recheck: ({ ids }) => Effect.succeed(SupervisorState.update(state, SupervisorState.Change.CycleWanted({ full: false, suspects: ids }))),
      Probed: ({ at, box, result }) =>
        Effect.gen(function*() {
          const verdict = result._tag === "Healthy" ? "healthy" : "failed"
          yield* stats.probed(verdict === "healthy" ? "healthy" : "unhealthy")
          if (result._tag === "Unhealthy") {
            yield* Effect.logWarning(`monitor: health check of box ${nameOf(box)}) failed: ${result.reason}`).pipe(
              Cycle.aboutBox(box)
            )
          }
          // A failure may make the box unhealthy, a first success changes its status: write it now.
          return SupervisorState.update(state, SupervisorState.Change.Probed({
            report: { box, verdict, at, ...(result._tag === "Unhealthy" ? { output: result.reason } : {}) },
            wantsCycle: verdict === "failed" || !isHealthy(box)
          }))
        }),
      UnhealthyStopped: ({ at, box, killedForHealth, stopFailed }) =>
        Effect.gen(function*() {
          let next = state
          if (stopFailed !== undefined) {
            const failed = restartFailed(next, { box, reason: "unhealthy" }, stopFailed, at, backoff)
            next = failed.state
            yield* stats.restarted("unhealthy", "error")
            yield* Cycle.writeLogs([failed.log])
            yield* journal.append([failed.event])
          }
          return SupervisorState.update(next, SupervisorState.Change.UnhealthyStopDone({ id: box.id, killedForHealth }))
        })
    })

  /**
   * A batch's events in order, except that its unwatchable exits are one change at the end: they
   * touch only the watch maps, which nothing else in a batch reads, and the first cycle at 10,000
   * boxes brings 10,000 of them.
   */
  const handleAll = (state: SupervisorState.State, batch: Iterable<SupervisorEvent>, duringCycle: boolean) =>
    Effect.gen(function*() {
      let next = state
      const unwatchable: Array<{ id: string; pid: number }> = []
      for (const event of batch) {
        if (event._tag === "ExitUnwatchable") unwatchable.push({ id: event.id, pid: event.pid })
        else next = yield* handle(next, event, duringCycle)
      }
      return SupervisorState.update(next, SupervisorState.Change.ExitsUnwatchable({ runs: unwatchable }))
    })

  /** Starts the probes that are due; returns when the next one will be. */
  const startDueProbes = (state: SupervisorState.State) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const { due, next } = Workers.dueProbes(state, now, (id) => FiberMap.unsafeHas(probes, id))
      for (const box of due) {
        yield* FiberMap.run(probes, box.id, Effect.interruptible(Workers.probe(runtime, probeSlots, offer, box)))
      }
      return next
    })

  /**
   * After a cycle: the end of every active box not booted by this monitor is watched (a fiber per
   * box in `exitWatches`), and the watches of boxes no longer active are dropped.
   */
  const watchExits = (state: SupervisorState.State) =>
    Effect.gen(function*() {
      const boxes = SupervisorState.exitsToWatch(state)
      if (boxes.length === 0 && state.exitsWatchedFor === state.known) return state
      const next = SupervisorState.update(state, SupervisorState.Change.ExitsWatched({ boxes }))
      for (const [id] of [...exitWatches]) if (!next.exitWatched.has(id)) yield* FiberMap.remove(exitWatches, id)
      for (const box of boxes) {
        if (box.pid === null) continue
        yield* FiberMap.run(exitWatches, box.id, Effect.interruptible(Workers.awaitExit(runtime, offer, { ...box, pid: box.pid })))
      }
      return next
    })

  const publishPlan = (state: SupervisorState.State, cycling: boolean) =>
    Effect.gen(function*() {
      const previous = yield* Ref.get(tickPlan)
      const plan = LivenessTick.planOf(state, previous, cycling)
      if (plan === previous) return
      yield* Ref.set(tickPlan, plan)
      yield* Queue.offer(replanned, undefined)
    })

  /** The owner: the only fiber that reads or writes the supervisor's state. */
  const owner = Effect.gen(function*() {
    let state = SupervisorState.initial
    let probeAt: number | null = null
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const retryAt = SupervisorState.nextRetryAt(state, now)
      const burstAt = SupervisorState.burstEndsAt(state)
      let batch: Iterable<SupervisorEvent> = []
      if (state.cycleWanted) {
        batch = yield* Queue.takeAll(events)
      } else {
        const deadline = [retryAt, burstAt, probeAt].reduce<number | null>(
          (a, b) => (b === null ? a : a === null ? b : Math.min(a, b)),
          null
        )
        const first = deadline === null
          ? Option.some(yield* Queue.take(events))
          : yield* Effect.timeoutOption(Queue.take(events), Duration.millis(Math.max(0, deadline - now)))
        if (Option.isSome(first)) batch = [first.value, ...(yield* Queue.takeAll(events))]
      }
      state = yield* handleAll(state, batch, false)
      const at = yield* Clock.currentTimeMillis
      const burstEnd = SupervisorState.burstEndsAt(state)
      if (burstEnd !== null && at >= burstEnd) state = SupervisorState.update(state, SupervisorState.Change.BurstEnded())
      if (retryAt !== null && at >= retryAt) {
        state = SupervisorState.update(state, SupervisorState.Change.CycleWanted({ full: false, suspects: [] }))
      }
      if (state.cycleWanted) {
        yield* publishPlan(state, true)
        state = yield* runCycle(state)
        // What came while the cycle ran: the next cycle looks at it.
        state = yield* handleAll(state, yield* Queue.takeAll(events), true)
        state = yield* keepGoing("exit watches", watchExits(state), state)
        if (rotator._tag === "Some") yield* keepGoing("log rotation", rotator.value.track(state.known), undefined)
      }
      yield* publishPlan(state, false)
      probeAt = yield* keepGoing("health checks", startDueProbes(state), null)
    }
  })

  yield* Effect.forkScoped(Stream.runForEach(store.changes, StateFileChange.$match({
    Watching: () => offer(SupervisorEvent.WatchStarted()),
    Changed: () => offer(SupervisorEvent.FileChanged()),
    Unwatched: ({ reason }) => offer(SupervisorEvent.WatchLost({ reason }))
  })))
  yield* Effect.forkScoped(owner)
  yield* Effect.forkScoped(Effect.repeat(offer(SupervisorEvent.Poll()), Schedule.spaced(config.interval)))
  yield* Effect.forkScoped(LivenessTick.run({ every: config.livenessTick, plan: tickPlan, replanned, runtime, store, offer }))

  return { wake: offer(SupervisorEvent.Wake()) }
})

/** The supervisor, running for as long as the layer's scope is open. */
export const layer: Layer.Layer<Supervisor, never, StateStore | BoxRuntime | MonitorConfig | MonitorStats | EventJournal> = Layer
  .scoped(Supervisor, make)
