import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { spawn } from "node:child_process"
import { copyFileSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { readProcessInfo, readProcessInfoWithPs } from "../../src/runtime/ProcessInfo.js"
import { Cleanup, eventually, readStat, tempDir } from "./support.js"

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const bootTime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))![1])
const CLK_TCK = 100 // USER_HZ: 100 on every Linux architecture we run on

describe("process info of real processes", () => {
  it("reads a process whose name holds spaces and parentheses, and agrees with ps", async () => {
    const dir = tempDir(cleanup)
    const odd = path.join(dir, "a) b (c")
    copyFileSync("/bin/sleep", odd)
    const child = spawn(odd, ["30"], { detached: true, stdio: "ignore" })
    child.unref()
    cleanup.track(child.pid!)
    await eventually("the copy runs", () => readFileSync(`/proc/${child.pid}/stat`, "latin1").includes("(a) b (c)"))
    const proc = Option.getOrThrow(await Effect.runPromise(readProcessInfo(child.pid!)))
    expect(proc).toMatchObject({ pid: child.pid, ppid: process.pid, pgid: child.pid })
    // Sleeping, or still running on a busy machine.
    expect(proc.state).toMatch(/^[SR]$/)
    const ps = Option.getOrThrow(await Effect.runPromise(readProcessInfoWithPs(child.pid!)))
    expect(ps).toMatchObject({ pid: child.pid, ppid: process.pid, pgid: child.pid })
    expect(ps.state).toMatch(/^[SR]/)
    // Field 22 is clock ticks since boot: the same instant as ps's lstart, to the second.
    expect(Math.abs(bootTime + proc.startTime / CLK_TCK - ps.startTime)).toBeLessThanOrEqual(1)
  })

  it("both readers see nothing for a pid that does not exist", async () => {
    expect(await Effect.runPromise(readProcessInfo(999_999_999))).toEqual(Option.none())
    expect(await Effect.runPromise(readProcessInfoWithPs(999_999_999))).toEqual(Option.none())
    expect(await Effect.runPromise(readProcessInfoWithPs(0))).toEqual(Option.none())
  })

  it("ps shows a zombie as Z", async () => {
    const parent = spawn("bash", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { detached: true, stdio: ["ignore", "pipe", "ignore"] })
    parent.unref()
    cleanup.track(parent.pid!)
    const zombie = await new Promise<number>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString()))))
    await eventually("zombie", () => readStat(zombie)?.state === "Z")
    const ps = Option.getOrThrow(await Effect.runPromise(readProcessInfoWithPs(zombie)))
    expect(ps.state.startsWith("Z")).toBe(true)
  })
})
