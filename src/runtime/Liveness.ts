import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BoxRecord } from "../domain/BoxRecord.js"
import type { Liveness, Observations } from "../domain/Reconcile.js"
import type { BoxRuntimeShape, LivenessTarget } from "./BoxRuntime.js"

/** How many exit-code files are read at once. */
const CONCURRENCY = 16

type Proc = LivenessTarget

/**
 * The `liveness` targets for `withPid` (the boxes of `boxes` that have a pid), made once per
 * `boxes` array: the monitor passes the very same array each cycle while the state file is
 * unchanged.
 */
const procsCache = new WeakMap<object, ReadonlyArray<Proc>>()
const procsOf = (
  withPid: ReadonlyArray<Pick<BoxRecord, "pid" | "pid_start_time">>,
  boxes: object
): ReadonlyArray<Proc> => {
  let procs = procsCache.get(boxes)
  if (procs === undefined || procs.length !== withPid.length) {
    procs = withPid.map((box) => ({ pid: box.pid!, startTime: box.pid_start_time }))
    procsCache.set(boxes, procs)
  }
  return procs
}

/**
 * Whether each box's recorded process is alive (SPEC §3), in order: one verified `liveness`
 * batch (a poll cycle checks every active box: one effect per box would cost more than the
 * checks themselves). A box without a pid is not alive.
 */
export const aliveAll = (
  runtime: BoxRuntimeShape,
  boxes: ReadonlyArray<Pick<BoxRecord, "pid" | "pid_start_time">>
): Effect.Effect<ReadonlyArray<boolean>> => {
  const withPid = boxes.filter((box) => box.pid !== null)
  if (withPid.length === 0) return Effect.succeed(boxes.map(() => false))
  return Effect.map(runtime.liveness(procsOf(withPid, boxes), true), (alive) => {
    if (withPid.length === boxes.length) return alive
    let i = 0
    return boxes.map((box) => box.pid !== null && alive[i++] === true)
  })
}

const everyBox = { has: (_id: string) => true }

/**
 * SPEC §3 observations of `boxes` (the active ones of a state): their liveness and, for each
 * found dead with an unknown exit code, the code its exit-code file holds. The rest of the
 * process group of each box found dead is killed first (`BoxRuntime.killRemains`).
 */
export const observe = (runtime: BoxRuntimeShape, boxes: ReadonlyArray<BoxRecord>): Effect.Effect<Observations> =>
  observeDeaths(runtime, boxes, everyBox)

/**
 * Like {@link observe}, but the observations hold only the boxes found dead, plus those of
 * `keep` (by id) whatever was found. An observation of a live box changes nothing in a
 * reconcile (`Reconcile.reconcile`, `Supervision.commitCycle`): a poll cycle over thousands of
 * live boxes need not build one for each. `keep` names the boxes whose live observation does
 * matter to the caller (the supervisor's deaths awaiting their exit code: seen alive, they
 * are awaited no more).
 */
export const observeDeaths = (
  runtime: BoxRuntimeShape,
  boxes: ReadonlyArray<BoxRecord>,
  keep: { readonly has: (id: string) => boolean }
): Effect.Effect<Observations> =>
  Effect.gen(function*() {
    const alive = yield* aliveAll(runtime, boxes)
    const unknownExits: Array<BoxRecord> = []
    const reported: Array<number> = []
    for (let i = 0; i < boxes.length; i++) {
      const box = boxes[i]!
      if (alive[i] === true) {
        if (keep.has(box.id)) reported.push(i)
        continue
      }
      reported.push(i)
      if (box.exit_code === null) unknownExits.push(box)
    }
    const observations = new Map<string, Liveness>()
    if (reported.length === 0) return observations
    // SPEC §12: a box is its process group. What its dead main process left running is killed
    // before anyone records the box dead or restarts it (a child holding its port, say).
    if (runtime.killRemains !== undefined) {
      const dead = boxes.filter((box, i) => alive[i] !== true && box.pid !== null)
      if (dead.length > 0) yield* runtime.killRemains(dead)
    }
    const codes = yield* Effect.forEach(unknownExits, (box) => runtime.exitCode(box), { concurrency: CONCURRENCY })
    const exitCodes = new Map<string, number | null>(
      unknownExits.map((box, i) => [box.id, Option.getOrNull(codes[i] ?? Option.none<number>())])
    )
    for (const i of reported) {
      const box = boxes[i]!
      observations.set(box.id, {
        pid: box.pid,
        pidStartTime: box.pid_start_time,
        alive: alive[i] === true,
        exitCode: exitCodes.get(box.id) ?? null
      })
    }
    return observations
  })
