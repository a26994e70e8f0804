import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { BoxRuntime, type BoxRuntimeShape } from "../../src/runtime/BoxRuntime.js"
import * as InMemory from "../../src/runtime/InMemoryBoxRuntime.js"
import { recordIn } from "./support.js"

/** One verified liveness answer. */
const isAlive = (runtime: BoxRuntimeShape, pid: number, startTime: number | null) =>
  Effect.map(runtime.liveness([{ pid, startTime }], true), ([alive]) => alive === true)

const box = (fields: Record<string, unknown> = {}) => recordIn("/fake", { cmd: ["sleep", "30"], ...fields })
const withFake = <A, E>(effect: Effect.Effect<A, E, BoxRuntime | InMemory.InMemoryBoxRuntimeControl>) =>
  Effect.provide(effect, InMemory.layer)

describe("InMemoryBoxRuntime", () => {
  it.effect("boot assigns increasing pids and distinct start times; the boxes are alive", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const a = yield* runtime.boot(box())
      const b = yield* runtime.boot(box())
      expect(a.pid).toBe(InMemory.FIRST_PID)
      expect(b.pid).toBe(a.pid + 1)
      expect(a.pidStartTime).not.toBe(b.pidStartTime)
      expect(yield* isAlive(runtime, a.pid, a.pidStartTime)).toBe(true)
      expect(yield* isAlive(runtime, a.pid, null)).toBe(true)
      expect(yield* isAlive(runtime, a.pid, b.pidStartTime)).toBe(false)
      expect(yield* control.bootCount).toBe(2)
    })))

  it.effect("failNextBoots fails exactly the next N boots", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      yield* control.failNextBoots(2, "disk full")
      const record = box()
      const first = yield* Effect.exit(runtime.boot(record))
      const second = yield* Effect.exit(runtime.boot(record))
      const third = yield* Effect.exit(runtime.boot(record))
      expect(Exit.isFailure(first) && Exit.isFailure(second) && Exit.isSuccess(third)).toBe(true)
      expect(String(Exit.isFailure(first) ? first.cause : "")).toContain(`cannot start box ${record.name}: disk full`)
      expect(yield* control.bootCount).toBe(1)
      expect((yield* control.calls).map((c) => c._tag)).toEqual(["BootFailed", "BootFailed", "Boot"])
    })))

  it.effect("kill ends the process: exited completes, the exit code file is written, the pid is dead", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box()
      const booted = yield* runtime.boot(record)
      const waiting = yield* Effect.fork(booted.exited)
      yield* TestClock.adjust(0)
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* control.kill(booted.pid, 137)
      expect(yield* Fiber.join(waiting)).toBe(137)
      expect(yield* runtime.exitCode(record)).toEqual(Option.some(137))
      expect(yield* isAlive(runtime, booted.pid, booted.pidStartTime)).toBe(false)
      expect(yield* runtime.liveness([{ pid: booted.pid, startTime: null }], false)).toEqual([false])
      // a new boot clears the stale exit code
      yield* runtime.boot(record)
      expect(yield* runtime.exitCode(record)).toEqual(Option.none())
      yield* control.killBox(record.name, 3)
      expect(yield* runtime.exitCode(record)).toEqual(Option.some(3))
    })))

  it.effect("stop ends the box with 128 + its stop signal", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const record = box({ stop_signal: "INT" })
      const booted = yield* runtime.boot(record)
      const running = { ...record, pid: booted.pid, pid_start_time: booted.pidStartTime }
      expect(yield* runtime.stop(running)).toEqual(Option.some(130))
      expect(yield* booted.exited).toBe(130)
      expect(yield* runtime.stop(running)).toEqual(Option.some(130)) // already dead: not an error
    })))

  it.effect("a box that ignores its stop signal is SIGKILLed after its stop timeout (TestClock)", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box({ stop_timeout: 7 })
      yield* control.ignoreStopSignal(record.name)
      const booted = yield* runtime.boot(record)
      const stopping = yield* Effect.fork(runtime.stop({ ...record, pid: booted.pid, pid_start_time: booted.pidStartTime }))
      yield* TestClock.adjust("6 seconds")
      expect(Option.isNone(yield* Fiber.poll(stopping))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(stopping)).toEqual(Option.some(137))
    })))

  it.effect("stop never touches a reused pid", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box()
      const booted = yield* runtime.boot(record)
      yield* control.kill(booted.pid, 0)
      const foreign = yield* control.occupyPid(booted.pid)
      expect(foreign.startTime).not.toBe(booted.pidStartTime)
      expect(yield* isAlive(runtime, booted.pid, booted.pidStartTime)).toBe(false)
      expect(yield* runtime.stop({ ...record, pid: booted.pid, pid_start_time: booted.pidStartTime })).toEqual(Option.some(0))
      expect(yield* isAlive(runtime, foreign.pid, foreign.startTime)).toBe(true)
      // the next boot does not hand out the occupied pid twice
      const next = yield* runtime.boot(box())
      expect(next.pid).not.toBe(foreign.pid)
    })))

  it.effect("probes are healthy unless scripted; a script list is consumed and its last entry stays", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box({ health_check: { cmd: ["check"] } })
      expect(yield* runtime.probe(record)).toEqual(InMemory.Healthy)
      yield* control.setProbe(record.id, [InMemory.Unhealthy("down"), InMemory.Healthy])
      expect(yield* runtime.probe(record)).toEqual(InMemory.Unhealthy("down"))
      expect(yield* runtime.probe(record)).toEqual(InMemory.Healthy)
      expect(yield* runtime.probe(record)).toEqual(InMemory.Healthy)
      expect((yield* control.calls).filter((c) => c._tag === "Probe")).toHaveLength(4)
    })))

  it.effect("a hanging probe ends at its timeout_secs, driven by TestClock", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box({ health_check: { cmd: ["check"], timeout_secs: 5 } })
      yield* control.setProbe(record.name, InMemory.Hang)
      const probing = yield* Effect.fork(runtime.probe(record))
      yield* TestClock.adjust("4 seconds")
      expect(Option.isNone(yield* Fiber.poll(probing))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(probing)).toEqual(InMemory.Unhealthy("health check timed out after 5s"))
    })))

  it.effect("a slow probe answers after its delay when that is within the timeout", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const record = box({ health_check: { cmd: ["check"], timeout_secs: 5 } })
      yield* control.setProbe(record.name, { _tag: "Slow", seconds: 2, result: InMemory.Unhealthy("503") })
      const probing = yield* Effect.fork(runtime.probe(record))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(probing)).toEqual(InMemory.Unhealthy("503"))
    })))

  it.effect("liveness answers a batch in order: verified, a reused pid is not the box's; unverified, it only has to exist", () =>
    withFake(Effect.gen(function*() {
      const runtime = yield* BoxRuntime
      const control = yield* InMemory.InMemoryBoxRuntimeControl
      const up = yield* runtime.boot(box())
      const reused = yield* runtime.boot(box())
      const gone = yield* runtime.boot(box())
      yield* control.kill(reused.pid, 137)
      yield* control.kill(gone.pid, 0)
      yield* control.occupyPid(reused.pid)
      const targets = [up, reused, gone].map((b) => ({ pid: b.pid, startTime: b.pidStartTime }))
      expect(yield* runtime.liveness(targets, true)).toStrictEqual([true, false, false])
      expect(yield* runtime.liveness(targets, false)).toStrictEqual([true, true, false])
      expect(yield* runtime.liveness([], true)).toStrictEqual([])
    })))
})
