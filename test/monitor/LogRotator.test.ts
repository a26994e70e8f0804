import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as LogRotator from "../../src/monitor/LogRotator.js"
import * as LogRotation from "../../src/platform/LogRotation.js"
import { makeBox } from "./boxes.js"

/**
 * The rotator's one fiber under TestClock, over fake ports: which logs it looks at, and when.
 * (The real watch and rotation, with real boxes and a real monitor: logRotation.e2e.test.ts.)
 */

interface FakeWatch {
  readonly file: string
  readonly onChange: () => void
  readonly onError: () => void
  closed: boolean
}

const fakePorts = (unwatchable: ReadonlySet<string> = new Set()) => {
  const watches: Array<FakeWatch> = []
  const looks: Array<string> = []
  const ports: LogRotator.Ports = {
    watch: (file, onChange, onError) => {
      if (unwatchable.has(file)) return Either.left("no inotify watches left")
      const w: FakeWatch = { file, onChange, onError, closed: false }
      watches.push(w)
      return Either.right({ close: () => { w.closed = true } })
    },
    rotateIfOver: (file) => {
      looks.push(file)
      return LogRotation.Outcome.NotDue({ size: 0 })
    }
  }
  const looksAt = (file: string) => looks.filter((f) => f === file).length
  const openWatches = (file: string) => watches.filter((w) => w.file === file && !w.closed)
  /** How many watches of the file were armed so far. */
  const watchesOf = (file: string) => watches.filter((w) => w.file === file).length
  /** A write to the log, as inotify reports it: to its open watch. */
  const write = (file: string) => openWatches(file).forEach((w) => w.onChange())
  return { ports, looksAt, openWatches, watchesOf, write }
}

const settle = TestClock.adjust(0)

describe("LogRotator", () => {
  it.scoped("looks at a box's log when told of it, again at most every CHECK_GAP while it changes, and every SAFETY_NET while it does not", () =>
    Effect.gen(function*() {
      const fake = fakePorts()
      const rotator = yield* LogRotator.makeWith(fake.ports)
      const box = makeBox({ name: "chatty" })
      yield* rotator.track([box])
      yield* settle
      expect(fake.looksAt(box.console_log)).toBe(1)
      expect(fake.openWatches(box.console_log)).toHaveLength(1)
      // A write 30 ms after the look: looked at again 100 ms after the last look, not before.
      yield* TestClock.adjust("30 millis")
      fake.write(box.console_log)
      fake.write(box.console_log) // the watch is down after its first event
      yield* settle
      expect(fake.openWatches(box.console_log)).toHaveLength(0)
      yield* TestClock.adjust("69 millis")
      expect(fake.looksAt(box.console_log)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(fake.looksAt(box.console_log)).toBe(2)
      expect(fake.openWatches(box.console_log)).toHaveLength(1)
      // A write long after the last look: looked at at once.
      yield* TestClock.adjust("10 seconds")
      expect(fake.looksAt(box.console_log)).toBe(2)
      fake.write(box.console_log)
      yield* settle
      expect(fake.looksAt(box.console_log)).toBe(3)
      // No writes: the safety net, once a minute, with the same watch kept armed (not a new one).
      const [armed] = fake.openWatches(box.console_log)
      yield* TestClock.adjust("59999 millis")
      expect(fake.looksAt(box.console_log)).toBe(3)
      yield* TestClock.adjust("1 millis")
      expect(fake.looksAt(box.console_log)).toBe(4)
      expect(fake.openWatches(box.console_log)).toEqual([armed])
      expect(fake.watchesOf(box.console_log)).toBe(3)
    }))

  it.scoped("a log that cannot be watched is looked at every FALLBACK; a failed watch counts as a change", () =>
    Effect.gen(function*() {
      const unwatched = makeBox({ name: "unwatched" })
      const failing = makeBox({ name: "failing" })
      const fake = fakePorts(new Set([unwatched.console_log]))
      const rotator = yield* LogRotator.makeWith(fake.ports)
      yield* rotator.track([unwatched, failing])
      yield* settle
      expect([fake.looksAt(unwatched.console_log), fake.looksAt(failing.console_log)]).toEqual([1, 1])
      yield* TestClock.adjust("4999 millis")
      expect(fake.looksAt(unwatched.console_log)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(fake.looksAt(unwatched.console_log)).toBe(2)
      fake.openWatches(failing.console_log).forEach((w) => w.onError())
      yield* settle
      expect(fake.looksAt(failing.console_log)).toBe(2)
      expect(fake.openWatches(failing.console_log)).toHaveLength(1)
    }))

  it.scoped("a watch tells of its first event only: events Node had queued before its close make no look", () =>
    Effect.gen(function*() {
      const fake = fakePorts()
      const rotator = yield* LogRotator.makeWith(fake.ports)
      const box = makeBox()
      yield* rotator.track([box])
      yield* settle
      const [first] = fake.openWatches(box.console_log)
      first!.onChange()
      yield* TestClock.adjust("100 millis")
      expect(fake.looksAt(box.console_log)).toBe(2)
      expect(first!.closed).toBe(true)
      first!.onChange() // late: an event Node had queued before the close
      first!.onError()
      yield* TestClock.adjust("100 millis")
      expect(fake.looksAt(box.console_log)).toBe(2)
      expect(fake.openWatches(box.console_log)).toHaveLength(1)
    }))

  it.scoped("stops watching a box that is no longer active, a log whose limits changed is a new one, and the scope's end closes every watch", () =>
    Effect.gen(function*() {
      const fake = fakePorts()
      const scope = yield* Scope.make()
      const rotator = yield* LogRotator.makeWith(fake.ports, "/home/me/.a3s/monitor.log").pipe(Scope.extend(scope))
      const a = makeBox({ name: "a" })
      const b = makeBox({ name: "b" })
      const c = makeBox({ name: "c", log_max_size: 0 }) // rotation off: not watched
      yield* rotator.track([a, b, c])
      yield* settle
      expect(fake.looksAt("/home/me/.a3s/monitor.log")).toBe(1)
      expect([a, b, c].map((box) => fake.openWatches(box.console_log).length)).toEqual([1, 1, 0])
      const bigger = { ...b, log_max_size: 50 * 1024 * 1024 }
      yield* rotator.track([{ ...a, status: "stopped", pid: null }, bigger, c])
      yield* settle
      expect(fake.openWatches(a.console_log)).toHaveLength(0)
      expect(fake.openWatches(b.console_log)).toHaveLength(1)
      expect(fake.looksAt(b.console_log)).toBe(2)
      // The monitor's own log is kept whatever the records say.
      yield* rotator.track([])
      yield* settle
      expect(fake.openWatches(b.console_log)).toHaveLength(0)
      expect(fake.openWatches("/home/me/.a3s/monitor.log")).toHaveLength(1)
      yield* Scope.close(scope, Exit.void)
      expect(fake.openWatches("/home/me/.a3s/monitor.log")).toHaveLength(0)
    }))
})
