import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { countRestart, lastExitOf, markDead, restartsByReasonOf } from "../../src/domain/BoxRecord.js"
import { signalOfExitCode } from "../../src/domain/ExitSignal.js"
import { reconcile } from "../../src/domain/Reconcile.js"
import { parseStateFile, renderStateFile } from "../../src/domain/StateFileCodec.js"
import { makeBox } from "../monitor/boxes.js"

describe("ExitSignal.signalOfExitCode: 128 + N is a death by signal N", () => {
  it.each([
    [137, "SIGKILL"],
    [143, "SIGTERM"],
    [130, "SIGINT"],
    [134, "SIGABRT"]
  ])("%i is %s", (code, signal) => {
    expect(signalOfExitCode(code)).toBe(signal)
  })

  it.each([null, 0, 1, 125, 128, 255, 193, -1, 137.5])("%s is no signal", (code) => {
    expect(signalOfExitCode(code)).toBeNull()
  })
})

describe("BoxRecord: last_exit and restarts_by_reason (issue 14)", () => {
  it("an older record has neither: null and zeros, and is written back without them", () => {
    const text = JSON.stringify([{ ...makeBox({ name: "old" }), last_exit: undefined, restarts_by_reason: undefined }])
    const parsed = Either.getOrThrow(parseStateFile(text))
    const box = parsed.records[0]!
    expect(lastExitOf(box)).toBeNull()
    expect(restartsByReasonOf(box)).toEqual({ crash: 0, unhealthy: 0, manual: 0 })
    const written = JSON.parse(renderStateFile(parsed.records, parsed.raw)) as Array<Record<string, unknown>>
    expect(Object.hasOwn(written[0]!, "last_exit")).toBe(false)
    expect(Object.hasOwn(written[0]!, "restarts_by_reason")).toBe(false)
  })

  it("a newer record keeps them; a partial count gets zeros for the reasons it lacks", () => {
    const last_exit = { code: 137, signal: "SIGKILL", at: "2026-01-01T00:00:00.000Z" }
    const text = JSON.stringify([{ ...makeBox({ name: "new" }), last_exit, restarts_by_reason: { crash: 2 } }])
    const box = Either.getOrThrow(parseStateFile(text)).records[0]!
    expect(box.last_exit).toEqual(last_exit)
    expect(box.restarts_by_reason).toEqual({ crash: 2, unhealthy: 0, manual: 0 })
  })

  it("a malformed last_exit makes the record invalid, naming the field", () => {
    const text = JSON.stringify([{ ...makeBox({ name: "bad" }), last_exit: { code: "x" } }])
    const parsed = Either.getOrThrow(parseStateFile(text))
    expect(parsed.records).toEqual([])
    expect(parsed.invalid[0]!.field).toContain("last_exit")
  })

  it("countRestart adds one for its reason", () => {
    expect(countRestart(makeBox(), "unhealthy")).toEqual({ crash: 0, unhealthy: 1, manual: 0 })
    expect(countRestart(makeBox({ restarts_by_reason: { crash: 1, unhealthy: 1, manual: 4 } }), "manual"))
      .toEqual({ crash: 1, unhealthy: 1, manual: 5 })
  })

  it("markDead with the time of the death sets last_exit (the code it keeps, its signal); without, leaves it", () => {
    const box = makeBox({ status: "running", pid: 5 })
    expect(markDead(box, 137, Date.parse("2026-01-01T00:00:00Z")).last_exit).toEqual({
      code: 137,
      signal: "SIGKILL",
      at: "2026-01-01T00:00:00.000Z"
    })
    expect(markDead(box, 137).last_exit).toBeUndefined()
  })

  it("reconcile at a time records each death's last exit", () => {
    const box = makeBox({ status: "running", pid: 5, pid_start_time: 1 })
    const observed = new Map([[box.id, { pid: 5, pidStartTime: 1, alive: false, exitCode: 2 }]])
    const result = reconcile([box], observed, 1_000)
    expect(result.died[0]!.last_exit).toEqual({ code: 2, signal: null, at: "1970-01-01T00:00:01.000Z" })
  })
})
