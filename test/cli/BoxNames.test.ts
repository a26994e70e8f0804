import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as BoxNames from "../../src/cli/BoxNames.js"

describe("BoxNames.generate", () => {
  it("is a valid adjective_surname name picked from the id", () => {
    fc.assert(fc.property(fc.uuid(), (id) => {
      const name = BoxNames.generate(id, new Set())
      expect(name).toMatch(/^[a-z]+_[a-z]+$/)
      expect(BoxNames.isValidName(name)).toBe(true)
      expect(BoxNames.generate(id, new Set())).toBe(name)
    }))
  })

  it("never returns a taken name", () => {
    const id = "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23"
    const base = BoxNames.generate(id, new Set())
    expect(BoxNames.generate(id, new Set([base]))).toBe(`${base}_2`)
    expect(BoxNames.generate(id, new Set([base, `${base}_2`]))).toBe(`${base}_3`)
  })
})

describe("BoxNames.isValidName", () => {
  it.each(["web", "w", "web-1", "a.b_c", "9lives"])("accepts %s", (name) => {
    expect(BoxNames.isValidName(name)).toBe(true)
  })
  it.each(["", "-web", ".hidden", "_x", "has space", "slash/y", "ünicode"])("rejects %j", (name) => {
    expect(BoxNames.isValidName(name)).toBe(false)
  })
})
