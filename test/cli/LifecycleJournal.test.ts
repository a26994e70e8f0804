import { describe, expect, it } from "@effect/vitest"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Lifecycle from "../../src/cli/Lifecycle.js"
import type { RunSpec } from "../../src/cli/RunSpec.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import * as InMemoryBoxRuntime from "../../src/runtime/InMemoryBoxRuntime.js"
import * as InMemoryStateStore from "../../src/state/InMemoryStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { makeBox } from "../monitor/boxes.js"

const services = (initial: ReadonlyArray<BoxRecord> = []) =>
  InMemoryStateStore.layer(initial, "/nonexistent/a3s-home/boxes.json").pipe(
    Layer.provideMerge(InMemoryBoxRuntime.layer),
    Layer.provideMerge(FileSystem.layerNoop({}))
  )

const spec: RunSpec = {
  name: "web",
  restartPolicy: "no",
  autoRemove: false,
  env: {},
  baseEnv: { PATH: "/usr/bin:/bin" },
  workdir: "/srv",
  healthCheck: null,
  stopSignal: null,
  stopTimeout: null,
  restartDelay: null,
  restartMaxDelay: null,
  logMaxSize: null,
  logMaxFiles: null,
  cmd: ["sleep", "100"]
}

/** Runs `body` with a fresh in-memory journal; returns what it returned and the events, without seq and time. */
const withJournal = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const journal = yield* InMemoryEventJournal.make
    const result = yield* Effect.provideService(body, EventJournal, journal)
    const events = (yield* journal.events).map(({ seq: _seq, time: _time, ...rest }) => rest)
    return { result, events }
  })

const recordOf = (id: string) => Effect.map(Effect.flatMap(StateStore, (store) => store.snapshot), (all) => all.find((b) => b.id === id)!)

describe("the box commands' events (issue 14)", () => {
  it.effect("run: create, then start with the pid, each once its write succeeded", () =>
    Effect.gen(function*() {
      const { events, result: box } = yield* withJournal(
        Effect.flatMap(Lifecycle.create(spec), (created) => Effect.map(Lifecycle.boot(created), (b) => b.box))
      )
      const about = { box_id: box.id, box_name: "web" }
      expect(events).toEqual([
        { type: "create", ...about, cmd: ["sleep", "100"] },
        { type: "start", ...about, pid: box.pid }
      ])
    }).pipe(Effect.provide(services())))

  it.effect("stop: stop with the exit code, and the record keeps the last exit (SIGTERM: 143)", () =>
    Effect.gen(function*() {
      const { box } = yield* Effect.provideServiceEffect(
        Effect.flatMap(Lifecycle.create(spec), Lifecycle.boot),
        EventJournal,
        InMemoryEventJournal.make
      )
      const { events, result: stopped } = yield* withJournal(Lifecycle.stop(box))
      expect(events).toEqual([{ type: "stop", box_id: box.id, box_name: "web", exit_code: 143 }])
      expect(stopped.last_exit).toEqual({ code: 143, signal: "SIGTERM", at: "1970-01-01T00:00:00.000Z" })
      expect((yield* recordOf(box.id)).last_exit).toEqual(stopped.last_exit)
    }).pipe(Effect.provide(services())))

  it.effect("stop of a dead box: stop, and its last exit is left as the death recorded it", () => {
    const lastExit = { code: 1, signal: null, at: "1970-01-01T00:00:00.000Z" }
    const dead = makeBox({ name: "d", status: "dead", exit_code: 1, last_exit: lastExit })
    return Effect.gen(function*() {
      const { events, result } = yield* withJournal(Lifecycle.stop(dead))
      expect(events).toEqual([{ type: "stop", box_id: dead.id, box_name: "d", exit_code: 1 }])
      expect(result.last_exit).toEqual(lastExit)
      // Already stopped: nothing happens, nothing is journalled.
      expect((yield* withJournal(Lifecycle.stop(result))).events).toEqual([])
    }).pipe(Effect.provide(services([dead])))
  })

  it.effect("restart: stop, then a manual restart (counted in restarts_by_reason.manual only), then start", () => {
    const running = makeBox({ name: "r", status: "dead", restart_count: 2, restarts_by_reason: { crash: 2, unhealthy: 0, manual: 0 } })
    return Effect.gen(function*() {
      const { box } = yield* Effect.provideServiceEffect(Lifecycle.boot(running), EventJournal, InMemoryEventJournal.make)
      const { events, result } = yield* withJournal(
        Effect.flatMap(Lifecycle.stop(box), (stopped) => Lifecycle.start(stopped, { manual: true }))
      )
      const about = { box_id: box.id, box_name: "r" }
      expect(events).toEqual([
        { type: "stop", ...about, exit_code: 143 },
        { type: "restart", ...about, reason: "manual", attempt: 1 },
        { type: "start", ...about, pid: result.pid }
      ])
      expect(result.restart_count).toBe(2)
      expect(result.restarts_by_reason).toEqual({ crash: 2, unhealthy: 0, manual: 1 })
    }).pipe(Effect.provide(services([running])))
  })

  it.effect("rm -f of a running box: stop, then destroy; rm of a box already gone journals nothing", () =>
    Effect.gen(function*() {
      const { box } = yield* Effect.provideServiceEffect(
        Effect.flatMap(Lifecycle.create(spec), Lifecycle.boot),
        EventJournal,
        InMemoryEventJournal.make
      )
      const { events } = yield* withJournal(Lifecycle.remove(box, true))
      expect(events.map((e) => e.type)).toEqual(["stop", "destroy"])
      expect(events[1]).toEqual({ type: "destroy", box_id: box.id, box_name: "web" })
      expect((yield* withJournal(Lifecycle.forget(box))).events).toEqual([])
      expect(Option.isNone(Option.fromNullable((yield* Effect.flatMap(StateStore, (s) => s.snapshot))[0]))).toBe(true)
    }).pipe(Effect.provide(services())))
})
