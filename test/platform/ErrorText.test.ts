import { SystemError } from "@effect/platform/Error"
import { describe, expect, it } from "vitest"
import { errnoCode, errorText, isNotFound } from "../../src/platform/ErrorText.js"

describe("ErrorText", () => {
  it("errorText reads the message of errors and error-like values, else the string", () => {
    expect(errorText(new Error("boom"))).toBe("boom")
    expect(errorText({ message: "like an error" })).toBe("like an error")
    expect(errorText("plain")).toBe("plain")
    expect(errorText(42)).toBe("42")
    expect(errorText(null)).toBe("null")
  })

  it("isNotFound: a platform NotFound or a Node ENOENT, nothing else", () => {
    const platform = (reason: "NotFound" | "PermissionDenied") =>
      new SystemError({ reason, module: "FileSystem", method: "readFile", pathOrDescriptor: "/x" })
    expect(isNotFound(platform("NotFound"))).toBe(true)
    expect(isNotFound(platform("PermissionDenied"))).toBe(false)
    expect(isNotFound(Object.assign(new Error("no such file"), { code: "ENOENT" }))).toBe(true)
    expect(isNotFound(Object.assign(new Error("exists"), { code: "EEXIST" }))).toBe(false)
    expect(isNotFound("ENOENT")).toBe(false)
    expect(isNotFound(undefined)).toBe(false)
    expect(errnoCode(Object.assign(new Error("x"), { code: "EACCES" }))).toBe("EACCES")
    expect(errnoCode(new Error("x"))).toBeUndefined()
  })
})
