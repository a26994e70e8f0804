import { describe, expect, it } from "@effect/vitest"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Lifecycle from "../../src/cli/Lifecycle.js"
import type { RunSpec } from "../../src/cli/RunSpec.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { BoxRuntime, StopFailed } from "../../src/runtime/BoxRuntime.js"
import * as InMemoryBoxRuntime from "../../src/runtime/InMemoryBoxRuntime.js"
import * as InMemoryStateStore from "../../src/state/InMemoryStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import { makeBox } from "../monitor/boxes.js"

const HOME = "/nonexistent/a3s-home"

const removed: Array<string> = []
const fileSystem = FileSystem.layerNoop({
  remove: (path) => Effect.sync(() => { removed.push(path) })
})

const servicesWith = <R>(initial: ReadonlyArray<BoxRecord>, runtime: Layer.Layer<R | BoxRuntime>) =>
  InMemoryStateStore.layer(initial, `${HOME}/boxes.json`).pipe(
    Layer.provideMerge(runtime),
    Layer.provideMerge(fileSystem),
    Layer.provideMerge(InMemoryEventJournal.layer)
  )

const services = (initial: ReadonlyArray<BoxRecord> = []) => servicesWith(initial, InMemoryBoxRuntime.layer)

const spec = (overrides: Partial<RunSpec> = {}): RunSpec => ({
  name: null,
  restartPolicy: "no",
  autoRemove: false,
  env: {},
  baseEnv: { PATH: "/usr/bin:/bin", HOME: "/home/u" },
  workdir: "/srv",
  healthCheck: null,
  stopSignal: null,
  stopTimeout: null,
  restartDelay: null,
  restartMaxDelay: null,
  logMaxSize: null,
  logMaxFiles: null,
  cmd: ["sleep", "100"],
  ...overrides
})

const records = Effect.flatMap(StateStore, (store) => store.snapshot)
const recordOf = (id: string) => Effect.map(records, (all) => all.find((box) => box.id === id))

/** Lets forked fibers run (without moving the TestClock) until the box has this status. */
const untilStatus = (id: string, status: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if ((yield* recordOf(id))?.status === status) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`box ${id} never became ${status}`)
  })

describe("Lifecycle.create", () => {
  it.effect("writes a created record with a generated name, short id and box dir under the home", () =>
    Effect.gen(function*() {
      const box = yield* Lifecycle.create(spec({ restartPolicy: "on-failure:3" }))
      expect(box.status).toBe("created")
      expect(box.short_id).toBe(box.id.replaceAll("-", "").slice(0, 12))
      expect(box.name).toMatch(/^[a-z]+_[a-z]+$/)
      expect(box.box_dir).toBe(`${HOME}/boxes/${box.id}`)
      expect(box.console_log).toBe(`${HOME}/boxes/${box.id}/console.log`)
      expect(box.restart_policy).toBe("on-failure:3")
      expect(box.health_status).toBe("none")
      expect(yield* records).toEqual([box])
    }).pipe(Effect.provide(services())))

  it.effect("records the caller's base environment as base_env and the -e values alone as env", () =>
    Effect.gen(function*() {
      const box = yield* Lifecycle.create(spec({ env: { API_KEY: "k" } }))
      expect(box.env).toEqual({ API_KEY: "k" })
      expect(box.base_env).toEqual({ PATH: "/usr/bin:/bin", HOME: "/home/u" })
    }).pipe(Effect.provide(services())))

  it.effect("of two concurrent runs with the same --name exactly one wins", () =>
    Effect.gen(function*() {
      const outcomes = yield* Effect.all(
        Array.from({ length: 8 }, () => Effect.either(Lifecycle.create(spec({ name: "web" })))),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter(Either.isRight)).toHaveLength(1)
      const losers = outcomes.filter(Either.isLeft)
      expect(losers).toHaveLength(7)
      expect(losers[0]!.left.message).toContain("the name 'web' is already in use")
      expect((yield* records).map((box) => box.name)).toEqual(["web"])
    }).pipe(Effect.provide(services())))

  it.effect("gives a box with a health check the status starting", () =>
    Effect.gen(function*() {
      const check = { cmd: ["sh", "-c", "true"], interval_secs: 1, timeout_secs: 1, retries: 1, start_period_secs: 0 }
      const box = yield* Lifecycle.create(spec({ healthCheck: check }))
      expect(box.health_status).toBe("starting")
      expect(box.health_check).toEqual(check)
    }).pipe(Effect.provide(services())))
})

describe("Lifecycle.boot / start", () => {
  /** The in-memory runtime, with boots gated: it notes which boots were released or abandoned. */
  const gatedRuntime = (gates: Array<{ readonly pid: number; readonly options: unknown; state: string }>) =>
    Layer.effect(
      BoxRuntime,
      Effect.map(BoxRuntime, (inner) => ({
        ...inner,
        boot: (box: BoxRecord, options?: { readonly gated?: boolean }) =>
          Effect.map(inner.boot(box, options), (booted) => {
            const gate = { pid: booted.pid, options, state: "held" }
            gates.push(gate)
            return {
              ...booted,
              release: Effect.sync(() => { gate.state = "released" }),
              abandon: Effect.sync(() => { gate.state = "abandoned" })
            }
          })
      }))
    ).pipe(Layer.provideMerge(InMemoryBoxRuntime.layer))

  it.effect("boots gated: the command is released only once the box is recorded", () => {
    const gates: Array<{ readonly pid: number; readonly options: unknown; state: string }> = []
    return Effect.gen(function*() {
      const created = yield* Lifecycle.create(spec())
      const { box } = yield* Lifecycle.boot(created)
      expect(gates).toEqual([{ pid: box.pid, options: { gated: true }, state: "released" }])
    }).pipe(Effect.provide(servicesWith([], gatedRuntime(gates))))
  })

  it.effect("a gated boot that lost the race to another start is abandoned, never released", () => {
    const gates: Array<{ readonly pid: number; readonly options: unknown; state: string }> = []
    const stopped = makeBox({ status: "stopped" })
    return Effect.gen(function*() {
      const store = yield* StateStore
      // Someone else (the monitor) starts the box while this boot is under way.
      yield* store.modify((all) => [undefined, all.map((b) => ({ ...b, status: "running" as const, pid: 777 }))] as const)
      const { box, booted } = yield* Lifecycle.boot(stopped)
      expect(Option.isNone(booted)).toBe(true)
      expect(box.pid).toBe(777)
      expect(gates.map((g) => g.state)).toEqual(["abandoned"])
    }).pipe(Effect.provide(servicesWith([stopped], gatedRuntime(gates))))
  })

  it.effect("records the booted process as running", () =>
    Effect.gen(function*() {
      const created = yield* Lifecycle.create(spec())
      const { box, booted } = yield* Lifecycle.boot(created)
      expect(Option.isSome(booted)).toBe(true)
      expect(box.status).toBe("running")
      expect(box.pid).toBe(InMemoryBoxRuntime.FIRST_PID)
      expect(box.pid_start_time).not.toBeNull()
      expect(box.started_at).not.toBeNull()
      expect(yield* recordOf(created.id)).toEqual(box)
    }).pipe(Effect.provide(services())))

  it.effect("start clears stopped_by_user and the exit code but does not count a restart", () => {
    const dead = makeBox({
      status: "stopped",
      stopped_by_user: true,
      exit_code: 143,
      restart_count: 2,
      started_at: "2020-01-01T00:00:00.000Z"
    })
    return Effect.gen(function*() {
      const box = yield* Lifecycle.start(dead)
      expect(box).toMatchObject({ status: "running", stopped_by_user: false, exit_code: null, restart_count: 2 })
      expect(box.started_at).not.toBe("2020-01-01T00:00:00.000Z")
    }).pipe(Effect.provide(services([dead])))
  })

  it.effect("start leaves a running box alone", () => {
    const running = makeBox({ status: "running", pid: 4242 })
    return Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      expect(yield* Lifecycle.start(running)).toEqual(running)
      expect(yield* control.bootCount).toBe(0)
    }).pipe(Effect.provide(services([running])))
  })

  it.effect("start refuses a box that is being stopped", () => {
    const stopping = makeBox({ status: "stopping", pid: 4242 })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Lifecycle.start(stopping))
      expect(error._tag).toBe("BoxBeingStopped")
    }).pipe(Effect.provide(services([stopping])))
  })

  it.effect("a failed boot changes nothing", () => {
    const dead = makeBox({ status: "dead", exit_code: 1 })
    return Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      yield* control.failNextBoots(1, "no such executable")
      const error = yield* Effect.flip(Lifecycle.start(dead))
      expect(error.message).toContain("no such executable")
      expect(yield* records).toEqual([dead])
    }).pipe(Effect.provide(services([dead])))
  })

  it.effect("a box removed during the boot: the new process is stopped and the command fails", () => {
    const ghost = makeBox({ status: "dead" })
    return Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const error = yield* Effect.flip(Lifecycle.boot(ghost))
      expect(error._tag).toBe("BoxVanished")
      expect(Option.isNone(yield* control.processOf(ghost.id))).toBe(true)
      expect(yield* records).toEqual([])
    }).pipe(Effect.provide(services([])))
  })

  it.effect("a box someone else started meanwhile keeps that run; ours is stopped", () => {
    const theirs = makeBox({ status: "running", pid: 7, pid_start_time: 70 })
    return Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const { box, booted } = yield* Lifecycle.boot({ ...theirs, status: "dead", pid: null, pid_start_time: null })
      expect(Option.isNone(booted)).toBe(true)
      expect(box).toEqual(theirs)
      expect(yield* records).toEqual([theirs])
      expect((yield* control.processes).every((p) => !p.alive)).toBe(true)
    }).pipe(Effect.provide(services([theirs])))
  })
})

describe("Lifecycle.stop", () => {
  it.effect("marks the box stopping (stopped by the user) during the graceful stop, then records stopped", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec({ stopTimeout: 10 })))
      yield* control.ignoreStopSignal(box.id)
      const fiber = yield* Effect.fork(Lifecycle.stop(box))
      yield* untilStatus(box.id, "stopping")
      yield* TestClock.adjust("5 seconds")
      expect(yield* recordOf(box.id)).toMatchObject({ status: "stopping", stopped_by_user: true, pid: box.pid })
      yield* TestClock.adjust("5 seconds")
      const stopped = yield* Fiber.join(fiber)
      expect(stopped).toMatchObject({ status: "stopped", stopped_by_user: true, pid: null, pid_start_time: null, exit_code: 137 })
      expect(yield* recordOf(box.id)).toEqual(stopped)
    }).pipe(Effect.provide(services())))

  it.effect("-t overrides the box's stop timeout", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec({ stopTimeout: 60 })))
      yield* control.ignoreStopSignal(box.id)
      const fiber = yield* Effect.fork(Lifecycle.stop(box, Option.some(1)))
      yield* untilStatus(box.id, "stopping")
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).exit_code).toBe(137)
    }).pipe(Effect.provide(services())))

  it.effect("records the exit code of the stop signal", () =>
    Effect.gen(function*() {
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec()))
      expect((yield* Lifecycle.stop(box)).exit_code).toBe(143)
    }).pipe(Effect.provide(services())))

  it.effect("does not overwrite a box that was restarted while it was being stopped", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const store = yield* StateStore
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec({ stopTimeout: 10 })))
      yield* control.ignoreStopSignal(box.id)
      const fiber = yield* Effect.fork(Lifecycle.stop(box))
      yield* untilStatus(box.id, "stopping")
      yield* TestClock.adjust("1 second")
      const again = { ...box, status: "running", pid: 999, pid_start_time: 9990 }
      yield* store.modify((all) => [undefined, all.map((b) => (b.id === box.id ? again : b))] as const)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(yield* recordOf(box.id)).toEqual(again)
    }).pipe(Effect.provide(services())))

  it.effect("leaves a box that is not running as it is", () => {
    const stopped = makeBox({ status: "stopped", exit_code: 0 })
    return Effect.gen(function*() {
      expect(yield* Lifecycle.stop(stopped)).toEqual(stopped)
      expect(yield* records).toEqual([stopped])
      expect(yield* Lifecycle.stopWithOutcome(stopped)).toEqual({ box: stopped, already: true })
    }).pipe(Effect.provide(services([stopped])))
  })

  it.effect.each(["dead", "created"])("records a %s box (which the monitor could start) stopped by the user at once", (status) => {
    const box = makeBox({ status, exit_code: status === "dead" ? 1 : null, restart_policy: "always" })
    return Effect.gen(function*() {
      const outcome = yield* Lifecycle.stopWithOutcome(box)
      const expected = { ...box, status: "stopped", stopped_by_user: true, pid: null, pid_start_time: null }
      expect(outcome).toEqual({ box: expected, already: false })
      expect(yield* records).toEqual([expected])
    }).pipe(Effect.provide(services([box])))
  })

  it.effect("a created box stopped while `run` boots it stays stopped: the boot is dropped", () => {
    const created = makeBox({ status: "created" })
    /** What runs while the box boots (set below, where the services are at hand). */
    let duringBoot: Effect.Effect<void> = Effect.void
    const stopDuringBoot = Layer.effect(
      BoxRuntime,
      Effect.map(BoxRuntime, (inner) => ({
        ...inner,
        boot: (box: BoxRecord, options?: { readonly gated?: boolean }) =>
          Effect.zipLeft(inner.boot(box, options), Effect.suspend(() => duringBoot))
      }))
    ).pipe(Layer.provideMerge(InMemoryBoxRuntime.layer))
    return Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const store = yield* StateStore
      const runtime = yield* BoxRuntime
      const journal = yield* EventJournal
      duringBoot = Lifecycle.stop(created).pipe(
        Effect.provideService(StateStore, store),
        Effect.provideService(BoxRuntime, runtime),
        Effect.provideService(EventJournal, journal),
        Effect.orDie,
        Effect.asVoid
      )
      const { box, booted } = yield* Lifecycle.boot(created)
      expect(Option.isNone(booted)).toBe(true)
      expect(box).toMatchObject({ status: "stopped", stopped_by_user: true })
      expect(yield* records).toEqual([box])
      expect((yield* control.processes).map((p) => p.alive)).toEqual([false])
    }).pipe(Effect.provide(servicesWith([created], stopDuringBoot)))
  })

  it.effect("a failed stop gives the record its former status back", () => {
    const running = makeBox({ status: "running", pid: 4242, pid_start_time: 1 })
    const failingStop = Layer.effect(
      BoxRuntime,
      Effect.map(InMemoryBoxRuntime.make, ({ runtime }) => ({
        ...runtime,
        stop: (box: BoxRecord) => Effect.fail(new StopFailed({ box: box.name, reason: "EPERM" }))
      }))
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Lifecycle.stop(running))
      expect(error.message).toContain("EPERM")
      expect(yield* records).toEqual([running])
    }).pipe(Effect.provide(servicesWith([running], failingStop)))
  })
})

describe("Lifecycle.remove", () => {
  it.effect("refuses a running box without force, and changes nothing", () => {
    const running = makeBox({ status: "running", pid: 4242 })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Lifecycle.remove(running, false))
      expect(error.message).toContain(`box ${running.name} is running: stop it first`)
      expect(yield* records).toEqual([running])
    }).pipe(Effect.provide(services([running])))
  })

  it.effect("with force stops the box first, then removes the record and its directory", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec()))
      removed.length = 0
      yield* Lifecycle.remove(box, true)
      expect(yield* records).toEqual([])
      expect(Option.isNone(yield* control.processOf(box.id))).toBe(true)
      expect(removed).toEqual([box.box_dir])
    }).pipe(Effect.provide(services())))

  it.effect("never deletes a box directory outside the home", () => {
    const foreign = makeBox({ status: "dead", box_dir: "/srv/data" })
    return Effect.gen(function*() {
      removed.length = 0
      yield* Lifecycle.remove(foreign, false)
      expect(yield* records).toEqual([])
      expect(removed).toEqual([])
    }).pipe(Effect.provide(services([foreign])))
  })
})

describe("Lifecycle.isOwnBoxDir", () => {
  it.each([
    [`${HOME}/boxes/abc`, true],
    [`${HOME}/boxes/abc/`, true],
    [`${HOME}/boxes`, false],
    [`${HOME}/boxes/abc/def`, false],
    [`${HOME}/boxes/../boxes.json`, false],
    [`${HOME}`, false],
    ["/", false],
    ["/srv/boxes/abc", false]
  ])("%s: %s", (dir, own) => {
    expect(Lifecycle.isOwnBoxDir(HOME, dir)).toBe(own)
  })
})

describe("interruption", () => {
  it.effect("an interrupted stop still stops the box and records it", () =>
    Effect.gen(function*() {
      const control = yield* InMemoryBoxRuntime.InMemoryBoxRuntimeControl
      const { box } = yield* Lifecycle.boot(yield* Lifecycle.create(spec({ stopTimeout: 10 })))
      yield* control.ignoreStopSignal(box.id)
      const fiber = yield* Effect.fork(Lifecycle.stop(box))
      yield* untilStatus(box.id, "stopping")
      yield* TestClock.adjust("1 second")
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      expect(yield* recordOf(box.id)).toMatchObject({ status: "stopping" })
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.join(interrupting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      // The interrupt waited for the stop to end and be recorded.
      expect(yield* recordOf(box.id)).toMatchObject({ status: "stopped", exit_code: 137 })
    }).pipe(Effect.provide(services())))
})
