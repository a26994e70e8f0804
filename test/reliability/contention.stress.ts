/**
 * The full contention run (npm run test:stress; `npm test` runs 8 x 100 in
 * test/state/NodeStateStore.e2e.test.ts): 8 processes x 250 locked increments of one record
 * (test/state/worker.ts), while a reader in another process (every millisecond) and this one
 * (every event-loop turn) read the file. Exactly 2,000 at the end; every read, at any instant, is a complete file
 * that parses; the counter never goes back; the other records come through intact.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import * as Either from "effect/Either"
import { afterEach, describe, expect, it } from "vitest"
import { parseStateFile } from "../../src/domain/StateFileCodec.js"
import { fixtureText, record, repoRoot, tempDirs } from "../state/support.js"

const PROCS = 8
const EACH = 250
const READERS = 1

const dirs = tempDirs()
const children: Array<ChildProcess> = []

afterEach(() => {
  for (const child of children.splice(0)) {
    // Our unreaped child (no exit seen): its pid cannot have been reused.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  dirs.cleanup()
})

const start = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += String(chunk)))
  child.stderr!.on("data", (chunk) => (output += String(chunk)))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { output: () => output, exited }
}

/**
 * A reader process: reads the file every millisecond until STOP exists, checks that each read
 * parses as JSON and that the counter never goes back; prints {"reads":N,"problems":[...]}.
 */
const READER = `
const fs = require("node:fs")
const [file, stop] = process.argv.slice(1)
const pause = new Int32Array(new SharedArrayBuffer(4))
let reads = 0, last = 0
const problems = []
while (!fs.existsSync(stop)) {
  Atomics.wait(pause, 0, 0, 1)
  const text = fs.readFileSync(file, "utf8")
  try {
    const counter = JSON.parse(text).find((r) => r.id === "counter")
    if (counter.restart_count < last) problems.push("went back from " + last + " to " + counter.restart_count)
    last = counter.restart_count
  } catch (error) {
    problems.push(String(error).slice(0, 200) + " (" + text.length + " bytes)")
  }
  reads++
}
process.stdout.write(JSON.stringify({ reads, last, problems: problems.slice(0, 10) }) + "\\n")
`

const waitUntil = async (what: string, timeoutMs: number, check: () => boolean): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("the state file under contention (8 processes x 250 locked increments)", () => {
  it("ends at exactly 2,000; every read at every instant parses; nothing else changes", async () => {
    const home = dirs.make("a3s-stress-")
    const file = path.join(home, "boxes.json")
    fs.writeFileSync(file, JSON.stringify([...(JSON.parse(fixtureText) as Array<unknown>), record("counter")], null, 2), { mode: 0o600 })
    const barrier = path.join(home, "go")
    const stop = path.join(home, "stop")
    const workers = Array.from({ length: PROCS }, () =>
      start(["--import", "tsx", path.join(repoRoot, "test/state/worker.ts"), "increment", home, String(EACH), barrier])
    )
    const readers = Array.from({ length: READERS }, () => start(["-e", READER, file, stop]))
    await waitUntil("every worker to be ready", 120_000, () => workers.every((w) => w.output().includes("ready")))

    const started = performance.now()
    fs.writeFileSync(barrier, "")
    let running = true
    const done = Promise.all(workers.map((w) => w.exited)).finally(() => (running = false))
    // This process reads too, and parses each read with the project's own decoder.
    let reads = 0
    let last = 0
    const problems: Array<string> = []
    while (running) {
      const text = await fs.promises.readFile(file, "utf8")
      const parsed = parseStateFile(text)
      if (Either.isLeft(parsed)) problems.push(`${parsed.left._tag}: ${parsed.left.detail.slice(0, 200)}`)
      else {
        const counter = parsed.right.records.find((r) => r.id === "counter")!.restart_count
        if (counter < last) problems.push(`went back from ${last} to ${counter}`)
        last = counter
      }
      reads++
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const codes = await done
    const elapsed = performance.now() - started
    fs.writeFileSync(stop, "")
    await Promise.all(readers.map((r) => r.exited))
    const readerReports = readers.map((r) => JSON.parse(r.output()) as { reads: number; problems: Array<string> })
    console.log(
      `contention: ${PROCS} x ${EACH} increments in ${Math.round(elapsed)} ms ` +
        `(${Math.round(elapsed / (PROCS * EACH) * 100) / 100} ms each); reads: ${reads} here, ` +
        `${readerReports.map((r) => r.reads).join(" and ")} in the reader process`
    )

    expect(codes).toEqual(Array(PROCS).fill(0))
    expect(problems).toEqual([])
    for (const report of readerReports) {
      expect(report.problems).toEqual([])
      expect(report.reads).toBeGreaterThan(100)
    }
    const final = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>
    expect(final.find((r) => r["id"] === "counter")!["restart_count"]).toBe(PROCS * EACH)
    expect(final.filter((r) => r["id"] !== "counter")).toEqual(JSON.parse(fixtureText))
    // nothing left behind: no temp file, no lock
    expect(fs.readdirSync(home).sort()).toEqual(["boxes.json", "boxes.json.lk.owner", "go", "stop"])
  }, 600_000)
})
