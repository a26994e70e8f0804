import * as Layer from "effect/Layer"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Boxes from "../../src/boxes/Boxes.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import * as FileLock from "../../src/state/FileLock.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { capturedConsole } from "../service/CapturedConsole.js"
import { boxRecord, fileSystems, fixtureText, record, storeLayer, tempDirs } from "./support.js"

const dirs = tempDirs()
afterEach(() => dirs.cleanup())

const stateFile = (home: string) => path.join(home, "boxes.json")
const mode = (p: string) => fs.statSync(p).mode & 0o777
const ino = (p: string) => fs.statSync(p).ino
const listHome = (home: string) => fs.readdirSync(home).sort()
const writeState = (home: string, text: string | Buffer) => fs.writeFileSync(stateFile(home), text, { mode: 0o600 })
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
      expect(yield* Boxes.load).toStrictEqual([])
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
  const corrupt: ReadonlyArray<[string, string | Buffer, string]> = [
    ["truncated JSON", fixtureText.slice(0, 700), "not valid JSON"],
    ["an object", "{\"boxes\": []}\n", "not a valid list of box records"],
    ["binary garbage", "\u0000\u0001\u0002garbage", "not valid JSON"],
    // decision (README): bytes that are not UTF-8 make the file corrupt; a lenient decode would write U+FFFD back
    ["go\\xffd in a known field", Buffer.concat([Buffer.from(`[{"id": "a", "name": "go`), Buffer.of(0xff), Buffer.from(`d"}]`)]), "not valid UTF-8 at byte offset 24 (0xff)"],
    ["\\xc3\\x28 in an unknown field", Buffer.concat([Buffer.from(JSON.stringify([record("a")]).slice(0, -2) + `,"x_note":"`), Buffer.of(0xc3, 0x28), Buffer.from(`"}]`)]), "not valid UTF-8 at byte offset"]
  ]

  it.live.each(corrupt)("%s: load, snapshot and modify fail with StateFileCorrupt", ([, text, what]) => {
    const home = dirs.make()
    writeState(home, text)
    const before = { ino: ino(stateFile(home)), bytes: fs.readFileSync(stateFile(home)) }
    let called = false
    return Effect.gen(function*() {
      const store = yield* StateStore
      const errors = [
        failure(yield* Effect.exit(Boxes.load)),
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

describe("NodeStateStore: one bad record is one bad record (SPEC §12)", () => {
  it.live("the other records are read and updated; the bad one is listed, and kept as it was, in its place", () => {
    const home = dirs.make()
    const bad = record("b", { pid: "12", x_unknown: { kept: [1, "two", null] } })
    writeState(home, JSON.stringify([record("a"), bad, record("c")], null, 2))
    return Effect.gen(function*() {
      const store = yield* StateStore
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["a", "c"])
      expect((yield* Boxes.load).map((r) => r.id)).toStrictEqual(["a", "c"])
      const [invalid] = yield* store.invalid
      expect(invalid).toMatchObject({ index: 1, label: "id \"b\"", field: "pid", reason: "expected number, actual \"12\"" })
      let seen: ReadonlyArray<string> = []
      yield* store.modify((records) => {
        seen = records.map((r) => r.id)
        return [null, [...bump(records, "a"), boxRecord("d")]]
      })
      expect(seen).toStrictEqual(["a", "c"])
      const written = JSON.parse(fs.readFileSync(stateFile(home), "utf8")) as Array<Record<string, unknown>>
      expect(written.map((r) => r["id"])).toStrictEqual(["a", "b", "c", "d"])
      expect(written[1]).toStrictEqual(bad)
      expect(written[0]!["restart_count"]).toBe(1)
      expect((yield* store.invalid).map((i) => i.index)).toStrictEqual([1])
    }).pipe(Effect.provide(storeLayer(home)))
  })
})

for (const [files, filesLayer] of fileSystems) {
describe(`NodeStateStore over ${files}: a boxes.json that is not a regular file is refused, without blocking`, () => {
  const kinds: ReadonlyArray<readonly [string, (file: string, dir: string) => void, string]> = [
    ["a FIFO", (file) => execFileSync("mkfifo", [file]), "is a FIFO (named pipe), not a regular file"],
    ["a directory", (file) => fs.mkdirSync(file), "is a directory, not a regular file"],
    ["a symlink to a character device", (file) => fs.symlinkSync("/dev/null", file), "its target /dev/null is a character device"],
    ["a symlink to a FIFO", (file, dir) => {
      execFileSync("mkfifo", [path.join(dir, "pipe")])
      fs.symlinkSync(path.join(dir, "pipe"), file)
    }, "is a FIFO (named pipe), not a regular file"]
  ]

  it.live.each(kinds)("%s: snapshot, load and modify fail naming the path; nothing is written", ([, make, what]) => {
    const home = dirs.make()
    const elsewhere = dirs.make()
    make(stateFile(home), elsewhere)
    return Effect.gen(function*() {
      const store = yield* StateStore
      let called = false
      const errors = [
        failure(yield* Effect.exit(store.snapshot)),
        failure(yield* Effect.exit(Boxes.load)),
        failure(yield* Effect.exit(store.invalid)),
        failure(yield* Effect.exit(store.modify((records) => {
          called = true
          return [null, [...records, boxRecord("x")]]
        })))
      ]
      for (const error of errors) {
        expect(error._tag).toBe("StateFileUnavailable")
        expect(error.message).toContain(`cannot read state file ${stateFile(home)}: `)
        expect(error.message).toContain(what)
        expect(error.message).toContain("nothing was read or written")
      }
      expect(called).toBe(false)
      // not an empty fleet: a stamp of its own
      expect(yield* store.stamp!).toMatch(/^unreadable: /)
      expect(listHome(home).filter((n) => n.endsWith(".tmp"))).toStrictEqual([])
    }).pipe(Effect.timeout("10 seconds"), Effect.provide(storeLayer(home, {}, {}, filesLayer)))
  })
})

describe(`NodeStateStore over ${files}: symbolic links (only ENOENT of boxes.json itself is 'no boxes')`, () => {
  it.live("a dangling link is an error naming the path and its target; nothing is written, the link stays", () => {
    const home = dirs.make()
    const target = path.join(dirs.make(), "gone", "boxes.json")
    fs.symlinkSync(target, stateFile(home))
    return Effect.gen(function*() {
      const store = yield* StateStore
      for (const effect of [store.snapshot, Boxes.load, store.modify((records) => [null, [...records, boxRecord("x")]])]) {
        const error = failure(yield* Effect.exit(effect))
        expect(error._tag).toBe("StateFileUnavailable")
        expect(error.message).toBe(
          `cannot read state file ${stateFile(home)}: it is a symbolic link to ${target}, which does not exist; nothing was read or written. Restore ${target} or remove the link, then retry`
        )
      }
      expect(fs.lstatSync(stateFile(home)).isSymbolicLink()).toBe(true)
      expect(fs.existsSync(target)).toBe(false)
      expect(yield* store.stamp!).not.toBe("")
    }).pipe(Effect.provide(storeLayer(home, {}, {}, filesLayer)))
  })

  it.live("a link to a regular file is followed: written beside and over the target, the link stays a link, the lock beside the link", () => {
    const home = dirs.make()
    const elsewhere = dirs.make()
    const target = path.join(elsewhere, "state.json")
    fs.writeFileSync(target, JSON.stringify([record("a")]), { mode: 0o600 })
    fs.symlinkSync(path.relative(home, target), stateFile(home))
    let lockSeen: ReadonlyArray<string> = []
    return Effect.gen(function*() {
      const store = yield* StateStore
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["a"])
      const stampBefore = yield* store.stamp!
      yield* store.modify((records) => {
        lockSeen = [...listHome(home), ...fs.readdirSync(elsewhere)]
        return [null, [...records, boxRecord("b")]]
      })
      expect(fs.lstatSync(stateFile(home)).isSymbolicLink()).toBe(true)
      expect(fs.readlinkSync(stateFile(home))).toBe(path.relative(home, target))
      expect((JSON.parse(fs.readFileSync(target, "utf8")) as Array<{ id: string }>).map((r) => r.id)).toStrictEqual(["a", "b"])
      expect(mode(target)).toBe(0o600)
      expect(lockSeen).toContain("boxes.json.lk")
      expect(fs.readdirSync(elsewhere)).toStrictEqual(["state.json"])
      expect(yield* store.stamp!).not.toBe(stampBefore)
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["a", "b"])
      // a link is not watched (writes land in the target's directory): the monitor polls the stamp
      expect(Option.getOrNull(Option.map(yield* Stream.runHead(store.changes), (c) => c._tag))).toBe("Unwatched")
    }).pipe(Effect.provide(storeLayer(home, {}, {}, filesLayer)))
  })
})
}

describe("NodeStateStore over a FileSystem that is not SyncFileSystem: it reads and writes through that one", () => {
  it.live("every read and write goes through the FileSystem it is given; a change by another writer is seen", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("a")]))
    const calls = new Map<string, number>()
    const counted = Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (base) => {
        const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1)
        return FileSystem.make({
          ...base,
          stat: (p) => (count("stat"), base.stat(p)),
          readLink: (p) => (count("readLink"), base.readLink(p)),
          readFile: (p) => (count("readFile"), base.readFile(p)),
          rename: (from, to) => (count("rename"), base.rename(from, to))
        })
      })
    ).pipe(Layer.provide(NodeFileSystem.layer))
    return Effect.gen(function*() {
      const store = yield* StateStore
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["a"])
      expect(calls.get("readFile")).toBe(1)
      expect(calls.get("stat")).toBeGreaterThanOrEqual(1)
      expect(calls.get("readLink")).toBeGreaterThanOrEqual(1)
      const stampBefore = yield* store.stamp!
      yield* store.modify((records) => [null, [...records, boxRecord("b")]])
      expect(calls.get("rename")).toBe(1)
      expect(yield* store.stamp!).not.toBe(stampBefore)
      writeState(home, JSON.stringify([record("c")]))
      expect((yield* store.snapshot).map((r) => r.id)).toStrictEqual(["c"])
    }).pipe(Effect.provide(storeLayer(home, {}, {}, counted)))
  })
})

describe("NodeStateStore: load on a home it cannot write (read-only reads)", () => {
  it.live("returns the records reconciled in memory, says once on stderr that the file was not updated, writes nothing", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("a", { status: "running", pid: 4242 })]))
    const before = fs.readFileSync(stateFile(home))
    const captured = capturedConsole()
    return Effect.gen(function*() {
      // the write cannot happen: another process holds the lock past this store's timeout
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never))
      yield* Effect.sleep("30 millis")
      expect((yield* Boxes.load).map((r) => [r.id, r.status])).toStrictEqual([["a", "dead"]])
      expect((yield* Boxes.load).map((r) => [r.id, r.status])).toStrictEqual([["a", "dead"]])
      yield* Fiber.interrupt(holder)
      expect(captured.err).toHaveLength(1)
      expect(captured.err[0]).toMatch(/^Warning: cannot lock state file .*boxes\.json: .*; showing the boxes as reconciled in memory \(the file was not updated\)\.$/)
      expect(fs.readFileSync(stateFile(home)).equals(before)).toBe(true)
      // a failure to read is still a failure
      writeState(home, "{")
      expect(failure(yield* Effect.exit(Boxes.load))._tag).toBe("StateFileCorrupt")
    }).pipe(
      Effect.withConsole(captured.console),
      Effect.provide(storeLayer(home, { isAlive: () => false }, { lock: { timeout: Duration.millis(100) } }))
    )
  })
})

describe("NodeStateStore: load reconciles (SPEC §3)", () => {
  const TURING = "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23"
  const KNUTH = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"

  it.live("marks dead active boxes dead (exit code from the file), removes auto_remove ones, and writes once", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    return Effect.gen(function*() {
      const records = yield* Boxes.load
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
              exit_code: 137,
              last_exit: { code: 137, signal: "SIGKILL", at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }
            }
            : r
        )
      )
      // reconciled already: the next load writes nothing
      const after = ino(stateFile(home))
      yield* Boxes.load
      expect(ino(stateFile(home))).toBe(after)
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => false, exitCodes: new Map([[TURING, 137]]) })))
  })

  it.live("writes nothing and takes no lock when every active box is alive", () => {
    const home = dirs.make()
    writeState(home, fixtureText)
    const before = ino(stateFile(home))
    return Effect.gen(function*() {
      const holder = yield* Effect.fork(FileLock.withLock(NodeStateStore.lockOptions(home), () => Effect.never))
      yield* Effect.sleep("50 millis")
      const records = yield* Boxes.load.pipe(Effect.timeout("5 seconds"))
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
      const [box] = yield* Boxes.load
      expect(box).toMatchObject({ status: "running", pid: 200, pid_start_time: 2, restart_count: 1 })
      expect(JSON.parse(fs.readFileSync(stateFile(home), "utf8"))[0]).toMatchObject({ pid: 200, status: "running" })
    }).pipe(Effect.provide(storeLayer(home, { isAlive })))
  })

  it.live("a running box without a pid is dead", () => {
    const home = dirs.make()
    writeState(home, JSON.stringify([record("p", { status: "running", pid: null })]))
    return Effect.gen(function*() {
      const [box] = yield* Boxes.load
      expect(box).toMatchObject({ status: "dead", pid: null, exit_code: 3 })
    }).pipe(Effect.provide(storeLayer(home, { isAlive: () => true, exitCodes: new Map([["p", 3]]) })))
  })
})
