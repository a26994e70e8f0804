import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseStateFile } from "../../src/domain/StateFileCodec.js"
import * as BoxRef from "../../src/cli/BoxRef.js"
import { makeBox } from "../monitor/boxes.js"

const fixture = (() => {
  const parsed = parseStateFile(fs.readFileSync(path.join(__dirname, "../domain/fixtures/boxes.json"), "utf8"))
  if (Either.isLeft(parsed)) throw new Error("fixture does not parse")
  return parsed.right.records
})()

const resolvedName = (ref: string, records = fixture) =>
  Either.match(BoxRef.resolve(records, ref), { onLeft: (error) => error._tag, onRight: (box) => box.name })

describe("BoxRef.resolve", () => {
  it.each([
    ["calm_turing", "calm_turing"],
    ["3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23", "calm_turing"],
    ["3f2b8c1e7a4d", "calm_turing"],
    ["3f2b", "calm_turing"],
    ["3F2B8C", "calm_turing"],
    ["3f2b8c1e-7a", "calm_turing"],
    ["3f2b8c1e7a4d4e2b", "calm_turing"],
    ["9", "brave_hopper"],
    ["keen_dijkstra", "keen_dijkstra"]
  ])("%s names %s", (ref, name) => {
    expect(resolvedName(ref)).toBe(name)
  })

  it("an unknown reference is an error naming it", () => {
    const result = BoxRef.resolve(fixture, "nosuchbox")
    expect(Either.isLeft(result) && result.left._tag).toBe("NoSuchBox")
    if (Either.isLeft(result)) expect(result.left.message).toContain("no such box: nosuchbox")
  })

  it("an empty reference is an error", () => {
    expect(resolvedName("")).toBe("NoSuchBox")
  })

  it("a name is never matched by prefix", () => {
    expect(resolvedName("calm")).toBe("NoSuchBox")
  })

  it("an ambiguous prefix is an error listing every match", () => {
    const a = makeBox({ id: "abcd1111-0000-4000-8000-000000000001", name: "first" })
    const b = makeBox({ id: "abcd2222-0000-4000-8000-000000000002", name: "second" })
    const result = BoxRef.resolve([a, b], "abcd")
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("AmbiguousBox")
      expect(result.left.message).toContain("first (abcd11110000)")
      expect(result.left.message).toContain("second (abcd22220000)")
    }
    expect(resolvedName("abcd1", [a, b])).toBe("first")
  })

  it("an exact name wins over an id prefix, an exact id over a name", () => {
    const a = makeBox({ id: "beef0000-0000-4000-8000-000000000001", name: "x1" })
    const named = makeBox({ id: "cafe0000-0000-4000-8000-000000000002", name: "beef" })
    expect(resolvedName("beef", [a, named])).toBe("beef")
    const sneaky = makeBox({ id: "dead0000-0000-4000-8000-000000000003", name: a.id })
    expect(resolvedName(a.id, [sneaky, a])).toBe("x1")
  })
})

describe("BoxRef.findById", () => {
  it("finds only the exact id", () => {
    expect(BoxRef.findById(fixture, "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23")?.name).toBe("calm_turing")
    expect(BoxRef.findById(fixture, "3f2b")).toBeUndefined()
  })
})
