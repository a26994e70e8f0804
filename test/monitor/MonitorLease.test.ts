import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"

const holder = (pid: number, overrides: Partial<MonitorLease.LeaseHolder> = {}): MonitorLease.LeaseHolder => ({
  pid,
  pidStartTime: 4242,
  host: "here",
  acquiredAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  ...overrides
})

/** Captures log messages of the current scope (forked fibers inherit the logger). */
const captureLogs = Effect.gen(function*() {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  yield* Effect.locallyScopedWith(FiberRef.currentLoggers, () => HashSet.make(logger))
  return lines
})

const settle = TestClock.adjust(Duration.zero)

/** Holds the lease of `pid` on `host` in a scope of its own; returns the scope and the held lease (or the failure). */
const holdIn = (host: MonitorLease.MemoryLeaseHost, pid: number, options: MonitorLease.HoldOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const lease = yield* host.make(pid)
    const fiber = yield* MonitorLease.hold(options).pipe(
      Effect.provideService(MonitorLease.MonitorLease, lease),
      Scope.extend(scope),
      Effect.fork
    )
    return { scope, fiber }
  })

describe("MonitorLease: the lease file", () => {
  it("round-trips a holder through the file format", () => {
    const h = holder(123)
    const text = MonitorLease.renderLease(h)
    expect(JSON.parse(text)).toEqual({ pid: 123, pid_start_time: 4242, host: "here", acquired_at: "2026-01-02T03:04:05.000Z" })
    expect(MonitorLease.parseLease(text)).toEqual(Either.right(h))
    expect(MonitorLease.parseLease(MonitorLease.renderLease({ ...h, pidStartTime: null }))).toEqual(
      Either.right({ ...h, pidStartTime: null })
    )
  })

  it.each([
    ["empty", ""],
    ["not JSON", "{pid: 1"],
    ["an array", "[]"],
    ["pid 0", JSON.stringify({ pid: 0, pid_start_time: null, host: "h", acquired_at: "2026-01-01T00:00:00Z" })],
    ["fractional pid", JSON.stringify({ pid: 1.5, pid_start_time: null, host: "h", acquired_at: "2026-01-01T00:00:00Z" })],
    ["no host", JSON.stringify({ pid: 1, pid_start_time: null, acquired_at: "2026-01-01T00:00:00Z" })],
    ["bad time", JSON.stringify({ pid: 1, pid_start_time: null, host: "h", acquired_at: "yesterday" })]
  ])("rejects a lease file that is %s", (_, text) => {
    expect(Either.isLeft(MonitorLease.parseLease(text))).toBe(true)
  })

  it("identity is pid, start time and host, not the acquisition time", () => {
    expect(MonitorLease.sameHolder(holder(1), holder(1, { acquiredAt: 0 }))).toBe(true)
    expect(MonitorLease.sameHolder(holder(1), holder(2))).toBe(false)
    expect(MonitorLease.sameHolder(holder(1), holder(1, { pidStartTime: 1 }))).toBe(false)
    expect(MonitorLease.sameHolder(holder(1), holder(1, { host: "there" }))).toBe(false)
  })
})

describe("MonitorLease: the claim decision", () => {
  const me = holder(7)
  it("a live holder makes the lease busy; checkable only on this host", () => {
    expect(MonitorLease.decideClaim({ _tag: "Found", holder: holder(1) }, true, me, "here")).toEqual({
      _tag: "Busy",
      holder: holder(1),
      checkable: true
    })
    const remote = holder(1, { host: "there" })
    expect(MonitorLease.decideClaim({ _tag: "Found", holder: remote }, true, me, "here")).toMatchObject({
      _tag: "Busy",
      checkable: false
    })
  })

  it("a missing, corrupt or dead lease is claimed; a dead holder is reported as the previous one", () => {
    expect(MonitorLease.decideClaim({ _tag: "Missing" }, false, me, "here")).toEqual({
      _tag: "Claimed",
      holder: me,
      previous: Option.none()
    })
    expect(MonitorLease.decideClaim({ _tag: "Corrupt", detail: "x" }, false, me, "here")).toEqual({
      _tag: "Claimed",
      holder: me,
      previous: Option.none()
    })
    expect(MonitorLease.decideClaim({ _tag: "Found", holder: holder(1) }, false, me, "here")).toEqual({
      _tag: "Claimed",
      holder: me,
      previous: Option.some(holder(1))
    })
  })

  it("the error names the running monitor's pid and the two ways out", () => {
    const error = new MonitorLease.MonitorAlreadyRunning({ home: "/h", holder: holder(4711), checkable: true })
    expect(error.message).toBe(
      "another a3s-box monitor (pid 4711, since 2026-01-02T03:04:05.000Z) is already supervising /h: only one monitor may run per home. Stop it first (kill 4711), or start this one with --standby to take over when it exits"
    )
    const remote = new MonitorLease.MonitorAlreadyRunning({ home: "/h", holder: holder(4711, { host: "b" }), checkable: false })
    expect(remote.message).toContain("pid 4711 on host b")
    expect(remote.message).toContain("remove /h/monitor.lease")
  })

  it("a standby looks at the lease at least once a second, and every interval when shorter", () => {
    expect(Duration.toMillis(MonitorLease.standbyPoll(Duration.seconds(5)))).toBe(1000)
    expect(Duration.toMillis(MonitorLease.standbyPoll(Duration.millis(300)))).toBe(300)
  })
})

describe("MonitorLease: holding it (in-memory host, TestClock)", () => {
  it.scoped("the first monitor takes the lease; a second exits at once naming the first; release frees it", () =>
    Effect.gen(function*() {
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false })
      const held = yield* Fiber.join(first.fiber)
      expect(held.holder.pid).toBe(1)
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 1 } })

      const second = yield* holdIn(host, 2, { standby: false })
      const error = yield* Effect.flip(Fiber.join(second.fiber))
      expect(error._tag).toBe("MonitorAlreadyRunning")
      expect(error.message).toContain("(pid 1, since 1970-01-01T00:00:00.000Z) is already supervising memory")
      // The loser changed nothing.
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 1 } })

      yield* Scope.close(first.scope, Exit.void)
      expect(yield* host.file).toEqual({ _tag: "Missing" })
      const third = yield* holdIn(host, 3, { standby: false })
      expect((yield* Fiber.join(third.fiber)).holder.pid).toBe(3)
    }))

  it.scoped("a holder killed without releasing (SIGKILL) is taken over at once, and named as the previous one", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false })
      yield* Fiber.join(first.fiber)
      yield* host.kill(1)
      const second = yield* holdIn(host, 2, { standby: false })
      const held = yield* Fiber.join(second.fiber)
      expect(held.previous).toEqual(Option.some(expect.objectContaining({ pid: 1 })))
      expect(logs).toContain("monitor: the previous monitor of memory (pid 1) is gone; taking over its lease")
    }))

  it.scoped("a standby waits quietly and takes over within one poll of the holder's death", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false })
      yield* Fiber.join(first.fiber)
      const standby = yield* holdIn(host, 2, { standby: true, poll: "1 second" })
      yield* settle
      for (let i = 0; i < 30; i++) yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* Fiber.poll(standby.fiber))).toBe(true)
      // One line while waiting, not one per poll.
      expect(logs.filter((l) => l.includes("standby"))).toEqual([
        "monitor: standby: pid 1 is supervising memory; this monitor takes over when it exits"
      ])

      yield* host.kill(1)
      yield* TestClock.adjust("1 second")
      const held = yield* Fiber.join(standby.fiber)
      expect(held.holder.pid).toBe(2)
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 2 } })
      expect(logs).toContain(
        "monitor: standby: pid 1 is gone; this monitor (pid 2) takes over supervision of memory"
      )
    }))

  it.scoped("a standby interrupted while waiting leaves the lease alone", () =>
    Effect.gen(function*() {
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false })
      yield* Fiber.join(first.fiber)
      const standby = yield* holdIn(host, 2, { standby: true })
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(standby.fiber)
      yield* Scope.close(standby.scope, Exit.void)
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 1 } })
    }))

  it.scoped("of several standbys, exactly one takes over; the others go on waiting for it", () =>
    Effect.gen(function*() {
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false })
      yield* Fiber.join(first.fiber)
      const standbys = yield* Effect.forEach([2, 3, 4, 5], (pid) => holdIn(host, pid, { standby: true }))
      yield* TestClock.adjust("2 seconds")
      yield* host.kill(1)
      yield* TestClock.adjust("2 seconds")
      const done = yield* Effect.forEach(standbys, (s) => Fiber.poll(s.fiber))
      const winners = done.filter(Option.isSome)
      expect(winners).toHaveLength(1)
      const file = yield* host.file
      expect(file._tag).toBe("Found")
    }))

  it.scoped("the holder writes a deleted lease file again, with a warning", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false, watch: "5 seconds" })
      const held = yield* Fiber.join(first.fiber)
      yield* host.setFile({ _tag: "Missing" })
      yield* TestClock.adjust("5 seconds")
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 1 } })
      expect(logs).toContain("monitor: the lease file was missing; wrote the lease memory:monitor.lease again")
      expect(yield* held.isLost).toBe(false)
    }))

  it.scoped("a lease another live monitor took is lost: `lost` fails, and closing the scope leaves its lease alone", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      const host = yield* MonitorLease.makeMemoryHost
      const first = yield* holdIn(host, 1, { standby: false, watch: "5 seconds" })
      const held = yield* Fiber.join(first.fiber)
      // Someone deleted the file and another monitor started meanwhile.
      yield* host.setFile({ _tag: "Missing" })
      const intruder = yield* holdIn(host, 9, { standby: false })
      yield* Fiber.join(intruder.fiber)
      const lost = yield* Effect.fork(Effect.flip(held.lost))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(lost)
      expect(error._tag).toBe("MonitorLeaseLost")
      expect(error.message).toContain("to another monitor (pid 9")
      expect(yield* held.isLost).toBe(true)
      expect(logs.some((l) => l.startsWith("monitor: this monitor lost its lease"))).toBe(true)
      yield* Scope.close(first.scope, Exit.void)
      expect(yield* host.file).toMatchObject({ _tag: "Found", holder: { pid: 9 } })
    }))

  it.scoped("never two holders: random deaths, claims and standbys", () =>
    Effect.gen(function*() {
      const host = yield* MonitorLease.makeMemoryHost
      // A deterministic pseudo-random sequence.
      let seed = 12345
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      const monitors: Array<{ pid: number; fiber: Fiber.RuntimeFiber<MonitorLease.HeldLeaseShape, unknown>; dead: boolean }> = []
      let nextPid = 1
      const everHeld = new Set<number>()
      for (let step = 0; step < 100; step++) {
        const roll = random()
        if (roll < 0.4) {
          const pid = nextPid++
          const m = yield* holdIn(host, pid, { standby: random() < 0.7 })
          monitors.push({ pid, fiber: m.fiber, dead: false })
        } else if (roll < 0.8) {
          const alive = monitors.filter((m) => !m.dead)
          const victim = alive[Math.floor(random() * alive.length)]
          if (victim !== undefined) {
            victim.dead = true
            yield* host.kill(victim.pid)
            yield* Fiber.interrupt(victim.fiber)
          }
        }
        yield* TestClock.adjust(Duration.millis(Math.floor(random() * 1500)))
        // Every live monitor whose hold completed believes it holds the lease: at most one.
        const holders: Array<number> = []
        for (const m of monitors) {
          if (m.dead) continue
          const done = yield* Fiber.poll(m.fiber)
          if (Option.isSome(done) && Exit.isSuccess(done.value)) holders.push(m.pid)
        }
        expect(holders.length).toBeLessThanOrEqual(1)
        if (holders[0] !== undefined) everHeld.add(holders[0])
        const file = yield* host.file
        if (holders.length === 1) expect(file).toMatchObject({ _tag: "Found", holder: { pid: holders[0] } })
      }
      // The sequence did exercise take-overs.
      expect(everHeld.size).toBeGreaterThanOrEqual(5)
    }))
})

describe("MonitorLease: layers", () => {
  it.scoped("layerHeld puts the held lease in context only once it is held", () =>
    Effect.gen(function*() {
      const host = yield* MonitorLease.makeMemoryHost
      const ctx = yield* Layer.build(MonitorLease.layerHeld({ standby: false }).pipe(Layer.provide(host.layer(5))))
      expect(Context.get(ctx, MonitorLease.HeldLease).holder.pid).toBe(5)
      const second = yield* Effect.exit(Layer.build(MonitorLease.layerHeld({ standby: false }).pipe(Layer.provide(host.layer(6)))))
      expect(second).toMatchObject({ _tag: "Failure" })
    }))
})
