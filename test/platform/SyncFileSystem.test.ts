import * as FileSystem from "@effect/platform/FileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SyncFileSystem from "../../src/platform/SyncFileSystem.js"

const temps: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-syncfs-"))
  temps.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

const withFs = <A, E>(f: (fs: FileSystem.FileSystem) => Effect.Effect<A, E, never>) =>
  Effect.flatMap(FileSystem.FileSystem, f).pipe(Effect.provide(SyncFileSystem.layer))

describe("SyncFileSystem", () => {
  it.effect("its small-file calls are synchronous: they run under Effect.runSync (no thread-pool round trip)", () =>
    withFs((files) =>
      Effect.sync(() => {
        const dir = tempDir()
        const file = path.join(dir, "a.txt")
        const run = <A, E>(effect: Effect.Effect<A, E, never>) => Effect.runSync(effect)
        run(files.writeFileString(file, "hello"))
        expect(run(files.exists(file))).toBe(true)
        expect(run(files.readFileString(file))).toBe("hello")
        expect(run(files.stat(file))).toMatchObject({ type: "File", size: FileSystem.Size(5) })
        expect(run(files.readDirectory(dir))).toEqual(["a.txt"])
        run(files.chmod(file, 0o600))
        expect(fs.statSync(file).mode & 0o777).toBe(0o600)
        run(files.rename(file, path.join(dir, "b.txt")))
        expect(run(files.exists(file))).toBe(false)
        run(Effect.scoped(Effect.gen(function*() {
          const handle = yield* files.open(path.join(dir, "c.txt"), { flag: "wx", mode: 0o600 })
          yield* handle.writeAll(new TextEncoder().encode("one two"))
          yield* handle.sync
        })))
        expect(fs.readFileSync(path.join(dir, "c.txt"), "utf8")).toBe("one two")
        const read = run(Effect.scoped(Effect.gen(function*() {
          const handle = yield* files.open(path.join(dir, "c.txt"))
          yield* handle.seek(4, "start")
          return yield* handle.readAlloc(10)
        })))
        expect(Option.map(read, (bytes) => new TextDecoder().decode(bytes))).toStrictEqual(Option.some("two"))
        run(files.remove(path.join(dir, "b.txt")))
        expect(fs.readdirSync(dir)).toEqual(["c.txt"])
      })
    ))

  it.effect("fails as @effect/platform-node does: a SystemError whose reason says what happened", () =>
    withFs((files) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const missing = yield* Effect.flip(files.stat(path.join(dir, "nope")))
        expect(missing).toMatchObject({ _tag: "SystemError", reason: "NotFound", method: "stat" })
        fs.writeFileSync(path.join(dir, "x"), "")
        const exists = yield* Effect.flip(Effect.scoped(files.open(path.join(dir, "x"), { flag: "wx" })))
        expect(exists).toMatchObject({ _tag: "SystemError", reason: "AlreadyExists" })
        // readLink of a file that is not a link fails (AtomicFile takes that as "not a link")
        expect((yield* Effect.flip(files.readLink(path.join(dir, "x"))))._tag).toBe("SystemError")
      })
    ))
})
