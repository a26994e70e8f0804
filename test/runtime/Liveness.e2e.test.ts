/**
 * The batch liveness check (`ProcessInfo.areAlive`, used by poll cycles over every active box)
 * against real processes: it must give exactly `isAlive`'s answers (SPEC §3), including for a
 * process whose name holds spaces and parentheses, a zombie, a reused pid (wrong start time)
 * and a pid that does not exist.
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { copyFileSync } from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { Cleanup, eventually, readStat, tempDir } from "./support.js"

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const startSleeper = (exe = "sleep"): number => {
  const child = spawn(exe, ["30"], { detached: true, stdio: "ignore" })
  child.unref()
  cleanup.track(child.pid!)
  return child.pid!
}

describe("areAlive (batch liveness)", () => {
  it("agrees with isAlive on live, reused, missing, odd-named and zombie processes", async () => {
    const dir = tempDir(cleanup)
    const odd = path.join(dir, "a) b (c 1 2 3")
    copyFileSync("/bin/sleep", odd)
    const plain = startSleeper()
    const oddPid = startSleeper(odd)
    const parent = spawn("bash", ["-c", "sleep 0.2 & echo $!; exec sleep 30"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"]
    })
    parent.unref()
    cleanup.track(parent.pid!)
    const zombie = await new Promise<number>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString()))))
    await eventually("the odd-named process runs", () => readStat(oddPid)?.startTime !== undefined && readStat(oddPid)!.state === "S")
    await eventually("the zombie", () => readStat(zombie)?.state === "Z")
    const start = (pid: number) => readStat(pid)!.startTime

    const procs = [
      { pid: plain, startTime: start(plain) }, // alive
      { pid: plain, startTime: null }, // alive, identity not recorded
      { pid: plain, startTime: start(plain) + 1 }, // reused pid: dead
      { pid: oddPid, startTime: start(oddPid) }, // alive despite ") " in its name
      { pid: oddPid, startTime: start(oddPid) - 1 },
      { pid: zombie, startTime: start(zombie) }, // zombie: dead
      { pid: zombie, startTime: null },
      { pid: process.pid, startTime: null },
      { pid: 999_999_999, startTime: null }, // no such process
      { pid: 0, startTime: null },
      { pid: -1, startTime: null },
      { pid: 1.5, startTime: null }
    ]
    const batch = await Effect.runPromise(ProcessInfo.areAlive(procs))
    const single = await Effect.runPromise(Effect.forEach(procs, (p) => ProcessInfo.isAlive(p.pid, p.startTime)))
    expect(batch).toStrictEqual(single)
    expect(batch).toStrictEqual([true, true, false, true, false, false, false, true, false, false, false, false])
  })
})
