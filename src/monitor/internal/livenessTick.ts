/**
 * The short liveness tick (every `MonitorConfig.livenessTick`, 100 ms): checks that the pids of
 * active boxes whose end is not an event still exist (unverified liveness: `kill(pid, 0)`; a box
 * the monitor booted is its child, and the end of one its wrapper reports is watched: both are in
 * `exitWatched`), and stats the state file while it is not watched.
 * What it finds goes to the owner as events; identity (pid start time) is verified by the cycle.
 * With nothing to poll it sleeps until the owner gives it a new plan: an idle monitor whose state
 * file is watched wakes only for its poll cycles.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import { type BoxRecord, isActive } from "../../domain/BoxRecord.js"
import type { BoxRuntimeShape, LivenessTarget } from "../../runtime/BoxRuntime.js"
import type { StateStoreShape } from "../../state/StateStore.js"
import { SupervisorEvent } from "./SupervisorEvent.js"
import type { State } from "./SupervisorState.js"

/** What the tick polls, as the owner last planned it. */
export interface TickPlan {
  /** The records the plan was made from: a new array, a new plan (what was found gone is forgotten). */
  readonly from: ReadonlyArray<BoxRecord>
  /** The exits awaited when it was made (those boxes are not polled). */
  readonly exitWatched: ReadonlyMap<string, number>
  readonly ids: ReadonlyArray<string>
  readonly targets: ReadonlyArray<LivenessTarget>
  /** The state file is not watched: its stamp is polled, and compared with `stamp`. */
  readonly pollStamp: boolean
  readonly stamp: string | undefined
  /** A cycle runs: the tick waits for its end (what it would find, the cycle looks at). */
  readonly cycling: boolean
}

export const initialPlan: TickPlan = { from: [], exitWatched: new Map(), ids: [], targets: [], pollStamp: true, stamp: undefined, cycling: false }

/** Whether the plan gives the tick anything to do. */
const needed = (plan: TickPlan): boolean => plan.pollStamp || plan.targets.length > 0

/** The plan for `state`: `previous` itself when nothing it is made of changed. */
export const planOf = (state: State, previous: TickPlan, cycling: boolean): TickPlan => {
  const pollStamp = !state.fileWatched
  if (
    previous.from === state.known && previous.pollStamp === pollStamp && previous.stamp === state.lastStamp &&
    previous.cycling === cycling && previous.exitWatched === state.exitWatched
  ) return previous
  if (previous.from === state.known && previous.exitWatched === state.exitWatched) {
    return { ...previous, pollStamp, stamp: state.lastStamp, cycling }
  }
  const ids: Array<string> = []
  const targets: Array<LivenessTarget> = []
  for (const box of state.known) {
    if (!isActive(box) || box.pid === null || state.exitWatched.get(box.id) === box.pid) continue
    ids.push(box.id)
    targets.push({ pid: box.pid, startTime: null })
  }
  return { from: state.known, exitWatched: state.exitWatched, ids, targets, pollStamp, stamp: state.lastStamp, cycling }
}

/**
 * The tick's loop. A bare sleep loop rather than a Schedule: at ten ticks a second, the
 * schedule's own bookkeeping would be a measurable share of the tick's CPU budget.
 */
export const run = (options: {
  readonly every: Duration.Duration
  readonly plan: Ref.Ref<TickPlan>
  readonly replanned: Queue.Dequeue<void>
  readonly runtime: BoxRuntimeShape
  readonly store: StateStoreShape
  readonly offer: (event: SupervisorEvent) => Effect.Effect<void>
}): Effect.Effect<never> =>
  Effect.gen(function*() {
    const { offer, runtime, store } = options
    // The tick's own memory: what it already reported, so it is reported once.
    let reportedFrom: ReadonlyArray<BoxRecord> | undefined
    const reported = new Set<string>()
    let reportedStamp: string | undefined
    const tick = (plan: TickPlan) =>
      Effect.gen(function*() {
        if (plan.cycling) return
        if (plan.pollStamp && store.stamp !== undefined) {
          const stamp = yield* store.stamp
          if (plan.stamp !== undefined && stamp !== plan.stamp && stamp !== reportedStamp) {
            reportedStamp = stamp
            return yield* offer(SupervisorEvent.FileChanged())
          }
        }
        if (plan.targets.length === 0) return
        if (reportedFrom !== plan.from) {
          reportedFrom = plan.from
          reported.clear()
        }
        const answers = yield* runtime.liveness(plan.targets, false)
        const gone: Array<string> = []
        for (let i = 0; i < plan.ids.length; i++) {
          const id = plan.ids[i]!
          if (answers[i] === false && !reported.has(id)) {
            reported.add(id)
            gone.push(id)
          }
        }
        if (gone.length > 0) yield* offer(SupervisorEvent.Gone({ ids: gone }))
      }).pipe(Effect.catchAllDefect((defect) => Effect.logError("monitor: liveness tick failed", defect)))
    const every = Duration.max(options.every, Duration.millis(1))
    while (true) {
      const plan = yield* Ref.get(options.plan)
      if (!needed(plan)) {
        yield* Queue.take(options.replanned)
        continue
      }
      yield* tick(plan)
      yield* Effect.sleep(every)
    }
  })
