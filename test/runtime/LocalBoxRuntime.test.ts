import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { exitCodePath, parseExitCodeFile } from "../../src/runtime/LocalBoxRuntime.js"

describe("exit_code file", () => {
  it("lives in the box dir", () => {
    expect(exitCodePath({ box_dir: "/h/boxes/abc" })).toBe("/h/boxes/abc/exit_code")
  })

  it.each([["0\n", 0], ["137\n", 137], [" 3 ", 3], ["-1", -1]])("reads %j", (text, code) => {
    expect(parseExitCodeFile(text)).toEqual(Option.some(code))
  })

  it.each(["", "\n", "abc", "1.5", "12abc", "1 2", "NaN", "Infinity"])("rejects %j", (text) => {
    expect(parseExitCodeFile(text)).toEqual(Option.none())
  })
})
