/** The in-memory StateStore's watch (`changes`): what the monitor's TestClock suites run on. */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as InMemoryBoxRuntime from "../../src/runtime/InMemoryBoxRuntime.js"
import * as InMemoryStateStore from "../../src/state/InMemoryStateStore.js"
import { boxRecord } from "./support.js"

const store = (options: InMemoryStateStore.Options = {}) =>
  Effect.provide(InMemoryStateStore.make([], InMemoryStateStore.DEFAULT_PATH, options), InMemoryBoxRuntime.layer)

const tags = (changes: Chunk.Chunk<{ readonly _tag: string }>) => Chunk.toReadonlyArray(changes).map((c) => c._tag)

describe("InMemoryStateStore.changes", () => {
  it.scoped("says Watching, then Changed after each write, put and corruption, and ends with Unwatched when the watch is lost", () =>
    Effect.gen(function*() {
      const s = yield* store()
      const watching = yield* Effect.fork(Stream.runCollect(s.changes))
      yield* TestClock.adjust(0)
      yield* s.modify((records) => [null, [...records, boxRecord("a")]])
      yield* s.modify((records) => [null, records]) // no change: nothing written, nothing reported
      yield* s.put([])
      yield* s.corrupt()
      yield* s.loseWatch
      expect(tags(yield* Fiber.join(watching))).toStrictEqual(["Watching", "Changed", "Changed", "Changed", "Unwatched"])
      // Once lost, a new watch cannot start.
      expect(tags(yield* Stream.runCollect(s.changes))).toStrictEqual(["Unwatched"])
    }))

  it.scoped("built unwatched, it is a lone Unwatched: the caller polls the stamp", () =>
    Effect.gen(function*() {
      const s = yield* store({ watched: false })
      expect(tags(yield* Stream.runCollect(s.changes))).toStrictEqual(["Unwatched"])
      const before = yield* s.stamp
      yield* s.put([boxRecord("b")])
      expect(yield* s.stamp).not.toBe(before)
    }))
})
