import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import * as FileLock from "../../src/state/FileLock.js"
import { tempDirs } from "./support.js"

const dirs = tempDirs()
afterEach(() => dirs.cleanup())

const optionsIn = (dir: string, overrides: Partial<FileLock.FileLockOptions> = {}): FileLock.FileLockOptions => ({
  ...FileLock.defaults(path.join(dir, "thing.lk")),
  ...overrides
})

describe("FileLock", () => {
  it.live("creates the lock directory while held and removes it afterwards", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    return Effect.gen(function*() {
      const seen = yield* FileLock.withLock(options, (held) =>
        Effect.gen(function*() {
          yield* held.verify
          return fs.statSync(options.lockPath).isDirectory()
        }))
      expect(seen).toBe(true)
      expect(fs.existsSync(options.lockPath)).toBe(false)
    })
  })

  it.live("releases the lock when the body fails", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(FileLock.withLock(options, () => Effect.fail("boom")))
      expect(exit).toStrictEqual(Exit.fail("boom"))
      expect(fs.existsSync(options.lockPath)).toBe(false)
    })
  })

  it.live("excludes: two holders never overlap", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    let inside = 0
    let maxInside = 0
    return Effect.gen(function*() {
      yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        () =>
          FileLock.withLock(options, () =>
            Effect.gen(function*() {
              inside++
              maxInside = Math.max(maxInside, inside)
              yield* Effect.sleep("3 millis")
              inside--
            })),
        { concurrency: "unbounded" }
      )
      expect(maxInside).toBe(1)
    })
  })

  it.live("takes over a stale lock left by a dead holder", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    fs.mkdirSync(options.lockPath)
    fs.writeFileSync(`${options.lockPath}.owner`, "999999:dead")
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(options.lockPath, old, old)
    return Effect.gen(function*() {
      const ok = yield* FileLock.withLock(options, (held) => Effect.as(held.verify, "ok")).pipe(
        Effect.timeout("2 seconds")
      )
      expect(ok).toBe("ok")
    })
  })

  it.live("a fresh lock is waited for, then times out naming the holder", () => {
    const dir = dirs.make()
    const options = optionsIn(dir, { timeout: Duration.millis(200) })
    fs.mkdirSync(options.lockPath)
    fs.writeFileSync(`${options.lockPath}.owner`, "4242:someone")
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(FileLock.withLock(options, () => Effect.void))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error).toBeInstanceOf(FileLock.LockFailed)
        expect(exit.cause.error.message).toContain("timed out waiting for lock")
        expect(exit.cause.error.message).toContain("pid 4242")
      } else {
        throw new Error("expected a LockFailed")
      }
      // someone else's lock is left alone
      expect(fs.existsSync(options.lockPath)).toBe(true)
    })
  })

  it.live("waiting is interruptible, and an interrupted waiter leaves nothing behind", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    return Effect.gen(function*() {
      const holder = yield* Effect.fork(FileLock.withLock(options, () => Effect.never))
      yield* Effect.sleep("30 millis")
      const waiter = yield* Effect.fork(FileLock.withLock(options, () => Effect.succeed("never")))
      yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(waiter).pipe(Effect.timeout("2 seconds"))
      yield* Fiber.interrupt(holder)
      expect(fs.existsSync(options.lockPath)).toBe(false)
      // and it can be taken again at once
      expect(yield* FileLock.withLock(options, () => Effect.succeed(1)).pipe(Effect.timeout("2 seconds"))).toBe(1)
    })
  })

  it.live("verify fails once another process took the lock over, and the new holder's lock is not removed", () => {
    const dir = dirs.make()
    const options = optionsIn(dir)
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(FileLock.withLock(options, (held) =>
        Effect.gen(function*() {
          yield* held.verify
          // another process decides the lock is stale, replaces it and writes its token
          fs.rmdirSync(options.lockPath)
          fs.mkdirSync(options.lockPath)
          fs.writeFileSync(`${options.lockPath}.owner`, "4242:thief")
          return yield* held.verify
        })))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error.reason).toBe("lost")
        expect(exit.cause.error.message).toContain("pid 4242")
      }
      expect(fs.existsSync(options.lockPath)).toBe(true)
    })
  })

  it.live("a compromised lock (directory removed under the holder) is reported by verify, never thrown", () => {
    const dir = dirs.make()
    const options = optionsIn(dir, { staleMs: 2_000, updateMs: 1_000 })
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(FileLock.withLock(options, (held) =>
        Effect.gen(function*() {
          fs.rmdirSync(options.lockPath)
          // the library notices at its next refresh (1 s); it must not throw from its timer
          yield* Effect.sleep("1500 millis")
          return yield* held.verify
        })))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        expect(exit.cause.error.reason).toBe("lost")
      }
    })
  })

  it("lockPathFor never names the original a3s-box's flock file", () => {
    expect(FileLock.lockPathFor("/h/boxes.json")).toBe("/h/boxes.json.lk")
  })
})
