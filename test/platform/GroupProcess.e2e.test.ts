import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as GroupProcess from "../../src/platform/GroupProcess.js"
import { pidRuns } from "../support/pidRuns.js"
import { leftovers } from "../support/Leftovers.js"

const { dirs, pids } = leftovers()


const until = (check: () => boolean, ms = 2_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !check() && waited < ms; waited += 10) yield* Effect.sleep(Duration.millis(10))
    return check()
  })

const sh = (script: string, more: Partial<GroupProcess.GroupRunOptions> = {}) =>
  GroupProcess.runInGroup({ cmd: ["sh", "-c", script], env: { PATH: process.env["PATH"] }, outputTail: 64, ...more })

describe("GroupProcess.runInGroup", () => {
  it.live("gives the command its stdin, and reports its exit code and the tail of its output", () =>
    Effect.gen(function*() {
      const result = yield* sh("read line; echo \"got $line\"; exit 4", { stdin: "hello\n" })
      expect(result).toEqual({ exit: GroupProcess.GroupExit.Exited({ code: 4 }), tail: "got hello\n" })
    }))

  it.live("a command that does not read a large stdin is no failure (EPIPE is ignored)", () =>
    Effect.gen(function*() {
      const result = yield* sh("exit 0", { stdin: "x".repeat(4 * 1024 * 1024) })
      expect(result.exit).toEqual(GroupProcess.GroupExit.Exited({ code: 0 }))
    }))

  it.live("a program that cannot be started is SpawnFailed", () =>
    Effect.gen(function*() {
      const result = yield* GroupProcess.runInGroup({ cmd: ["/no/such/a3s-program"], env: {}, outputTail: 64 })
      expect(result.exit._tag).toBe("SpawnFailed")
    }))

  it.live("interrupted with a grace: SIGTERM to the group, then SIGKILL to what ignores it", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-group-"))
      dirs.push(dir)
      // sh and its sleep both ignore SIGTERM (an ignored signal stays ignored across exec)
      const fiber = yield* Effect.fork(sh(`trap '' TERM; sleep 30 & echo $! > '${dir}/child'; wait`, { termGraceMillis: 200 }))
      const file = path.join(dir, "child")
      expect(yield* until(() => fs.existsSync(file) && fs.readFileSync(file, "utf8").endsWith("\n"))).toBe(true)
      const child = Number(fs.readFileSync(file, "utf8"))
      pids.push(child)
      const started = Date.now()
      yield* Fiber.interrupt(fiber)
      const took = Date.now() - started
      // the interruption waited for the SIGKILL 200 ms later and the leader's reaping
      expect(took).toBeGreaterThanOrEqual(190)
      expect(took).toBeLessThan(2_000)
      expect(yield* until(() => !pidRuns(child))).toBe(true)
    }))
})
