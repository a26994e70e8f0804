import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Boxes from "../../src/boxes/Boxes.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import * as InMemoryStateStore from "../../src/state/InMemoryStateStore.js"
import { InMemoryStateStoreControl } from "../../src/state/InMemoryStateStore.js"
import { capturedConsole } from "../service/CapturedConsole.js"
import { boxRecord, stubRuntime } from "../state/support.js"

/** Boxes.load over the in-memory store: the same reconcile as over the file store (test/state). */
const services = (alive: (pid: number) => boolean, exitCodes: ReadonlyMap<string, number> = new Map()) =>
  Layer.merge(
    InMemoryStateStore.layer([
      boxRecord("a", { status: "running", pid: 100 }),
      boxRecord("b", { status: "running", pid: 200 }),
      boxRecord("c", { status: "stopped" })
    ]),
    stubRuntime({ isAlive: alive, exitCodes })
  )

describe("Boxes.load", () => {
  it.effect("marks a running box whose process is gone dead, with its exit code, and writes it once", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryStateStoreControl
      const records = yield* Boxes.load
      expect(records.map((r) => [r.id, r.status, r.exit_code])).toStrictEqual([
        ["a", "running", null],
        ["b", "dead", 3],
        ["c", "stopped", null]
      ])
      expect(yield* control.records).toStrictEqual(records)
      expect(yield* control.writes).toBe(1)
      // nothing changed since: nothing written
      yield* Boxes.load
      expect(yield* control.writes).toBe(1)
    }).pipe(Effect.provide(services((pid) => pid === 100, new Map([["b", 3]])))))

  it.effect("journals the deaths it recorded (die with the code and signal; die then destroy for auto_remove), with last_exit", () =>
    Effect.gen(function*() {
      const journal = yield* InMemoryEventJournal.make
      const records = yield* Boxes.load.pipe(Effect.provideService(EventJournal, journal))
      expect(records.find((r) => r.id === "b")!.last_exit).toEqual({ code: 137, signal: "SIGKILL", at: "1970-01-01T00:00:00.000Z" })
      expect((yield* journal.events).map(({ seq: _s, time: _t, ...event }) => event)).toEqual([
        { type: "die", box_id: "b", box_name: "box-b", exit_code: 137, signal: "SIGKILL" },
        { type: "die", box_id: "d", box_name: "box-d", exit_code: null, signal: null },
        { type: "destroy", box_id: "d", box_name: "box-d" }
      ])
      // Nothing died since: nothing more in the journal.
      yield* Boxes.load.pipe(Effect.provideService(EventJournal, journal))
      expect(yield* journal.events).toHaveLength(3)
    }).pipe(Effect.provide(Layer.merge(
      InMemoryStateStore.layer([
        boxRecord("a", { status: "running", pid: 100 }),
        boxRecord("b", { status: "running", pid: 200 }),
        boxRecord("d", { status: "running", pid: 300, auto_remove: true })
      ]),
      stubRuntime({ isAlive: (pid) => pid === 100, exitCodes: new Map([["b", 137]]) })
    ))))

  it.effect("all alive: the records as read, nothing written", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryStateStoreControl
      const before = yield* control.records
      expect(yield* Boxes.load).toBe(before)
      expect(yield* control.writes).toBe(0)
    }).pipe(Effect.provide(services(() => true))))

  it.effect("a store that cannot write: the records reconciled in memory, said once per store", () => {
    const captured = capturedConsole()
    return Effect.gen(function*() {
      const control = yield* InMemoryStateStoreControl
      yield* control.failWrites(true)
      for (let i = 0; i < 2; i++) {
        expect((yield* Boxes.load).map((r) => r.status)).toStrictEqual(["dead", "dead", "stopped"])
      }
      expect(captured.err).toHaveLength(1)
      expect(captured.err[0]).toMatch(/^Warning: cannot write state file .*; showing the boxes as reconciled in memory/)
      expect((yield* control.records).map((r) => r.status)).toStrictEqual(["running", "running", "stopped"])
    }).pipe(Effect.withConsole(captured.console), Effect.provide(services(() => false)))
  })
})
