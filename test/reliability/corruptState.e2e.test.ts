/**
 * Corrupt state files against the built CLI: truncated, empty (zero bytes or blank), not an
 * array, wrong field types, nested too deep, numbers JSON cannot carry, and 50 MB ones. Every
 * command and the monitor report the file (a one-line error naming it, no stack trace) and leave
 * it exactly as it was: same bytes, same mtime, no box directory, no process.
 *
 * "Empty" (decision): a state file of zero bytes, or of whitespace only, is corrupt, not an empty
 * list. Neither a3s-box writes one (an empty list is written `[]`); a zero-byte file is what a
 * crashed or disk-full non-atomic writer leaves behind, and reading it as "no boxes" would let the
 * next `run -d` overwrite what was lost and make the metrics report a falsely healthy empty fleet
 * (SPEC §8). A missing file is still an empty list (SPEC §2).
 *
 * 50 MB files: corruptLarge.stress.ts (npm run test:stress).
 */
import { writeFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { inHome } from "../support/BoxDirs.js"
import { type Lab, labs, plain, record, requireBuild, waitFor } from "./support.js"

beforeAll(requireBuild)

const homes = labs()
afterAll(() => homes.cleanupAll())

const valid = JSON.stringify([record(1), record(2, { status: "dead", exit_code: 1 })], null, 2)

/** Every command for the common kinds of damage; the others with a few commands (CI time). */
const corruptions: ReadonlyArray<readonly [string, () => string]> = [
  ["truncated", () => valid.slice(0, Math.floor(valid.length / 2))],
  ["empty (zero bytes)", () => ""],
  ["blank (whitespace only)", () => "\n  \n"],
  ["not an array", () => JSON.stringify({ boxes: JSON.parse(valid) as unknown })],
  // An array whose elements are not all records is not corrupt (SPEC §12); those cases, and bytes
  // that are not UTF-8, are in stateFileAttacks.e2e.test.ts.
  ["a record nested 100,000 deep", () => `[${JSON.stringify(record(1)).slice(0, -1)},"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}]`],
  ["a number JSON cannot carry (1e400)", () => `[${JSON.stringify(record(1)).slice(0, -1)},"restart_count":1e400}]`],
  ["NUL bytes", () => "\u0000".repeat(64)]
]

/** Every command that reads the state, with arguments that would change it if it could. */
const commands: ReadonlyArray<ReadonlyArray<string>> = [
  ["ps"],
  ["ps", "-a", "--format", "json"],
  ["run", "-d", "--name", "new", "--", "sleep", "300"],
  ["run", "--rm", "--", "echo", "attached"],
  ["stop", "box1"],
  ["start", "box1"],
  ["restart", "box1"],
  ["rm", "box1"],
  ["rm", "-f", "box1"],
  ["logs", "box1"],
  ["inspect", "box1"]
]

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Runs `items` through `f`, `limit` at a time. */
const pool = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (item: A) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = []
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }))
  return out
}

/** The checks every command's run must pass against a corrupt file. */
const expectReported = (lab: Lab, result: { code: number | null; stderr: string }, what: string) => {
  const stderr = plain(result.stderr)
  expect({ what, code: result.code }).toEqual({ what, code: 1 })
  expect(stderr, what).toMatch(
    new RegExp(`^Error: state file ${escape(lab.stateFile)} is corrupt and was left untouched: .+\\. Repair or move it away, then retry\\.\\n$`, "s")
  )
  expect(stderr, what).not.toMatch(/^\s+at /m)
  // a message a person can read, whatever the size of the file
  expect(stderr.length, what).toBeLessThan(2_000)
}

/** The damage checked with every command; the rest with `someCommands`. */
const everyCommandFor = new Set(["truncated", "empty (zero bytes)", "not an array", "NUL bytes"])
const someCommands: ReadonlyArray<ReadonlyArray<string>> = [["ps"], ["run", "-d", "--", "sleep", "300"], ["stop", "box1"], ["rm", "-f", "box1"]]

describe("a corrupt state file is reported and left exactly as it was", () => {
  it.each(corruptions)("%s: by the commands", { timeout: 120_000 }, async (what, make) => {
    const lab = homes.make()
    writeFileSync(lab.stateFile, make())
    const before = lab.fileStamp()!
    await pool(everyCommandFor.has(what) ? commands : someCommands, 3, async (args) => {
      const result = await lab.cli(...args)
      expectReported(lab, result, `${what}: a3s-box ${args.join(" ")}`)
    })
    expect(lab.fileStamp()).toEqual(before)
    expect(lab.boxDirs()).toEqual([])
    expect(lab.boxProcesses().size).toBe(0)
  })

  it("by the monitor, which keeps polling and recovers once the file is repaired", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    for (const [what, make] of corruptions.filter(([w]) => /truncated|zero bytes|NUL bytes|100,000 deep/.test(w))) {
      writeFileSync(lab.stateFile, make())
      const before = lab.fileStamp()!
      const monitor = await lab.startMonitor(["--interval", "1"])
      const report = await waitFor(`${what}: the monitor's report`, () =>
        monitor.logs.find((l) => l.message.includes(`state file ${lab.stateFile} is corrupt and was left untouched`)))
      expect(report.level, what).toBe("error")
      expect(report.message.length, what).toBeLessThan(2_000)
      // more cycles (interval 1 s): still untouched, still running, reported once (not every second)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(lab.fileStamp(), what).toEqual(before)
      expect(monitor.child.exitCode, what).toBeNull()
      expect(monitor.logs.filter((l) => l.message.includes("is corrupt")).length, what).toBe(1)
      expect(monitor.other(), what).not.toMatch(/^\s+at /m)
      // repaired: it goes on by itself and restarts the dead box (restart policy always)
      writeFileSync(lab.stateFile, JSON.stringify([inHome(lab.home, record(1, { status: "dead", cmd: lab.markedCmd("box1", "while :; do sleep 1; done") }))]))
      await waitFor(`${what}: the repaired file's box to be restarted`, () => lab.box("box1")?.status === "running")
      expect(monitor.logs.some((l) => l.message === `monitor: state file ${lab.stateFile} is readable again`), what).toBe(true)
      await monitor.kill("SIGTERM")
      await lab.cli("rm", "-f", "box1")
    }
  })
})
