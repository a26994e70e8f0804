import { spawn, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { bin, requireBuild, waitFor, World } from "./e2e.js"

/**
 * Issue 15 end to end: the built CLI, real boxes and a real monitor that keeps their console logs
 * under their caps (monitor/LogRotator.ts). A box printing 50 MB is held at its cap; `logs --tail`
 * reads its last lines; `logs -f` started before the rotations sees every line after them.
 */

let world: World

beforeAll(() => requireBuild())

afterEach(async () => {
  await world.cleanup()
})

/** Bytes on disk of the box's log and its rotated files (not the rotation record). */
const logBytes = (boxDir: string): number =>
  readdirSync(boxDir)
    .filter((name) => name.startsWith("console.log") && !name.endsWith(".rotation"))
    .reduce((sum, name) => {
      try {
        return sum + statSync(path.join(boxDir, name)).size
      } catch {
        return sum // rotated away meanwhile
      }
    }, 0)

const MIB = 1024 * 1024

describe("console log rotation (end to end)", () => {
  it("a box printing 50 MB is held at its cap, and logs --tail 5 shows its last lines", async () => {
    const w = (world = new World())
    await w.startMonitor("--interval", "5")
    // 1,400,000 lines of 38 bytes (53 MB) in 50 bursts, each as fast as awk can print, then one last line.
    const program = "sleep 0.5; j=0; while [ $j -lt 50 ]; do awk -v j=$j 'BEGIN { for (i = 0; i < 28000; i++) " +
      "printf \"line %08d abcdefghijklmnopqrstuv\\n\", j * 28000 + i }'; j=$((j+1)); sleep 0.05; done; echo printed; exec sleep 1000"
    const run = w.cli("run", "-d", "--name", "chatty", "--log-max-size", "1m", "--log-max-files", "3", "--", "sh", "-c", program)
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    const boxDir = w.box("chatty")!.box_dir
    let largest = 0
    const sampler = setInterval(() => { largest = Math.max(largest, logBytes(boxDir)) }, 5)
    try {
      await waitFor("the box to print its last line", () => {
        const tail = w.cli("logs", "--tail", "1", "chatty")
        return tail.stdout === "printed\n"
      }, 60_000)
      // The cap, 3 x 1 MiB, with a rotated file's allowance of an eighth over (platform/LogRotation.ts).
      await waitFor("the log held at its cap", () => logBytes(boxDir) <= 3.25 * MIB, 30_000).catch((error: Error) => {
        const files = readdirSync(boxDir).map((name) => `${name} ${statSync(path.join(boxDir, name)).size}`).join(", ")
        throw new Error(`${error.message}: ${files}; the monitor said: ${w.output.join("").slice(-2000)}`)
      })
    } finally {
      clearInterval(sampler)
    }
    const rotation = JSON.parse(readFileSync(path.join(boxDir, "console.log.rotation"), "utf8")) as { rotations: number }
    expect(rotation.rotations).toBeGreaterThan(2)
    expect(existsSync(path.join(boxDir, "console.log.3"))).toBe(false)
    // Never let grow to anything like what it printed (it is looked at every 100 ms while it
    // grows: a burst or two over; half of it would take the monitor starved for a second or more).
    expect(largest).toBeLessThan(26 * MIB)
    console.log(`log rotation e2e: largest on disk while printing 53 MB at cap 3 MiB: ${(largest / MIB).toFixed(1)} MiB; ${rotation.rotations} rotations`)
    const tail = w.cli("logs", "--tail", "5", "chatty")
    expect(tail.status).toBe(0)
    expect(tail.stdout).toBe(
      [1399996, 1399997, 1399998, 1399999].map((i) => `line ${String(i).padStart(8, "0")} abcdefghijklmnopqrstuv\n`).join("") +
        "printed\n"
    )
    // Whole lines across the files: the newest kept bytes, in order, oldest file first.
    // (A rotated file ends where the box was when it was cut, maybe mid-line: only whole lines count.)
    const whole = spawnSync(process.execPath, [bin, "logs", "chatty"], { env: w.env, encoding: "utf8", maxBuffer: 64 * MIB })
    expect(whole.status).toBe(0)
    const all = whole.stdout.split("\n").filter((l) => /^line \d{8} abcdefghijklmnopqrstuv$/.test(l))
    const numbers = all.map((l) => Number(l.slice(5, 13)))
    // .1 and .2 hold a mebibyte each (27,594 lines), the live file the last line.
    expect(numbers.length).toBeGreaterThan(55_000)
    expect(numbers.at(-1)).toBe(1399999)
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!)
  }, 90_000)

  it("logs -f started before the rotations sees every line after them, once and in order", async () => {
    const w = (world = new World())
    await w.startMonitor("--interval", "5")
    const pad = "x".repeat(150)
    const program = `sleep 0.5; i=0; while [ $i -lt 300 ]; do printf 'tick %05d %s\\n' $i "$PAD"; i=$((i+1)); sleep 0.01; done; echo ticker-done; exec sleep 1000`
    const run = w.cli("run", "-d", "--name", "ticker", "-e", `PAD=${pad}`, "--log-max-size", "16k", "--log-max-files", "2", "--", "sh", "-c", program)
    expect(run.status).toBe(0)
    const boxDir = w.box("ticker")!.box_dir
    const follower = spawn(process.execPath, [bin, "logs", "-f", "ticker"], { env: w.env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    follower.stdout.setEncoding("utf8").on("data", (chunk: string) => { out += chunk })
    const exited = new Promise((resolve) => follower.once("exit", resolve))
    try {
      await waitFor("the follower to see the box's last line", () => out.includes("ticker-done\n"), 60_000)
    } finally {
      follower.kill("SIGINT")
      await exited
    }
    const rotation = JSON.parse(readFileSync(path.join(boxDir, "console.log.rotation"), "utf8")) as { rotations: number }
    expect(rotation.rotations).toBeGreaterThanOrEqual(2)
    const expected = Array.from({ length: 300 }, (_, i) => `tick ${String(i).padStart(5, "0")} ${pad}\n`).join("") + "ticker-done\n"
    expect(out).toBe(expected)
  }, 90_000)
})
