import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as ThrottledLog from "../../src/platform/ThrottledLog.js"

describe("ThrottledLog", () => {
  it.effect("logs a key at once, then at most once per minute while it repeats; another key at once", () =>
    Effect.gen(function*() {
      const lines = yield* Ref.make<ReadonlyArray<string>>([])
      const throttle = yield* ThrottledLog.make()
      const say = (key: string) => throttle.log(key, Ref.update(lines, (l) => [...l, key]))
      expect(yield* say("disk full")).toBe(true)
      expect(yield* say("disk full")).toBe(false)
      yield* TestClock.adjust("59 seconds")
      expect(yield* say("disk full")).toBe(false)
      expect(yield* say("permission denied")).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* say("disk full")).toBe(true)
      expect(yield* say("permission denied")).toBe(false)
      expect(yield* Ref.get(lines)).toEqual(["disk full", "permission denied", "disk full"])
    }))

  it.effect("clear makes the next failure news again; the period can be set", () =>
    Effect.gen(function*() {
      const throttle = yield* ThrottledLog.make("10 seconds")
      expect(yield* throttle.log("x", Effect.void)).toBe(true)
      expect(yield* throttle.log("x", Effect.void)).toBe(false)
      yield* throttle.clear
      expect(yield* throttle.log("x", Effect.void)).toBe(true)
      yield* TestClock.adjust("10 seconds")
      expect(yield* throttle.log("x", Effect.void)).toBe(true)
    }))

  it("isDue: the same rule for a caller that keeps the last time itself (the supervisor's state)", () => {
    expect(ThrottledLog.isDue(undefined, 0)).toBe(true)
    expect(ThrottledLog.isDue(1_000, 60_999)).toBe(false)
    expect(ThrottledLog.isDue(1_000, 61_000)).toBe(true)
    expect(ThrottledLog.isDue(1_000, 1_500, "1 second")).toBe(false)
    expect(ThrottledLog.isDue(1_000, 2_000, "1 second")).toBe(true)
  })
})
