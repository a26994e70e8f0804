/** The poll cycle's cheap forms of SPEC §3 checks: deaths-only observations, and one /proc read per distinct process. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { reconcile } from "../../src/domain/Reconcile.js"
import { type BoxRuntimeShape, ExitWatch } from "../../src/runtime/BoxRuntime.js"
import * as Liveness from "../../src/runtime/Liveness.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { recordIn } from "./support.js"

const alive = new Map([[10, 100], [11, 111]])
const boxes: ReadonlyArray<BoxRecord> = [
  recordIn("/tmp/ld", { name: "up", cmd: ["x"], pid: 10, pid_start_time: 100 }),
  recordIn("/tmp/ld", { name: "reused", cmd: ["x"], pid: 11, pid_start_time: 999 }),
  recordIn("/tmp/ld", { name: "gone", cmd: ["x"], pid: 12, pid_start_time: null }),
  recordIn("/tmp/ld", { name: "nopid", cmd: ["x"], pid: null }),
  recordIn("/tmp/ld", { name: "known-exit", cmd: ["x"], pid: 13, exit_code: 3 }),
  recordIn("/tmp/ld", { name: "also-up", cmd: ["x"], pid: 11, pid_start_time: 111 })
]
const codes = new Map([[boxes[1]!.box_dir, 137], [boxes[3]!.box_dir, 0]])

const runtime = (calls: Array<string>): BoxRuntimeShape => ({
  boot: () => Effect.die("unused"),
  stop: () => Effect.die("unused"),
  probe: () => Effect.die("unused"),
  watchExit: () => Effect.succeed(ExitWatch.Unwatchable({ reason: "a stub" })),
  liveness: (procs, verify) =>
    Effect.sync(() =>
      procs.map((p) => alive.has(p.pid) && (!verify || p.startTime === null || alive.get(p.pid) === p.startTime))
    ),
  exitCode: (box) =>
    Effect.sync(() => {
      calls.push(box.name)
      return Option.fromNullable(codes.get(box.box_dir))
    })
})

describe("Liveness.observeDeaths", () => {
  it.effect("holds exactly observe's observations of the dead boxes, plus the live ones asked for", () =>
    Effect.gen(function*() {
      const all = yield* Liveness.observe(runtime([]), boxes)
      const calls: Array<string> = []
      const deaths = yield* Liveness.observeDeaths(runtime(calls), boxes, new Set([boxes[5]!.id]))
      const expected = new Map([...all].filter(([id, l]) => !l.alive || id === boxes[5]!.id))
      expect(deaths).toStrictEqual(expected)
      expect([...deaths.keys()].map((id) => boxes.find((b) => b.id === id)!.name).sort()).toStrictEqual(
        ["also-up", "gone", "known-exit", "nopid", "reused"]
      )
      // Exit-code files read only for the dead with an unknown code, as observe does.
      expect(calls.sort()).toStrictEqual(["gone", "nopid", "reused"])
      // And a reconcile over them gives the same records as over every observation.
      expect(reconcile(boxes, deaths)).toStrictEqual(reconcile(boxes, all))
    }))

  it.effect("all alive: no observation, no exit-code read, and reconcile returns the very same array", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const live = [boxes[0]!, boxes[5]!]
      const deaths = yield* Liveness.observeDeaths(runtime(calls), live, new Set())
      expect(deaths.size).toBe(0)
      expect(calls).toStrictEqual([])
      const result = reconcile(live, yield* Liveness.observe(runtime([]), live))
      expect(result.changed).toBe(false)
      expect(result.records).toBe(live)
    }))
})

describe("Liveness.observeDeaths: a box is its process group", () => {
  it.effect("has what is left of each dead box's group killed before the deaths are returned, and nothing else", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const withGroups: BoxRuntimeShape = {
        ...runtime(events),
        killRemains: (dead) => Effect.sync(() => events.push(`kill ${dead.map((b) => b.name).join(",")}`))
      }
      yield* Liveness.observeDeaths(withGroups, boxes, new Set())
      // The dead boxes with a pid (a box without one has no group), before any exit code is read.
      expect(events[0]).toBe("kill reused,gone,known-exit")
      expect(events.slice(1).sort()).toStrictEqual(["gone", "nopid", "reused"])
      events.length = 0
      yield* Liveness.observeDeaths(withGroups, [boxes[0]!, boxes[5]!], new Set())
      expect(events).toStrictEqual([])
    }))
})

describe("ProcessInfo.aliveBatch", () => {
  it("reads each distinct process once and answers every entry in order", () => {
    const reads: Array<string> = []
    const check = (pid: number, startTime: number | null) => {
      reads.push(`${pid}:${startTime}`)
      return alive.has(pid) && (startTime === null || alive.get(pid) === startTime)
    }
    const procs = [
      { pid: 10, startTime: 100 },
      { pid: 11, startTime: 999 },
      { pid: 10, startTime: 100 },
      { pid: 11, startTime: 111 },
      { pid: 11, startTime: 999 },
      { pid: 12, startTime: null },
      { pid: 12, startTime: null }
    ]
    const answers = ProcessInfo.aliveBatch(procs, check)
    // The same pid with another start time is read again (at most one of them is right).
    expect(reads).toStrictEqual(["10:100", "11:999", "11:111", "12:null"])
    expect(answers).toStrictEqual(procs.map((p) => check(p.pid, p.startTime)))
    expect(answers).toStrictEqual([true, false, true, true, false, false, false])
  })

  it("on Linux, answers as isAlive does for live, reused and missing pids", () =>
    Effect.gen(function*() {
      if (process.platform !== "linux") return
      const self = Option.getOrThrow(yield* ProcessInfo.readProcessInfo(process.pid))
      const procs = [
        { pid: process.pid, startTime: self.startTime },
        { pid: process.pid, startTime: self.startTime + 1 },
        { pid: process.pid, startTime: null },
        { pid: 2 ** 22 + 12345, startTime: null }
      ]
      const batch = yield* ProcessInfo.areAlive([...procs, ...procs])
      const single = yield* Effect.forEach([...procs, ...procs], (p) => ProcessInfo.isAlive(p.pid, p.startTime))
      expect(batch).toStrictEqual(single)
      expect(batch.slice(0, 4)).toStrictEqual([true, false, true, false])
    }).pipe(Effect.runPromise))
})
