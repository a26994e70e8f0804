import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  BASE_ENV_KEYS,
  baseEnvironment,
  bootEnvironment,
  boxEnvironment,
  DEFAULT_PATH,
  invalidNameReason
} from "../../src/domain/BoxEnvironment.js"

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

describe("baseEnvironment (what `run` records as base_env)", () => {
  it("keeps exactly the base keys the caller has, PATH defaulted", () => {
    expect(baseEnvironment({ PATH: "/extra:/usr/bin", HOME: "/root", TZ: "UTC", API_KEY: "s3cret", OTHER: undefined })).toEqual({
      PATH: "/extra:/usr/bin",
      HOME: "/root",
      TZ: "UTC"
    })
    expect(baseEnvironment({ HOME: "/root" })).toEqual({ HOME: "/root", PATH: DEFAULT_PATH })
  })
})

describe("bootEnvironment", () => {
  const creator = { PATH: "/pyenv/shims:/usr/bin", HOME: "/root", USER: "root", LANG: "C.UTF-8" }
  const monitor = { PATH: "/usr/bin:/bin", INVOCATION_ID: "abc" }

  it("every boot of a box sees the environment fixed at its creation, whoever boots it", () => {
    const box = { env: { API_KEY: "k" }, base_env: baseEnvironment(creator) }
    const first = bootEnvironment(box, creator)
    expect(first).toEqual({ ...creator, API_KEY: "k" })
    // A monitor started by a service manager (or `env -i`), or any other booting process:
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...BASE_ENV_KEYS, "FOO"), fc.string()), (booting) => {
        expect(bootEnvironment(box, booting)).toEqual(first)
      })
    )
    expect(bootEnvironment(box, monitor)).toEqual(first)
  })

  it("-e values go on top of the recorded base", () => {
    expect(bootEnvironment({ env: { PATH: "/mine", HOME: "/h" }, base_env: { PATH: "/p", HOME: "/root", USER: "u" } }, monitor))
      .toEqual({ PATH: "/mine", HOME: "/h", USER: "u" })
  })

  it("a recorded base without PATH still boots with one (never the booting process's)", () => {
    expect(bootEnvironment({ env: {}, base_env: { HOME: "/root" } }, monitor)).toEqual({ HOME: "/root", PATH: DEFAULT_PATH })
  })

  it("a record of an older tool (no base_env) boots with the booting process's base, env on top", () => {
    expect(bootEnvironment({ env: { FOO: "1" }, base_env: null }, monitor)).toEqual({ PATH: "/usr/bin:/bin", FOO: "1" })
    expect(bootEnvironment({ env: { FOO: "1" }, base_env: null }, creator)).toEqual({ ...creator, FOO: "1" })
  })
})

describe("invalidNameReason", () => {
  it.each(["A", "_x", "PATH", "my.var", "a-b", "ünï", "__proto__"])("accepts %j", (key) => {
    expect(invalidNameReason(key)).toBeUndefined()
  })

  it.each([
    ["", "the variable name is empty"],
    ["A=B", "the variable name contains '='"],
    ["A\nB", "the variable name contains a newline"],
    ["A\0B", "the variable name contains a NUL byte"],
    ["A\rB", "the variable name contains the control character U+000D"],
    ["A\u007fB", "the variable name contains the control character U+007F"]
  ])("rejects %j", (key, reason) => {
    expect(invalidNameReason(key)).toBe(reason)
  })
})
