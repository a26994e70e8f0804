import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { exitCodeOfSignal, parseSignal, signalName } from "../../src/runtime/Signal.js"

describe("parseSignal", () => {
  it.each(["SIGTERM", "TERM", "sigterm", "term", " SIGTERM ", "15", 15])("reads %j as SIGTERM", (input) => {
    expect(parseSignal(input)).toEqual(Option.some({ name: "SIGTERM", number: 15 }))
  })

  it.each([["SIGKILL", 9], ["INT", 2], ["HUP", 1], ["QUIT", 3], ["USR1", 10], ["9", 9]])("reads %s", (input, n) => {
    expect(Option.map(parseSignal(input), (s) => s.number)).toEqual(Option.some(n))
  })

  it.each(["", "SIG", "FOO", "SIGFOO", "0", "999", "-15", "15.5", "TERM!"])("rejects %j", (input) => {
    expect(parseSignal(input)).toEqual(Option.none())
  })

  it("names signals and their exit codes", () => {
    expect(signalName(9)).toBe("SIGKILL")
    expect(signalName(999)).toBe("signal 999")
    expect(exitCodeOfSignal({ name: "SIGKILL", number: 9 })).toBe(137)
    expect(exitCodeOfSignal({ name: "SIGTERM", number: 15 })).toBe(143)
  })
})
