import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as FileLock from "../../src/state/FileLock.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { boxRecord, fixtureText, record, storeLayer, tempDirs } from "./support.js"

const dirs = tempDirs()
afterEach(() => dirs.cleanup())

const stateFile = (home: string) => path.join(home, "boxes.json")
const mode = (p: string) => fs.statSync(p).mode & 0o777
const ino = (p: string) => fs.statSync(p).ino
const listHome = (home: string) => fs.readdirSync(home).sort()
const writeState = (home: string, text: string) => fs.writeFileSync(stateFile(home), text, { mode: 0o600 })
const bump = (records: ReadonlyArray<BoxRecord>, id: string): ReadonlyArray<BoxRecord> =>
  records.map((r) => (r.id === id ? { ...r, restart_count: r.restart_count + 1 } : r))

/** The error a failed effect failed with. */
const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error
}

describe("NodeStateStore: snapshot", () => {
  it.live("a missing file is an empty list, and nothing is created", () => {
    const home = path.join(dirs.make(), "home")
    return Effect.gen(function*() {
      const store = yield* StateStore
      expect(yield* store.snapshot).toStrictEqual([])
      expect(yield* store.load).toStrictEqual([])
      expect(fs.existsSync(home)).toBe(false)
      expect(store.path).toBe(stateFile(home))
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("reads without reconciling, writing or locking (works while the lock is held)", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    const before = ino(stateFile(home))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const holder = yield* Effect.fork(
        FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never)
      )
      yield* Effect.sleep("50 millis")
      expect(fs.existsSync(NodeStateStore.lockPath(home))).toBe(true)
      const records = yield* store.snapshot.pipe(Effect.timeout("5 seconds"))
      expect(records.map((r) => r.status)).toStrictEqual(["running", "dead", "stopped", "paused", "restart_starting"])
      yield* Fiber.interrupt(holder)
      expect(ino(stateFile(home))).toBe(before)
      expect(fs.readFileSync(stateFile(home), "utf8")).toBe(fixtureText)
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => false })))
  })
})

describe("NodeStateStore: modify", () => {
  it.live("creates the home 0700 and the file 0600, and returns f's result", () => {
    const home = path.join(dirs.make(), "nested", "home")
    return Effect.gen(function*() {
      const store = yield* StateStore
      const result = yield* store.modify((records) => ["added", [...records, boxRecord("b-1")]])
      expect(result).toBe("added")
      expect(mode(home)).toBe(0o700)
      expect(mode(stateFile(home))).toBe(0o600)
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["b-1"])
      expect(listHome(home)).toStrictEqual(["boxes.json", "boxes.json.lk.owner"])
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("rewrites an existing file 0600", () => {
    const home = dirs.make()
    fs.writeFileSync(stateFile(home), JSON.stringify([record("x")]), { mode: 0o644 })
    fs.chmodSync(stateFile(home), 0o644)
    return Effect.gen(function*() {
      const store = yield* StateStore
      yield* store.modify((records) => [null, bump(records, "x")])
      expect(mode(stateFile(home))).toBe(0o600)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("writes nothing when f returns the same array", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    const before = ino(stateFile(home))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const seen = yield* store.modify((records) => [records.length, records])
      expect(seen).toBe(5)
      expect(ino(stateFile(home))).toBe(before)
      expect(fs.readFileSync(stateFile(home), "utf8")).toBe(fixtureText)
      // no file appears for a no-op on a missing file either
      const empty = dirs.make()
      yield* Effect.provide(
        Effect.flatMap(StateStore, (s) => s.modify((records) => [null, records])),
        storeLayer(empty)
      )
      expect(fs.existsSync(stateFile(empty))).toBe(false)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("an equal but new array is a change: the file is rewritten (same content)", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    const before = ino(stateFile(home))
    return Effect.gen(function*() {
      const store = yield* StateStore
      yield* store.modify((records) => [null, [...records]])
      expect(ino(stateFile(home))).not.toBe(before)
      expect(JSON.parse(fs.readFileSync(stateFile(home), "utf8"))).toStrictEqual(JSON.parse(fixtureText))
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("keeps unknown fields and absent keys of the records it rewrites", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    return Effect.gen(function*() {
      const store = yield* StateStore
      yield* store.modify((records) => [null, bump(records, "c1d2e3f4-0000-4111-8222-333344445555")])
      const written = JSON.parse(fs.readFileSync(stateFile(home), "utf8")) as Array<Record<string, unknown>>
      const expected = (JSON.parse(fixtureText) as Array<Record<string, unknown>>).map((r) =>
        r["name"] === "quiet_lovelace" ? { ...r, restart_count: 1 } : r
      )
      expect(written).toStrictEqual(expected)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("concurrent fibers lose no update", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("counter")]))
    return Effect.gen(function*() {
      const store = yield* StateStore
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        () => store.modify((records) => [null, bump(records, "counter")]),
        { concurrency: "unbounded" }
      )
      const [counter] = yield* store.snapshot
      expect(counter?.restart_count).toBe(40)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("updates queued together apply in order; an f that throws fails alone", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("x")]))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.sleep("100 millis")))
      yield* Effect.sleep("20 millis")
      // all three queue behind the held lock and are applied in one round, in order
      const [a, b, c] = yield* Effect.all([
        store.modify((records) => [records[0]?.restart_count, bump(records, "x")]),
        Effect.exit(store.modify((): readonly [number, ReadonlyArray<BoxRecord>] => {
          throw new Error("bug in f")
        })),
        store.modify((records) => [records[0]?.restart_count, bump(records, "x")])
      ], { concurrency: "unbounded" })
      yield* Fiber.join(holder)
      expect(a).toBe(0)
      expect(c).toBe(1)
      expect(Exit.isFailure(b) && b.cause._tag === "Die").toBe(true)
      expect((yield* store.snapshot)[0]?.restart_count).toBe(2)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("a modify interrupted while waiting for the lock is never applied", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("x")]))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never))
      yield* Effect.sleep("20 millis")
      const waiting = yield* Effect.fork(store.modify((records) => [null, bump(records, "x")]))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(waiting).pipe(Effect.timeout("2 seconds"))
      yield* Fiber.interrupt(holder)
      yield* store.modify((records) => [null, records])
      expect((yield* store.snapshot)[0]?.restart_count).toBe(0)
      expect(fs.existsSync(NodeStateStore.lockPath(home))).toBe(false)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("waits for the lock; gives up with StateFileUnavailable(lock) after the timeout", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("x")]))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never))
      yield* Effect.sleep("50 millis")
      const error = failure(yield* Effect.exit(store.modify((records) => [null, bump(records, "x")])))
      expect(error._tag).toBe("StateFileUnavailable")
      if (error._tag === "StateFileUnavailable") {
        expect(error.operation).toBe("lock")
        expect(error.message).toContain(stateFile(home))
        expect(error.message).toContain(`pid ${process.pid}`)
      }
      yield* Fiber.interrupt(holder)
      // released: the next modify goes through
      yield* store.modify((records) => [null, bump(records, "x")])
      expect((yield* store.snapshot)[0]?.restart_count).toBe(1)
    }).pipe(Effect.provide(storeLayer(home, {}, { lock: { timeout: Duration.millis(300) } })))
  })

  it.live("a modify whose lock was taken over writes nothing, starts over, and applies f once", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("x")]))
    const before = ino(stateFile(home))
    let calls = 0
    return Effect.gen(function*() {
      const store = yield* StateStore
      const result = yield* store.modify((records) => {
        calls++
        if (calls === 1) {
          // Another process takes the lock over while f runs (as if this one had stalled past
          // the stale threshold), and releases it a moment later.
          fs.writeFileSync(path.join(home, "boxes.json.lk.owner"), "4242:someone-else")
          setTimeout(() => fs.rmdirSync(NodeStateStore.lockPath(home)), 200)
          expect(ino(stateFile(home))).toBe(before)
        }
        return [calls, bump(records, "x")]
      })
      expect(result).toBe(2)
      expect((yield* store.snapshot)[0]?.restart_count).toBe(1)
      expect(listHome(home)).toStrictEqual(["boxes.json", "boxes.json.lk.owner"])
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("removes temp files left by a writer that died, and readers ignore them", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("x")]))
    const orphan = path.join(home, ".boxes.json.99999.deadbeef0000.tmp")
    const recent = path.join(home, ".boxes.json.99998.deadbeef0001.tmp")
    fs.writeFileSync(orphan, "[{\"half\": ")
    fs.writeFileSync(recent, "[{\"half\": ")
    const old = new Date(Date.now() - 10 * 60_000)
    fs.utimesSync(orphan, old, old)
    return Effect.gen(function*() {
      const store = yield* StateStore
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["x"])
      yield* store.modify((records) => [null, bump(records, "x")])
      expect(fs.existsSync(orphan)).toBe(false)
      // a temp file that young may belong to a live writer: left alone
      expect(fs.existsSync(recent)).toBe(true)
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("never creates boxes.json.lock (the original a3s-box's flock file)", () => {
    const home = dirs.make()
    return Effect.gen(function*() {
      const store = yield* StateStore
      yield* store.modify((records) => [null, [...records, boxRecord("a")]])
      yield* store.modify((records) => [null, bump(records, "a")])
      expect(fs.existsSync(path.join(home, "boxes.json.lock"))).toBe(false)
      expect(NodeStateStore.lockPath(home)).toBe(path.join(home, "boxes.json.lk"))
    }).pipe(Effect.provide(storeLayer(home)))
  })

  it.live("stamp changes on every write and is empty for a missing file", () => {
    const home = dirs.make()
    return Effect.gen(function*() {
      const store = yield* StateStore
      const stamp = store.stamp
      if (stamp === undefined) throw new Error("NodeStateStore provides stamp")
      expect(yield* stamp).toBe("")
      yield* store.modify((records) => [null, [...records, boxRecord("a")]])
      const first = yield* stamp
      yield* store.modify((records) => [null, bump(records, "a")])
      const second = yield* stamp
      yield* store.modify((records) => [null, records])
      expect(first).not.toBe("")
      expect(second).not.toBe(first)
      expect(yield* stamp).toBe(second)
    }).pipe(Effect.provide(storeLayer(home)))
  })
})

describe("NodeStateStore: a corrupt file is never touched", () => {
  const corrupt: ReadonlyArray<[string, string, string]> = [
    ["truncated JSON", fixtureText.slice(0, 700), "not valid JSON"],
    ["an object", "{\"boxes\": []}\n", "not a valid list of box records"],
    ["a record of the wrong shape", JSON.stringify([record("a", { pid: "12" })]), "not a valid list of box records"],
    ["binary garbage", "\u0000\u0001\u0002garbage", "not valid JSON"]
  ]

  it.live.each(corrupt)("%s: load, snapshot and modify fail with StateFileCorrupt", ([, text, what]) => {
    const home = dirs.make()
    writeState(home, text)
    const before = { ino: ino(stateFile(home)), bytes: fs.readFileSync(stateFile(home)) }
    let called = false
    return Effect.gen(function*() {
      const store = yield* StateStore
      const errors = [
        failure(yield* Effect.exit(store.load)),
        failure(yield* Effect.exit(store.snapshot)),
        failure(yield* Effect.exit(store.modify((records) => {
          called = true
          return [null, [...records]]
        })))
      ]
      for (const error of errors) {
        expect(error._tag).toBe("StateFileCorrupt")
        expect(error.message).toContain(stateFile(home))
        expect(error.message).toContain(what)
        expect(error.message).toContain("left untouched")
      }
      expect(called).toBe(false)
      expect(ino(stateFile(home))).toBe(before.ino)
      expect(fs.readFileSync(stateFile(home)).equals(before.bytes)).toBe(true)
      expect(listHome(home).filter((n) => n.startsWith("boxes.json") || n.endsWith(".tmp"))).toStrictEqual([
        "boxes.json",
        "boxes.json.lk.owner"
      ])
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => false })))
  })
})

describe("NodeStateStore: load reconciles (SPEC §3)", () => {
  const TURING = "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23"
  const KNUTH = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"

  it.live("marks dead active boxes dead (exit code from the file), removes auto_remove ones, and writes once", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    return Effect.gen(function*() {
      const store = yield* StateStore
      const records = yield* store.load
      expect(records.map((r) => [r.name, r.status])).toStrictEqual([
        ["calm_turing", "dead"],
        ["brave_hopper", "dead"],
        ["quiet_lovelace", "stopped"],
        ["keen_dijkstra", "restart_starting"]
      ])
      const written = JSON.parse(fs.readFileSync(stateFile(home), "utf8")) as Array<Record<string, unknown>>
      const original = JSON.parse(fixtureText) as Array<Record<string, unknown>>
      expect(written).toStrictEqual(
        original.filter((r) => r["id"] !== KNUTH).map((r) =>
          r["id"] === TURING
            ? {
              ...r,
              status: "dead",
              pid: null,
              pid_start_time: null,
              health_status: "none",
              health_retries: 0,
              exit_code: 137
            }
            : r
        )
      )
      // reconciled already: the next load writes nothing
      const after = ino(stateFile(home))
      yield* store.load
      expect(ino(stateFile(home))).toBe(after)
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => false, exitCodes: new Map([[TURING, 137]]) })))
  })

  it.live("writes nothing and takes no lock when every active box is alive", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    const before = ino(stateFile(home))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never))
      yield* Effect.sleep("50 millis")
      const records = yield* store.load.pipe(Effect.timeout("5 seconds"))
      expect(records).toHaveLength(5)
      yield* Fiber.interrupt(holder)
      expect(ino(stateFile(home))).toBe(before)
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => true })))
  })

  it.live("re-reads under the lock: a box restarted meanwhile by another process is not marked dead", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("r", { status: "running", pid: 100, pid_start_time: 1 })]))
    let restarted = false
    const isAlive = (pid: number) => {
      if (pid === 100 && !restarted) {
        // another process restarts the box between our read and our lock
        restarted = true
        writeState(home, JSON.stringify([record("r", { status: "running", pid: 200, pid_start_time: 2, restart_count: 1 })]))
      }
      return pid === 200
    }
    return Effect.gen(function*() {
      const store = yield* StateStore
      const [box] = yield* store.load
      expect(box).toMatchObject({ status: "running", pid: 200, pid_start_time: 2, restart_count: 1 })
      expect(JSON.parse(fs.readFileSync(stateFile(home), "utf8"))[0]).toMatchObject({ pid: 200, status: "running" })
    }).pipe(Effect.provide(storeLayer(home, { isAlive })))
  })

  it.live("a running box without a pid is dead", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("p", { status: "running", pid: null })]))
    return Effect.gen(function*() {
      const store = yield* StateStore
      const [box] = yield* store.load
      expect(box).toMatchObject({ status: "dead", pid: null, exit_code: 3 })
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => true, exitCodes: new Map([["p", 3]]) })))
  })
})
