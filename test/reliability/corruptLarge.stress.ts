/**
 * 50 MB corrupt state files (npm run test:stress: reading and decoding them takes seconds of CPU
 * per command): broken at the very end, or with a byte that is not UTF-8 in the very last record,
 * so that all of the file has to be read and decoded before the problem shows. ps, run -d, stop,
 * rm -f and the monitor report it (a short message, not 50 MB of it) and leave it as it was.
 * (A wrong field type in one record no longer makes the file corrupt: that record is kept in
 * place as invalid and the rest are supervised; stateFileAttacks.e2e.test.ts covers it.)
 */
import { writeFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Lab, labs, plain, record, requireBuild, waitFor } from "./support.js"

beforeAll(requireBuild)

const homes = labs()
afterAll(() => homes.cleanupAll())

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** About 50 MB of records (`count` of them, with unknown data padding each), the last one broken by `breakLast`. */
const fiftyMegabytes = (count: number, breakLast: (text: string) => Buffer): Buffer => {
  const pad = "x".repeat(Math.ceil(50_000_000 / count))
  const parts: Array<string> = []
  for (let i = 0; i < count; i++) parts.push(JSON.stringify(record(i + 1, { pad })))
  return breakLast(`[${parts.join(",\n")}]`)
}

const expectReported = (lab: Lab, result: { code: number | null; stderr: string }, what: string) => {
  const stderr = plain(result.stderr)
  expect({ what, code: result.code }).toEqual({ what, code: 1 })
  expect(stderr, what).toMatch(
    new RegExp(`^Error: state file ${escape(lab.stateFile)} is corrupt and was left untouched: .+\\. Repair or move it away, then retry\\.\\n$`, "s")
  )
  expect(stderr, what).not.toMatch(/^\s+at /m)
  expect(stderr.length, what).toBeLessThan(2_000)
}

describe("a 50 MB state file", () => {
  it.each([
    ["48,000 records, broken at its very end (truncated)", 48_000, (text: string) => Buffer.from(text.slice(0, -3))],
    ["5,000 records with a byte that is not UTF-8 in the last one", 5_000, (text: string) => {
      const at = text.lastIndexOf("\"sleep\"")
      // "sleep" becomes "sl\xffep": still valid JSON to a lenient decoder, so only strict decoding catches it
      return Buffer.concat([Buffer.from(text.slice(0, at + 3)), Buffer.from([0xff]), Buffer.from(text.slice(at + 3))])
    }]
  ] as const)("%s: reported by ps, run -d, stop, rm -f and the monitor, untouched", { timeout: 600_000 }, async (_, count, breakLast) => {
    const lab = homes.make()
    const text = fiftyMegabytes(count, breakLast)
    expect(text.length).toBeGreaterThan(50_000_000)
    writeFileSync(lab.stateFile, text)
    const before = lab.fileStamp()!
    for (const args of [["ps"], ["run", "-d", "--", "sleep", "300"], ["stop", "box1"], ["rm", "-f", "box2"]]) {
      const started = Date.now()
      const result = await lab.cli(...args)
      console.log(`50 MB corrupt state file (${count} records): a3s-box ${args.join(" ")} reported it in ${Date.now() - started} ms`)
      expectReported(lab, result, `a3s-box ${args.join(" ")}`)
    }
    const started = Date.now()
    const monitor = await lab.startMonitor(["--interval", "1"])
    await waitFor("the monitor's report", () => monitor.logs.some((l) => l.message.includes("is corrupt and was left untouched")), 180_000)
    console.log(`50 MB corrupt state file (${count} records): the monitor reported it ${Date.now() - started} ms after it was started`)
    // a few more cycles: it does not parse the unchanged file again each time, and writes nothing
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    await monitor.kill("SIGTERM")
    expect(lab.fileStamp()).toEqual(before)
    expect(lab.boxDirs()).toEqual([])
  })
})
