/**
 * What an idle supervisor does between poll cycles: the liveness tick polls only the processes
 * whose death would otherwise go unnoticed, and sleeps when there are none and the state file is
 * watched.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as SupervisorState from "../../src/monitor/internal/SupervisorState.js"
import { type BoxRuntimeShape, ExitWatch } from "../../src/runtime/BoxRuntime.js"
import { StateFileChange, type StateStoreShape } from "../../src/state/StateStore.js"
import { makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, settle, start } from "./harness.js"

const tickConfig = { interval: Duration.seconds(60), livenessTick: Duration.millis(100) }

/** Every pid list the runtime's cheap check (unverified liveness: the liveness tick's) was asked about. */
const countingPidsExist = (asked: Array<ReadonlyArray<number>>) => (runtime: BoxRuntimeShape): BoxRuntimeShape => ({
  ...runtime,
  liveness: (targets, verify) => {
    if (!verify) asked.push(targets.map((t) => t.pid))
    return runtime.liveness(targets, verify)
  }
})

const cycles = (h: Harness) => Effect.map(h.stats.snapshot, (s) => s.cycleDurations.count)

const booted = (h: Harness, name: string) => Effect.map(bootsOf(h, name), (n) => n >= 1)

/** A running box of a process the monitor did not boot (`run -d`). */
const foreign = (h: Harness, name: string, pid: number) =>
  Effect.map(h.runtime.occupyPid(pid), (proc): BoxRecord =>
    makeBox({ name, status: "running", pid: proc.pid, pid_start_time: proc.startTime }))

describe("Supervisor: the liveness tick", () => {
  it.scoped("does not poll a box the monitor booted (its exit is an event); polls one it did not boot", () =>
    Effect.gen(function*() {
      const asked: Array<ReadonlyArray<number>> = []
      const h = yield* start([makeBox({ name: "own", status: "dead", exit_code: 1, restart_policy: "always" })], {
        config: tickConfig,
        wrapRuntime: countingPidsExist(asked)
      })
      yield* advanceUntil(booted(h, "own"), { step: "10 millis" })
      const own = yield* h.box("own")
      yield* TestClock.adjust("2 seconds")
      expect(asked.filter((pids) => pids.includes(own.pid!))).toEqual([])

      // Another command starts a box: the tick polls its pid, never the monitor's own box.
      const ext = yield* foreign(h, "ext", 4242)
      yield* h.store.put([own, ext])
      asked.length = 0
      yield* TestClock.adjust("1 second")
      expect(asked.length).toBeGreaterThan(0)
      for (const pids of asked) expect(pids).toEqual([4242])

      // The monitor's own box still comes back at once when it dies (exit event, no tick).
      yield* h.runtime.killBox("own", 1)
      yield* advanceUntil(Effect.map(bootsOf(h, "own"), (n) => n >= 2), { step: "10 millis", within: "1 second" })
    }))

  it.scoped("does not poll a box another process booted whose wrapper reports its end (run -d, issue 13): its death is an event, restarted at once", () =>
    Effect.gen(function*() {
      const asked: Array<ReadonlyArray<number>> = []
      const h = yield* start([], { config: tickConfig, wrapRuntime: countingPidsExist(asked) })
      yield* settle
      // `run -d` booted it: the same runtime, but not this supervisor (no exit waiter of its own).
      const spec = makeBox({ name: "detached", status: "created", restart_policy: "always" })
      const process = yield* h.boxRuntime.boot(spec)
      yield* h.store.put([{ ...spec, status: "running", pid: process.pid, pid_start_time: process.pidStartTime }])
      yield* h.supervisor.wake
      yield* TestClock.adjust("2 seconds")
      expect(asked.filter((pids) => pids.includes(process.pid))).toEqual([])

      // Killed: its end is an event, so it is back well before the next poll cycle (60 s) with
      // the tick never having asked about it.
      yield* h.runtime.kill(process.pid, 137)
      yield* advanceUntil(Effect.map(bootsOf(h, "detached"), (n) => n >= 2), { step: "10 millis", within: "1 second" })
      expect(asked.filter((pids) => pids.includes(process.pid))).toEqual([])
      expect((yield* h.box("detached")).restart_count).toBe(1)
    }))

  it.scoped("sleeps while the state file is watched and no pid needs polling; a reported change wakes a full cycle at once; a lost watch brings the polling back", () =>
    Effect.gen(function*() {
      let stamps = 0
      // The watch's reports, as a test plays them: a change (maybe of nothing), then the loss.
      const reports = yield* Queue.unbounded<StateFileChange>()
      const handlers: { onChange?: () => void; onLost?: () => void } = {}
      const asked: Array<ReadonlyArray<number>> = []
      const h = yield* start([makeBox({ name: "own", status: "dead", exit_code: 1, restart_policy: "always" })], {
        config: tickConfig,
        wrapRuntime: countingPidsExist(asked),
        wrapStore: (store: StateStoreShape): StateStoreShape => ({
          ...store,
          stamp: Effect.suspend(() => {
            stamps++
            return store.stamp!
          }),
          changes: Stream.suspend(() => {
            handlers.onChange = () => reports.unsafeOffer(StateFileChange.Changed())
            handlers.onLost = () => reports.unsafeOffer(StateFileChange.Unwatched({ reason: "the home went away" }))
            return Stream.concat(
              Stream.make(StateFileChange.Watching()),
              Stream.fromQueue(reports).pipe(Stream.takeUntil(StateFileChange.$is("Unwatched")))
            )
          })
        })
      })
      yield* advanceUntil(booted(h, "own"), { step: "10 millis" })
      expect(handlers.onChange).toBeDefined()
      yield* TestClock.adjust("1 second")

      // Idle: no stat of the state file, no pid polled, no cycle, for as long as nothing happens.
      const [stampsBefore, cyclesBefore] = [stamps, yield* cycles(h)]
      yield* TestClock.adjust("30 seconds")
      expect(stamps - stampsBefore).toBe(0)
      expect(asked).toEqual([])
      expect(yield* cycles(h)).toBe(cyclesBefore)

      // Another command writes the file: the watch reports it, a full cycle runs at once.
      const own = yield* h.box("own")
      const ext = yield* foreign(h, "ext", 4242)
      yield* h.store.put([own, ext])
      handlers.onChange!()
      yield* settle
      expect(yield* cycles(h)).toBe(cyclesBefore + 1)
      // A change reported again with the file unchanged (our own write, another name) is no cycle.
      handlers.onChange!()
      yield* settle
      expect(yield* cycles(h)).toBe(cyclesBefore + 1)
      // The new box is not the monitor's child: now the tick polls it (and only it).
      yield* TestClock.adjust("1 second")
      expect(asked.length).toBeGreaterThan(0)
      for (const pids of asked) expect(pids).toEqual([4242])

      // The watch is lost (the home directory went away): the tick polls the stamp again.
      handlers.onLost!()
      yield* h.store.put([own])
      const lostAt = stamps
      yield* TestClock.adjust("200 millis")
      expect(stamps).toBeGreaterThan(lostAt)
      expect(yield* cycles(h)).toBe(cyclesBefore + 2)
    }))

  it.scoped("on the in-memory store's own watch: another command's write is seen at once, without polling; once the watch is lost, by the tick's stat", () =>
    Effect.gen(function*() {
      const h = yield* start([], { config: tickConfig })
      yield* settle
      // Watched: a new box to restart is booted with no time passing (no tick, no poll).
      yield* h.store.put([makeBox({ name: "first", status: "dead", exit_code: 1, restart_policy: "always" })])
      yield* settle
      expect(yield* bootsOf(h, "first")).toBe(1)
      // The watch is lost: the next write is seen by the tick's stat of the stamp, within a tick or two.
      yield* h.store.loseWatch
      yield* settle
      const first = yield* h.box("first")
      yield* h.store.put([first, makeBox({ name: "second", status: "dead", exit_code: 1, restart_policy: "always" })])
      yield* settle
      expect(yield* bootsOf(h, "second")).toBe(0)
      yield* advanceUntil(Effect.map(bootsOf(h, "second"), (n) => n === 1), { step: "10 millis", within: "300 millis" })
    }))
})

describe("Supervisor: boxes whose end is an event are checked only at the identity sweep (issue 13)", () => {
  /** The runtime's verified liveness asks (a cycle's check), and a watch that never reports: a wrapper killed with SIGKILL. */
  const silentWatches = (verified: Array<ReadonlyArray<number>>) => (runtime: BoxRuntimeShape): BoxRuntimeShape => ({
    ...runtime,
    liveness: (targets, verify) => {
      if (verify) verified.push(targets.map((t) => t.pid))
      return runtime.liveness(targets, verify)
    },
    watchExit: () => Effect.succeed(ExitWatch.Watching({ ended: Effect.never }))
  })

  it.scoped("a watched box is left out of the poll cycles between sweeps; its silent death is found by the sweep, within IDENTITY_SWEEP_MS", () =>
    Effect.gen(function*() {
      const verified: Array<ReadonlyArray<number>> = []
      const h = yield* start([], {
        config: { interval: Duration.seconds(5), livenessTick: Duration.millis(100) },
        wrapRuntime: silentWatches(verified)
      })
      yield* settle
      // `run -d` booted it: not this supervisor's child, so its end is watched.
      const spec = makeBox({ name: "detached", status: "created", restart_policy: "always" })
      const process = yield* h.boxRuntime.boot(spec)
      yield* h.store.put([{ ...spec, status: "running", pid: process.pid, pid_start_time: process.pidStartTime }])
      yield* h.supervisor.wake
      yield* settle
      const asks = () => verified.filter((pids) => pids.includes(process.pid)).length
      // The first sweep (the monitor's first cycle, before the box was watched) checked it: from
      // now on, poll cycles every 5 s leave it out.
      const before = asks()
      expect(before).toBeGreaterThan(0)
      yield* TestClock.adjust("30 seconds")
      expect(asks()).toBe(before)

      // It dies and nothing reports it: not restarted by the poll cycles, but by the sweep.
      yield* h.runtime.kill(process.pid, 137)
      yield* TestClock.adjust("20 seconds")
      expect(yield* bootsOf(h, "detached")).toBe(1)
      yield* advanceUntil(Effect.map(bootsOf(h, "detached"), (n) => n >= 2), {
        step: "1 second",
        within: Duration.millis(SupervisorState.IDENTITY_SWEEP_MS)
      })
      expect(asks()).toBe(before + 1)
    }))
})
