import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { type BoxRuntimeShape, ExitWatch } from "../../src/runtime/BoxRuntime.js"
import * as Liveness from "../../src/runtime/Liveness.js"
import { recordIn } from "./support.js"

/** A runtime where processes `alive` (pid -> start time) live, and exit-code files hold `codes` (by box_dir). */
const fakeRuntime = (
  alive: ReadonlyMap<number, number>,
  codes: ReadonlyMap<string, number>,
  batch: boolean,
  calls: Array<string>
): BoxRuntimeShape => {
  const isAlive = (pid: number, startTime: number | null) =>
    Effect.sync(() => {
      calls.push(`isAlive ${pid}`)
      return alive.has(pid) && (startTime === null || alive.get(pid) === startTime)
    })
  // Without `batch`, the runtime answers its one liveness call process by process.
  return {
    boot: () => Effect.die("unused"),
    stop: () => Effect.die("unused"),
    probe: () => Effect.die("unused"),
    watchExit: () => Effect.succeed(ExitWatch.Unwatchable({ reason: "a stub" })),
    liveness: (procs, verify) =>
      batch
        ? Effect.sync(() => {
          calls.push(`areAlive ${procs.length}`)
          return procs.map((p) => alive.has(p.pid) && (!verify || p.startTime === null || alive.get(p.pid) === p.startTime))
        })
        : Effect.forEach(procs, (p) => isAlive(p.pid, verify ? p.startTime : null)),
    exitCode: (box) =>
      Effect.sync(() => {
        calls.push(`exitCode ${box.name}`)
        return Option.fromNullable(codes.get(box.box_dir))
      })
  }
}

const boxes: ReadonlyArray<BoxRecord> = [
  recordIn("/tmp/l", { name: "up", cmd: ["x"], pid: 10, pid_start_time: 100 }),
  recordIn("/tmp/l", { name: "reused", cmd: ["x"], pid: 11, pid_start_time: 999 }),
  recordIn("/tmp/l", { name: "gone", cmd: ["x"], pid: 12, pid_start_time: null }),
  recordIn("/tmp/l", { name: "nopid", cmd: ["x"], pid: null }),
  recordIn("/tmp/l", { name: "known-exit", cmd: ["x"], pid: 13, exit_code: 3 }),
  recordIn("/tmp/l", { name: "no-identity", cmd: ["x"], pid: 11, pid_start_time: null })
]
const alive = new Map([[10, 100], [11, 111]])
const codes = new Map([[boxes[1]!.box_dir, 137], [boxes[3]!.box_dir, 0], [boxes[4]!.box_dir, 9]])

describe("Liveness.observe", () => {
  it.effect("gives the same observations with and without the runtime's batch check", () =>
    Effect.gen(function*() {
      const batchCalls: Array<string> = []
      const singleCalls: Array<string> = []
      const batched = yield* Liveness.observe(fakeRuntime(alive, codes, true, batchCalls), boxes)
      const single = yield* Liveness.observe(fakeRuntime(alive, codes, false, singleCalls), boxes)
      expect(batched).toStrictEqual(single)
      const byName = (name: string) => batched.get(boxes.find((b) => b.name === name)!.id)
      expect(byName("up")).toStrictEqual({ pid: 10, pidStartTime: 100, alive: true, exitCode: null })
      expect(byName("reused")).toStrictEqual({ pid: 11, pidStartTime: 999, alive: false, exitCode: 137 })
      expect(byName("gone")).toStrictEqual({ pid: 12, pidStartTime: null, alive: false, exitCode: null })
      expect(byName("nopid")).toStrictEqual({ pid: null, pidStartTime: null, alive: false, exitCode: 0 })
      // A known exit code is kept by reconcile: its file is not read.
      expect(byName("known-exit")).toStrictEqual({ pid: 13, pidStartTime: null, alive: false, exitCode: null })
      expect(byName("no-identity")?.alive).toBe(true)
      // One batch call for the five boxes with a pid; exit-code files only for the dead with unknown codes.
      expect(batchCalls.filter((c) => c.startsWith("areAlive"))).toStrictEqual(["areAlive 5"])
      expect(batchCalls.filter((c) => c.startsWith("isAlive"))).toStrictEqual([])
      expect(batchCalls.filter((c) => c.startsWith("exitCode")).sort()).toStrictEqual(
        ["exitCode gone", "exitCode nopid", "exitCode reused"]
      )
      expect(singleCalls.filter((c) => c.startsWith("isAlive"))).toHaveLength(5)
    }))

  it.effect("no boxes, no calls", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      expect((yield* Liveness.observe(fakeRuntime(alive, codes, true, calls), [])).size).toBe(0)
      expect(yield* Liveness.aliveAll(fakeRuntime(alive, codes, true, calls), [])).toStrictEqual([])
      expect(yield* Liveness.aliveAll(fakeRuntime(alive, codes, true, calls), [boxes[3]!])).toStrictEqual([false])
      expect(calls).toStrictEqual([])
    }))
})
