/**
 * Issue 16: a monitor (or `run`) SIGKILLed between booting a box and recording it leaves the
 * gated job without its `go`; it exits 125 without running the command. Its wrapper used to
 * write that 125 into the box's `exit_code`, late, over the real exit code of the box's next
 * incarnation (after 40 chaos rounds every box showed "Exit 125" though each only ever exited
 * 1). An abandoned boot now writes no exit code at all.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { Cleanup, eventually, readStat, readText, recordIn, tempDir } from "../runtime/support.js"

const runtime = Effect.runSync(LocalBoxRuntime.make)
const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "boot-gated.ts")

/** Starts a process that boots `record` gated and never records it; resolves with it and the parked job's pid. */
const bootAndHang = async (record: unknown) => {
  const booter = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify(record)], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  booter.stdout.on("data", (d: Buffer) => (out += d.toString()))
  booter.stderr.on("data", (d: Buffer) => (err += d.toString()))
  const exited = new Promise<void>((resolve) => booter.once("exit", () => resolve()))
  await eventually("the gated boot's pid", () => out.includes("\n") || booter.exitCode !== null, 20_000)
  if (!out.includes("\n")) throw new Error(`the booting process failed: ${err}`)
  const { pid } = JSON.parse(out) as { pid: number }
  cleanup.track(pid)
  const wrapper = readStat(pid)!.ppid
  cleanup.track(wrapper)
  return { booter, pid, wrapper, exited }
}

describe("a gated boot abandoned by a booting process SIGKILLed before it recorded the box", () => {
  it("never writes the box's exit_code: the next incarnation's real exit code stays, round after round", async () => {
    const dir = tempDir(cleanup)
    const box = recordIn(dir, { cmd: ["sh", "-c", "exit 1"] })
    for (let round = 0; round < 5; round++) {
      const ran = path.join(dir, `abandoned-ran-${round}`)
      // The booting process (a monitor restarting the box) parks the box's job at its gate...
      const abandoned = await bootAndHang({ ...box, cmd: ["sh", "-c", `touch '${ran}'`] })
      // ...a newer incarnation of the box runs and exits 1 (its wrapper writes "1")...
      const next = await Effect.runPromise(runtime.boot(box))
      cleanup.track(next.pid)
      expect(await Effect.runPromise(next.exited)).toBe(1)
      expect(readText(LocalBoxRuntime.exitCodePath(box))).toBe("1\n")
      // ...then the first booting process is SIGKILLed: its job reads end-of-file on the gate.
      abandoned.booter.kill("SIGKILL")
      await abandoned.exited
      await eventually("the abandoned job and its wrapper are gone", () =>
        [abandoned.pid, abandoned.wrapper].every((pid) => readStat(pid) === undefined || readStat(pid)?.state === "Z"))
      expect(existsSync(ran)).toBe(false)
      expect(readText(LocalBoxRuntime.exitCodePath(box))).toBe("1\n")
      expect(await Effect.runPromise(runtime.exitCode(box))).toEqual(Option.some(1))
    }
  })

  it("leaves no exit_code of its own when nothing else ran", async () => {
    const dir = tempDir(cleanup)
    const box = recordIn(dir, { cmd: ["sleep", "30"] })
    const abandoned = await bootAndHang(box)
    abandoned.booter.kill("SIGKILL")
    await abandoned.exited
    await eventually("the abandoned job and its wrapper are gone", () =>
      [abandoned.pid, abandoned.wrapper].every((pid) => readStat(pid) === undefined || readStat(pid)?.state === "Z"))
    expect(existsSync(LocalBoxRuntime.exitCodePath(box))).toBe(false)
    expect(await Effect.runPromise(runtime.exitCode(box))).toEqual(Option.none())
  })
})
