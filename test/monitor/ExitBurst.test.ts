import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { BoxRuntimeShape } from "../../src/runtime/BoxRuntime.js"
import { makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, start } from "./harness.js"

/** Boots that take 10 ms (of the test clock): a cycle that boots is still running meanwhile. */
const slowBoots = {
  wrapRuntime: (runtime: BoxRuntimeShape): BoxRuntimeShape => ({
    ...runtime,
    boot: (box, options) => Effect.zipRight(Effect.sleep("10 millis"), runtime.boot(box, options))
  })
}

const names = ["a", "b", "c", "d", "e"]
const startedAt = (h: Harness, name: string) => Effect.map(h.box(name), (b) => b.started_at)

describe("Supervisor: a burst of exits", () => {
  it.scoped("exits arriving while a restart cycle runs are restarted together once the burst has ended", () =>
    Effect.gen(function*() {
      const h = yield* start(names.map((name) => makeBox({ name, status: "dead" })), slowBoots)
      for (const name of names) yield* advanceUntil(Effect.map(bootsOf(h, name), (n) => n === 1), { step: "1 millis" })
      // Up long enough for the backoff to reset: each crash is restarted at once.
      yield* TestClock.adjust("31 seconds")
      // a dies; then b..e every 4 ms, while the cycle restarting a (10 ms) runs and after it.
      yield* h.runtime.killBox("a", 137)
      for (const name of names.slice(1)) {
        yield* TestClock.adjust("4 millis")
        yield* h.runtime.killBox(name, 137)
      }
      for (const name of names) yield* advanceUntil(Effect.map(bootsOf(h, name), (n) => n === 2), { step: "1 millis" })
      // a alone (its cycle started at once), then b..e in one cycle: one write, one start time.
      const times = yield* Effect.forEach(names, (name) => startedAt(h, name))
      expect(new Set(times.slice(1)).size).toBe(1)
      expect(times[0]).not.toBe(times[1])
    }))

  it.scoped("a lone exit is restarted at once", () =>
    Effect.gen(function*() {
      const h = yield* start(names.map((name) => makeBox({ name, status: "dead" })), slowBoots)
      for (const name of names) yield* advanceUntil(Effect.map(bootsOf(h, name), (n) => n === 1), { step: "1 millis" })
      yield* TestClock.adjust("31 seconds")
      yield* h.runtime.killBox("a", 137)
      const killedAt = yield* TestClock.currentTimeMillis
      // Restarted by a cycle that began at once: its boot (10 ms) is the only wait.
      const back = yield* advanceUntil(Effect.map(bootsOf(h, "a"), (n) => n === 2), { step: "1 millis" })
      expect(back - killedAt).toBe(10)
    }))
})
