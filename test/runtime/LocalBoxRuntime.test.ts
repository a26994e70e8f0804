import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { boxEnvironment, DEFAULT_PATH, exitCodePath, parseExitCodeFile } from "../../src/runtime/LocalBoxRuntime.js"

describe("boxEnvironment", () => {
  const host = { PATH: "/host/bin", HOME: "/home/u", USER: "u", LANG: "C.UTF-8", SECRET_TOKEN: "x", EDITOR: "vi" }

  it("takes a small base from the host and leaves the rest of it out", () => {
    expect(boxEnvironment({}, host)).toEqual({ PATH: "/host/bin", HOME: "/home/u", USER: "u", LANG: "C.UTF-8" })
  })

  it("lets the box's env override the base", () => {
    expect(boxEnvironment({ PATH: "/box/bin", FOO: "bar" }, host)).toMatchObject({ PATH: "/box/bin", FOO: "bar", HOME: "/home/u" })
  })

  it("always has a PATH, even from a service manager's empty environment", () => {
    expect(boxEnvironment({}, {})).toEqual({ PATH: DEFAULT_PATH })
    expect(boxEnvironment({}, { PATH: "" })).toEqual({ PATH: DEFAULT_PATH })
  })
})

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
