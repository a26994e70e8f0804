import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { readProcessInfo } from "../../src/runtime/ProcessInfo.js"
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

  it("ownerVerdict: abandoned only for this lock directory, this host, and an owner that is gone", () => {
    const owner = { pid: 42, startTime: 1000, host: "h", lockId: "7-1" }
    const alive = Option.some({ state: "S", startTime: 1000 })
    const table: ReadonlyArray<readonly [string, Parameters<typeof FileLock.ownerVerdict>[0], string]> = [
      ["owner alive", { owner: Option.some(owner), lockId: "7-1", host: "h", process: alive }, "alive"],
      ["no such pid", { owner: Option.some(owner), lockId: "7-1", host: "h", process: Option.none() }, "abandoned"],
      ["a zombie", { owner: Option.some(owner), lockId: "7-1", host: "h", process: Option.some({ state: "Z", startTime: 1000 }) }, "abandoned"],
      ["pid reused (other start time)", { owner: Option.some(owner), lockId: "7-1", host: "h", process: Option.some({ state: "S", startTime: 1001 }) }, "abandoned"],
      ["owner file of another lock directory (not yet rewritten by the new holder)", { owner: Option.some(owner), lockId: "8-1", host: "h", process: Option.none() }, "unknown"],
      ["lock directory gone", { owner: Option.some(owner), lockId: undefined, host: "h", process: Option.none() }, "unknown"],
      ["another host (cannot tell its processes)", { owner: Option.some(owner), lockId: "7-1", host: "other", process: Option.none() }, "unknown"],
      ["an older or half-written token", { owner: Option.none(), lockId: "7-1", host: "h", process: Option.none() }, "unknown"]
    ]
    for (const [what, input, verdict] of table) expect(FileLock.ownerVerdict(input), what).toBe(verdict)
  })

  it("tokens: formatted with the pid first, parsed back; anything else is no owner", () => {
    const owner = { pid: 42, startTime: 1000, host: "my:host", lockId: "7-1" }
    const token = FileLock.formatToken(owner, "abc")
    expect(token.split(":")[0]).toBe("42")
    expect(FileLock.parseToken(token)).toStrictEqual(Option.some(owner))
    for (const bad of ["", "42:abc", "999999:dead", "x:abc:v2:1:7-1:h", "42:abc:v2:1::h", `${token}:more`]) {
      expect(FileLock.parseToken(bad), bad).toStrictEqual(Option.none())
    }
  })

  /** A lock directory as a holder leaves it, with an owner token naming `pid` (this process when alive) and `startTime`. */
  const abandonedLock = (options: FileLock.FileLockOptions, startTime: (own: number) => number) => {
    fs.mkdirSync(options.lockPath)
    const own = Option.getOrThrow(Effect.runSync(readProcessInfo(process.pid))).startTime
    const lockId = FileLock.lockIdOf(fs.statSync(options.lockPath, { bigint: true }))
    fs.writeFileSync(`${options.lockPath}.owner`, FileLock.formatToken({ pid: process.pid, startTime: startTime(own), host: os.hostname(), lockId }, "x"))
    return lockId
  }

  it.live("a fresh lock whose owner is gone (its pid now another process) is taken over without waiting for it to go stale", () => {
    const dir = dirs.make()
    // staleMs 10 s, and a wait of at most 3 s: only a take-over gets it
    const options = optionsIn(dir, { timeout: Duration.seconds(3) })
    abandonedLock(options, (own) => own + 1)
    return Effect.gen(function*() {
      expect(yield* FileLock.withLock(options, (held) => Effect.as(held.verify, "ok"))).toBe("ok")
      expect(fs.existsSync(options.lockPath)).toBe(false)
      expect(fs.readdirSync(dir).filter((n) => n.includes("abandoned"))).toStrictEqual([])
    })
  })

  it.live("a fresh lock whose owner is alive keeps the stale rule: it is waited for", () => {
    const dir = dirs.make()
    const options = optionsIn(dir, { timeout: Duration.millis(300) })
    abandonedLock(options, (own) => own)
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(FileLock.withLock(options, () => Effect.void))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("timeout")
      expect(fs.existsSync(options.lockPath)).toBe(true)
    })
  })

  it("takeOver: of two waiters that saw the same abandoned lock, one removes it; the other leaves the new holder's lock alone", () => {
    const dir = dirs.make()
    const lockPath = path.join(dir, "thing.lk")
    fs.mkdirSync(lockPath)
    const abandoned = FileLock.lockIdOf(fs.statSync(lockPath, { bigint: true }))
    expect(FileLock.takeOver(lockPath, abandoned)).toBe(true)
    expect(fs.existsSync(lockPath)).toBe(false)
    // the first waiter's new lock
    fs.mkdirSync(lockPath)
    const fresh = FileLock.lockIdOf(fs.statSync(lockPath, { bigint: true }))
    expect(FileLock.takeOver(lockPath, abandoned)).toBe(false)
    expect(FileLock.lockIdOf(fs.statSync(lockPath, { bigint: true }))).toBe(fresh)
    expect(fs.readdirSync(dir)).toStrictEqual(["thing.lk"])
    fs.rmdirSync(lockPath)
    expect(FileLock.takeOver(lockPath, abandoned)).toBe(false)
  })

  it("lockPathFor never names the original a3s-box's flock file", () => {
    expect(FileLock.lockPathFor("/h/boxes.json")).toBe("/h/boxes.json.lk")
  })
})
