/** StateStore.changes on Node: inotify on the home directory reports the state file's writes. */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Deferred from "effect/Deferred"
import * as Stream from "effect/Stream"
import { StateStore, type StateStoreShape } from "../../src/state/StateStore.js"
import { boxRecord, fileSystems, storeLayer, tempDirs } from "./support.js"

const dirs = tempDirs()
afterEach(() => dirs.cleanup())

/** Polls `condition` every 10 ms for up to 10 s. */
const eventually = (what: string, condition: () => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 10_000
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("10 millis")
    }
  })

/**
 * Watches `store.changes` in a fiber of the scope, calling `onChange` for each `Changed` and
 * `onLost` for an `Unwatched` after `Watching`; true once watching, false if it cannot watch.
 */
const watch = (store: StateStoreShape, onChange: () => void, onLost: () => void) =>
  Effect.gen(function*() {
    const first = yield* Deferred.make<boolean>()
    yield* Effect.forkScoped(Stream.runForEach(store.changes, (change) =>
      Effect.gen(function*() {
        if (change._tag === "Changed") onChange()
        else if (!(yield* Deferred.succeed(first, change._tag === "Watching")) && change._tag === "Unwatched") onLost()
      })))
    return yield* Deferred.await(first)
  })

describe("NodeStateStore.changes", () => {
  it.live("reports writes of the state file by another store of the same home, and the loss of the home directory", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const store = yield* Effect.provide(StateStore, storeLayer(home))
      const writer = yield* Effect.provide(StateStore, storeLayer(home))
      let changes = 0
      let lost = 0
      expect(yield* watch(store, () => changes++, () => lost++)).toBe(true)

      yield* writer.modify((records) => [null, [...records, boxRecord("w-1")]])
      yield* eventually("a change", () => changes > 0)
      expect(yield* store.snapshot).toHaveLength(1)
      expect(lost).toBe(0)

      // Another name in the directory is not the state file; a later write of the file is reported again.
      const before = changes
      fs.writeFileSync(path.join(home, "monitor.json"), "{}")
      yield* writer.modify((records) => [null, [...records, boxRecord("w-2")]])
      yield* eventually("a second change", () => changes > before)

      fs.rmSync(home, { recursive: true, force: true })
      yield* eventually("the loss of the watch", () => lost === 1)
    }).pipe(Effect.scoped))

  it.live("cannot watch a home that does not exist: a lone Unwatched, and the caller polls", () =>
    Effect.gen(function*() {
      const home = path.join(dirs.make(), "missing")
      const store = yield* Effect.provide(StateStore, storeLayer(home))
      expect(yield* watch(store, () => {}, () => {})).toBe(false)
    }).pipe(Effect.scoped))
})

describe("NodeStateStore.changes over each FileSystem (SyncFileSystem: inotify here; any other: its own watch)", () => {
  it.live.each(fileSystems)("%s: writes by another store are reported, again after another name in the home changed; a missing home cannot be watched", ([, files]) =>
    Effect.gen(function*() {
      const home = dirs.make()
      const store = yield* Effect.provide(StateStore, storeLayer(home, {}, {}, files))
      const writer = yield* Effect.provide(StateStore, storeLayer(home, {}, {}, files))
      let changes = 0
      expect(yield* watch(store, () => changes++, () => {})).toBe(true)
      yield* writer.modify((records) => [null, [...records, boxRecord("w-1")]])
      yield* eventually("a change", () => changes > 0)
      expect(yield* store.snapshot).toHaveLength(1)
      const before = changes
      fs.writeFileSync(path.join(home, "monitor.json"), "{}")
      yield* writer.modify((records) => [null, [...records, boxRecord("w-2")]])
      yield* eventually("a second change", () => changes > before)

      const missing = yield* Effect.provide(StateStore, storeLayer(path.join(dirs.make(), "missing"), {}, {}, files))
      expect(yield* watch(missing, () => {}, () => {})).toBe(false)
    }).pipe(Effect.scoped))
})
