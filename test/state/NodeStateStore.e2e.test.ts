/**
 * The state store across real processes: concurrent writers lose no update, readers never
 * see a half-written file, and a lock holder killed with SIGKILL does not block the others
 * for good. Each process is `node --import tsx test/state/worker.ts ...`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { parseStateFile } from "../../src/domain/StateFileCodec.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { fixtureText, record, repoRoot, stubRuntime, tempDirs } from "./support.js"

const dirs = tempDirs()
const children: Array<ChildProcess> = []

afterEach(() => {
  for (const child of children.splice(0)) {
    // Still our unreaped child (no exit seen yet), so the pid cannot have been reused.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  dirs.cleanup()
})

interface Worker {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const startWorker = (...args: ReadonlyArray<string>): Worker => {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "test/state/worker.ts"), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.push(child)
  let output = ""
  child.stdout?.on("data", (chunk) => (output += String(chunk)))
  child.stderr?.on("data", (chunk) => (output += String(chunk)))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, output: () => output, exited }
}

/** Polls until `check` holds, failing after `timeoutMs`. */
const waitUntil = async (what: string, timeoutMs: number, check: () => boolean): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const seedHome = (): string => {
  const home = dirs.make("a3s-e2e-")
  const seeded = [...(JSON.parse(fixtureText) as Array<unknown>), record("counter")]
  fs.writeFileSync(path.join(home, "boxes.json"), JSON.stringify(seeded, null, 2), { mode: 0o600 })
  return home
}

const counterIn = (text: string): number => {
  const parsed = parseStateFile(text)
  if (Either.isLeft(parsed)) throw new Error(`${parsed.left._tag}: ${parsed.left.detail}`)
  const counter = parsed.right.records.find((r) => r.id === "counter")
  if (counter === undefined) throw new Error("counter record missing")
  return counter.restart_count
}

describe("NodeStateStore across processes", () => {
  it("8 processes x 100 concurrent increments lose none; the file parses whenever a reader looks", async () => {
    const PROCS = 8
    const EACH = 100
    const home = seedHome()
    const file = path.join(home, "boxes.json")
    const barrier = path.join(home, "go")
    const workers = Array.from({ length: PROCS }, () => startWorker("increment", home, String(EACH), barrier))
    await waitUntil("all workers ready", 60_000, () => workers.every((w) => w.output().includes("ready")))

    const start = performance.now()
    fs.writeFileSync(barrier, "")
    let running = true
    const all = Promise.all(workers.map((w) => w.exited)).finally(() => (running = false))

    // A concurrent reader: every read parses, and the counter never goes back.
    let reads = 0
    let last = 0
    const problems: Array<string> = []
    while (running) {
      const text = await fs.promises.readFile(file, "utf8")
      try {
        const value = counterIn(text)
        if (value < last) problems.push(`counter went back from ${last} to ${value}`)
        last = value
      } catch (error) {
        problems.push(String(error))
      }
      reads++
      // look often, but leave the writers some CPU on a 2-core machine
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const exits = await all
    const elapsed = performance.now() - start
    console.log(`state e2e: ${PROCS} processes x ${EACH} increments in ${Math.round(elapsed)} ms; ${reads} reads`)

    expect(exits.map((e) => e.code)).toStrictEqual(Array(PROCS).fill(0))
    expect(problems).toStrictEqual([])
    expect(reads).toBeGreaterThan(10)
    const finalText = fs.readFileSync(file, "utf8")
    expect(counterIn(finalText)).toBe(PROCS * EACH)
    // the other records came through thousands of rewrites intact
    const others = (JSON.parse(finalText) as Array<Record<string, unknown>>).filter((r) => r["id"] !== "counter")
    expect(others).toStrictEqual(JSON.parse(fixtureText))
    // nothing left behind: no temp file, no lock, never the original's flock file
    expect(fs.readdirSync(home).sort()).toStrictEqual(["boxes.json", "boxes.json.lk.owner", "go"])
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  }, 240_000)

  it("a live holder's lock blocks the others; once it is killed with SIGKILL, its lock is taken over at once", async () => {
    const home = seedHome()
    const lockDir = NodeStateStore.lockPath(home)
    const holder = startWorker("hold", home)
    await waitUntil("the holder to take the lock", 60_000, () => holder.output().includes("locked"))
    expect(fs.statSync(lockDir).isDirectory()).toBe(true)

    const modifyWithin = (timeout: Duration.DurationInput) =>
      Effect.runPromise(
        Effect.exit(Effect.flatMap(StateStore, (store) => store.modify((records) => [null, [...records]]))).pipe(
          Effect.provide(
            NodeStateStore.layer(home, { lock: { timeout } }).pipe(Layer.provide(NodeFileSystem.layer), Layer.provide(stubRuntime()))
          )
        )
      )
    // Alive: it blocks writers (the stale rule applies; nothing is written meanwhile).
    const before = fs.readFileSync(path.join(home, "boxes.json"))
    const blocked = await modifyWithin(Duration.millis(500))
    expect(Exit.isFailure(blocked)).toBe(true)
    expect(String(Exit.isFailure(blocked) ? blocked.cause : "")).toContain("StateFileUnavailable")
    expect(fs.readFileSync(path.join(home, "boxes.json")).equals(before)).toBe(true)

    // The holder still runs (no exit seen), so its pid is still ours to signal.
    expect(holder.child.exitCode).toBeNull()
    holder.child.kill("SIGKILL")
    expect((await holder.exited).signal).toBe("SIGKILL")
    // It died holding the lock: the directory is still there...
    expect(fs.existsSync(lockDir)).toBe(true)
    // ...but its owner is gone: the next writer takes it over without waiting for it to go stale.
    const killedAt = performance.now()
    const through = await modifyWithin(Duration.seconds(5))
    console.log(`state e2e: a writer got through ${Math.round(performance.now() - killedAt)} ms after the SIGKILL`)
    expect(Exit.isSuccess(through)).toBe(true)
    expect(fs.existsSync(lockDir)).toBe(false)

    // Several waiters race for another abandoned lock: one takes it over, each gets it in turn, none loses an update.
    const second = startWorker("hold", home)
    await waitUntil("the second holder to take the lock", 60_000, () => second.output().includes("locked"))
    const WAITERS = 4
    const EACH = 5
    const barrier = path.join(home, "go")
    const waiters = Array.from({ length: WAITERS }, () => startWorker("increment", home, String(EACH), barrier))
    await waitUntil("the waiters to be ready", 60_000, () => waiters.every((w) => w.output().includes("ready")))
    second.child.kill("SIGKILL")
    expect((await second.exited).signal).toBe("SIGKILL")
    fs.writeFileSync(barrier, "")
    const exits = await Promise.all(waiters.map((w) => w.exited))
    // A waiter that failed says why (its stderr).
    expect(exits.map((e) => e.code), waiters.map((w) => w.output()).join("\n")).toStrictEqual(Array(WAITERS).fill(0))
    expect(counterIn(fs.readFileSync(path.join(home, "boxes.json"), "utf8"))).toBe(WAITERS * EACH)
    expect(fs.existsSync(lockDir)).toBe(false)
    // nothing left of the take-overs
    expect(fs.readdirSync(home).filter((n) => n.includes("abandoned"))).toStrictEqual([])
  }, 120_000)
})
