/**
 * The journal across processes: 8 writer processes (test/events/writer.ts, bundled with esbuild
 * once: eight `node --import tsx` start-ups take seconds on a busy machine) append at once, with
 * rotations, while this process follows the journal.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Chunk from "effect/Chunk"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as NodeEventJournal from "../../src/events/NodeEventJournal.js"
import { repoRoot, tempDirs } from "../state/support.js"
import { waitFor } from "../support/CliHome.js"

const dirs = tempDirs()
const children: Array<ChildProcess> = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
})
afterAll(() => dirs.cleanup())

let writerBundle = ""
beforeAll(async () => {
  writerBundle = path.join(dirs.make("a3s-journal-writer-"), "writer.mjs")
  await build({
    entryPoints: [path.join(repoRoot, "test/events/writer.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: writerBundle,
    logLevel: "error",
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" }
  })
})

const startWriter = (...args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [writerBundle, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.push(child)
  let output = ""
  child.stdout?.on("data", (chunk) => (output += String(chunk)))
  child.stderr?.on("data", (chunk) => (output += String(chunk)))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { output: () => output, exited }
}

describe("NodeEventJournal across processes", () => {
  it("8 concurrent writer processes: every line parses, seqs are unique and contiguous, none lost, a follower sees them all", async () => {
    const PROCS = 8
    const EACH = 40
    const home = dirs.make("a3s-journal-e2e-")
    const barrier = path.join(home, "go")
    const journal = await Effect.runPromise(NodeEventJournal.make(home, { pollInterval: "20 millis" }))
    const followed = Effect.runPromise(journal.follow().pipe(Stream.take(PROCS * EACH), Stream.runCollect))
    const writers = Array.from({ length: PROCS }, (_, i) => startWriter(home, `b${i}`, String(EACH), "4096", barrier))
    await waitFor("all writers ready", () => writers.every((w) => w.output().includes("ready")), 60_000)
    fs.writeFileSync(barrier, "")
    const codes = await Promise.all(writers.map((w) => w.exited))
    expect(codes).toEqual(Array(PROCS).fill(0))
    for (const writer of writers) expect(writer.output()).toContain("done 0")

    // Every line of every file parses.
    const files = fs.readdirSync(home).filter((name) => /^events\.jsonl(\.\d+)?$/.test(name))
    expect(files.length).toBeGreaterThan(3)
    const lines = files.flatMap((name) => fs.readFileSync(path.join(home, name), "utf8").split("\n").filter((l) => l !== ""))
    const parsed = lines.map((line) => NodeEventJournal.parseLine(line))
    expect(parsed.filter((event) => event === undefined)).toEqual([])
    const seqs = parsed.map((event) => event!.seq).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: PROCS * EACH }, (_, i) => i + 1))
    // Each writer's events are all there, in its order.
    const all = Chunk.toReadonlyArray(await Effect.runPromise(Stream.runCollect(journal.read({}))))
    expect(all.map((event) => event.seq)).toEqual(seqs)
    for (let i = 0; i < PROCS; i++) {
      const mine = all.filter((event) => event.type === "die" && event.box_name === `b${i}`)
      expect(mine.map((event) => (event.type === "die" ? event.exit_code : -1))).toEqual(Array.from({ length: EACH }, (_, k) => k + 1))
    }
    // The follower, started before the first append, saw them all once, across the rotations.
    const seen = Chunk.toReadonlyArray(await followed)
    expect(seen.map((event) => event.seq)).toEqual(seqs)
  }, 120_000)
})
