/**
 * AtomicFile on real files, through both ports (synchronous node:fs and the platform FileSystem):
 * what a reader sees, what a failure leaves, symlinks, and the sweep of orphaned temp files.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as AtomicFile from "../../src/platform/AtomicFile.js"
import * as SyncFileSystem from "../../src/platform/SyncFileSystem.js"

const temps: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-atomic-"))
  temps.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

const ports: ReadonlyArray<readonly [string, Effect.Effect<AtomicFile.Port>]> = [
  ["node:fs (sync)", Effect.succeed(AtomicFile.nodeSync)],
  ["FileSystem", AtomicFile.fileSystemPort.pipe(Effect.provide(NodeFileSystem.layer))],
  ["SyncFileSystem", AtomicFile.fileSystemPort.pipe(Effect.provide(SyncFileSystem.layer))]
]

describe.each(ports)("AtomicFile over %s", (_name, getPort) => {
  it.effect("replaces the file with the new bytes, mode 0600 by default, leaving no temp file", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      const file = path.join(dir, "state.json")
      fs.writeFileSync(file, "old")
      yield* AtomicFile.write(port, file, "new\n")
      expect(fs.readFileSync(file, "utf8")).toBe("new\n")
      expect(fs.readdirSync(dir)).toEqual(["state.json"])
      yield* AtomicFile.write(port, path.join(dir, "fresh"), new Uint8Array([1, 2, 3]), { mode: 0o644 })
      expect(fs.statSync(path.join(dir, "fresh")).mode & 0o777).toBe(0o644 & ~process.umask())
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    }))

  it.effect("a failing beforeRename leaves the file as it was and removes the temp file", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      const file = path.join(dir, "boxes.json")
      fs.writeFileSync(file, "old")
      let sawTemp: ReadonlyArray<string> = []
      const error = yield* Effect.flip(AtomicFile.write(port, file, "new", {
        beforeRename: Effect.suspend(() => {
          sawTemp = fs.readdirSync(dir).filter((n) => n !== "boxes.json")
          return Effect.fail("lock lost" as const)
        })
      }))
      expect(error).toBe("lock lost")
      // The temp file held the new bytes, under a unique name beside the target.
      expect(sawTemp).toHaveLength(1)
      expect(sawTemp[0]).toMatch(new RegExp(`^\\.boxes\\.json\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`))
      expect(fs.readFileSync(file, "utf8")).toBe("old")
      expect(fs.readdirSync(dir)).toEqual(["boxes.json"])
    }))

  it.effect("a write that cannot be made fails with the path and leaves nothing", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      const file = path.join(dir, "missing-dir", "x.json")
      const error = yield* Effect.flip(AtomicFile.write(port, file, "data"))
      expect(error).toMatchObject({ _tag: "AtomicWriteFailed", path: file, step: "write" })
      expect((error as AtomicFile.AtomicWriteFailed).message).toContain(`cannot write ${file}: `)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.effect("writes through a symbolic link (and a link to a link) to its target, in the target's directory", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      const real = path.join(dir, "real")
      const links = path.join(dir, "links")
      fs.mkdirSync(real)
      fs.mkdirSync(links)
      fs.writeFileSync(path.join(real, "boxes.json"), "old")
      fs.symlinkSync("../real/boxes.json", path.join(links, "inner.json"))
      fs.symlinkSync("inner.json", path.join(links, "boxes.json"))
      expect(yield* AtomicFile.resolveTarget(port, path.join(links, "boxes.json"))).toBe(path.join(real, "boxes.json"))
      yield* AtomicFile.write(port, path.join(links, "boxes.json"), "new", {
        beforeRename: Effect.sync(() => {
          expect(fs.readdirSync(real).filter((n) => n.endsWith(".tmp"))).toHaveLength(1)
          expect(fs.readdirSync(links).filter((n) => n.endsWith(".tmp"))).toEqual([])
        })
      })
      expect(fs.lstatSync(path.join(links, "boxes.json")).isSymbolicLink()).toBe(true)
      expect(fs.readFileSync(path.join(real, "boxes.json"), "utf8")).toBe("new")
      // A dangling link: the file is created where it points.
      fs.symlinkSync("../real/later.json", path.join(links, "later.json"))
      yield* AtomicFile.write(port, path.join(links, "later.json"), "made")
      expect(fs.readFileSync(path.join(real, "later.json"), "utf8")).toBe("made")
      expect(fs.lstatSync(path.join(links, "later.json")).isSymbolicLink()).toBe(true)
      // Unless told not to follow: then the link itself is replaced.
      yield* AtomicFile.write(port, path.join(links, "inner.json"), "own", { followSymlink: false })
      expect(fs.lstatSync(path.join(links, "inner.json")).isFile()).toBe(true)
      expect(fs.readFileSync(path.join(real, "boxes.json"), "utf8")).toBe("new")
    }))

  it.effect("a loop of links is an error, not a hang", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      fs.symlinkSync("b", path.join(dir, "a"))
      fs.symlinkSync("a", path.join(dir, "b"))
      const error = yield* Effect.flip(AtomicFile.write(port, path.join(dir, "a"), "x"))
      expect(error).toMatchObject({ _tag: "AtomicWriteFailed", step: "resolve" })
      expect(String((error as AtomicFile.AtomicWriteFailed).message)).toContain("symbolic links")
    }))

  it.effect("sweep removes the temp files of this file only; with olderThan, only old ones", () =>
    Effect.gen(function*() {
      const port = yield* getPort
      const dir = tempDir()
      const file = path.join(dir, "monitor.json")
      const put = (name: string, ageMs: number) => {
        fs.writeFileSync(path.join(dir, name), "half")
        const t = new Date(Date.now() - ageMs)
        fs.utimesSync(path.join(dir, name), t, t)
      }
      put(".monitor.json.123.aaaaaaaaaaaa.tmp", 10 * 60_000)
      put(".monitor.json.456.bbbbbbbbbbbb.tmp", 0)
      put(".monitor.lease.123.cccccccccccc.tmp", 10 * 60_000) // another file's
      put("monitor.json.tmp", 10 * 60_000) // not our naming
      expect(yield* AtomicFile.sweep(port, file, { olderThan: "1 minute" })).toBe(1)
      expect(fs.readdirSync(dir).sort()).toEqual([
        ".monitor.json.456.bbbbbbbbbbbb.tmp",
        ".monitor.lease.123.cccccccccccc.tmp",
        "monitor.json.tmp"
      ])
      expect(yield* AtomicFile.sweep(port, file)).toBe(1)
      expect(fs.readdirSync(dir).sort()).toEqual([".monitor.lease.123.cccccccccccc.tmp", "monitor.json.tmp"])
      // A directory that is not there: nothing to sweep, no failure.
      expect(yield* AtomicFile.sweep(port, path.join(dir, "gone", "x"))).toBe(0)
    }))
})
