/**
 * The Node lease on real files and real processes: `<home>/monitor.lease` under the
 * `monitor.lease.lk` mutex, liveness by pid + start time, and claims racing across processes.
 * Every process started here is killed (it is our unreaped child, so its pid cannot have been
 * reused) and every temp home removed, even when a test fails.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { build } from "esbuild"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"
import * as FileLock from "../../src/state/FileLock.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..")

const homes: Array<string> = []
const children: Array<ChildProcess> = []

const newHome = (): string => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-lease-"))
  homes.push(home)
  return home
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGKILL")
    await exited
  }
  for (const home of homes.splice(0)) fs.rmSync(home, { recursive: true, force: true })
})

const startTimeOf = (pid: number): number =>
  Option.getOrThrow(ProcessInfo.parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "latin1"))).startTime

/** A live process that is not us: `sleep 600`, killed after the test. */
const sleeper = (): { readonly pid: number; readonly startTime: number } => {
  const child = spawn("sleep", ["600"], { stdio: "ignore" })
  children.push(child)
  return { pid: child.pid!, startTime: startTimeOf(child.pid!) }
}

/** The pid and start time of a process that has exited and been reaped. */
const deadProcess = (): { readonly pid: number; readonly startTime: number } => {
  const result = spawnSync("sh", ["-c", "echo $$ $(cut -d' ' -f22 /proc/$$/stat)"], { encoding: "utf8" })
  const [pid, startTime] = result.stdout.trim().split(" ").map(Number)
  return { pid: pid!, startTime: startTime! }
}

const writeLease = (home: string, holder: Partial<MonitorLease.LeaseHolder> & { pid: number }) =>
  fs.writeFileSync(
    MonitorLease.leasePath(home),
    MonitorLease.renderLease({ pidStartTime: null, host: os.hostname(), acquiredAt: Date.UTC(2026, 0, 1), ...holder })
  )

const leaseOf = (home: string) => MonitorLease.makeNode(home).pipe(Effect.provide(NodeFileSystem.layer))

const selfStart = startTimeOf(process.pid)

describe("MonitorLease (Node): the lease file", () => {
  it.live("a claim writes our pid, start time and host (mode 0600), and release removes it; nothing else is left", () =>
    Effect.gen(function*() {
      const home = path.join(newHome(), "not-yet")
      const lease = yield* leaseOf(home)
      const claimed = yield* lease.claim
      expect(claimed).toMatchObject({
        _tag: "Claimed",
        holder: { pid: process.pid, pidStartTime: selfStart, host: os.hostname() },
        previous: Option.none()
      })
      const file = MonitorLease.leasePath(home)
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ pid: process.pid, pid_start_time: selfStart })
      expect(yield* lease.holder).toEqual(Option.some(expect.objectContaining({ pid: process.pid })))
      yield* lease.release(claimed.holder)
      // FileLock keeps its few-byte owner file next to the (removed) mutex directory.
      expect(fs.readdirSync(home)).toEqual(["monitor.lease.lk.owner"])
    }))

  it.live("a lease naming a live process is busy; holding it fails at once naming that pid", () =>
    Effect.gen(function*() {
      const home = newHome()
      const other = sleeper()
      writeLease(home, { pid: other.pid, pidStartTime: other.startTime })
      const lease = yield* leaseOf(home)
      expect(yield* lease.claim).toMatchObject({ _tag: "Busy", holder: { pid: other.pid }, checkable: true })
      const error = yield* Effect.flip(
        Effect.scoped(MonitorLease.hold({ standby: false })).pipe(Effect.provideService(MonitorLease.MonitorLease, lease))
      )
      expect(error._tag).toBe("MonitorAlreadyRunning")
      expect(error.message).toContain(`another a3s-box monitor (pid ${other.pid}, since 2026-01-01T00:00:00.000Z)`)
      // Untouched.
      expect(JSON.parse(fs.readFileSync(MonitorLease.leasePath(home), "utf8")).pid).toBe(other.pid)
    }))

  it.live("a lease naming a process that is gone (SIGKILL leaves the file) is taken over at once", () =>
    Effect.gen(function*() {
      const home = newHome()
      const dead = deadProcess()
      writeLease(home, { pid: dead.pid, pidStartTime: dead.startTime })
      const lease = yield* leaseOf(home)
      const claimed = yield* lease.claim
      expect(claimed).toMatchObject({ _tag: "Claimed", previous: Option.some(expect.objectContaining({ pid: dead.pid })) })
    }))

  it.live("a lease naming a pid that now belongs to another process (other start time) is taken over", () =>
    Effect.gen(function*() {
      const home = newHome()
      const other = sleeper()
      writeLease(home, { pid: other.pid, pidStartTime: other.startTime - 1 })
      const lease = yield* leaseOf(home)
      expect((yield* lease.claim)._tag).toBe("Claimed")
    }))

  it.live("a corrupt lease file is taken over; a holder on another host is busy and cannot be checked", () =>
    Effect.gen(function*() {
      const home = newHome()
      fs.writeFileSync(MonitorLease.leasePath(home), "{\"pid\": 12")
      const lease = yield* leaseOf(home)
      const claimed = yield* lease.claim
      expect(claimed._tag).toBe("Claimed")
      yield* lease.release(claimed.holder)
      writeLease(home, { pid: 1, host: "elsewhere.example" })
      expect(yield* lease.claim).toMatchObject({ _tag: "Busy", checkable: false })
    }))

  it.live("a holder writes its lease again when the file is deleted, and learns it lost it to another live process", () =>
    Effect.gen(function*() {
      const home = newHome()
      const scope = yield* Scope.make()
      const lease = yield* leaseOf(home)
      const held = yield* MonitorLease.hold({ standby: false, watch: "100 millis" }).pipe(
        Effect.provideService(MonitorLease.MonitorLease, lease),
        Scope.extend(scope)
      )
      fs.rmSync(MonitorLease.leasePath(home))
      yield* Effect.sleep("400 millis")
      expect(JSON.parse(fs.readFileSync(MonitorLease.leasePath(home), "utf8")).pid).toBe(process.pid)
      const other = sleeper()
      writeLease(home, { pid: other.pid, pidStartTime: other.startTime })
      const error = yield* Effect.flip(held.lost).pipe(Effect.timeout("5 seconds"))
      expect(error.message).toContain(`to another monitor (pid ${other.pid}`)
      yield* Scope.close(scope, Exit.void)
      // Not ours any more: left alone.
      expect(JSON.parse(fs.readFileSync(MonitorLease.leasePath(home), "utf8")).pid).toBe(other.pid)
    }))

  it.live("a claim takes over the mutex of a claimant killed while holding it, also from an uninterruptible region (as a layer's acquire is)", () =>
    Effect.gen(function*() {
      const home = newHome()
      const lease = yield* leaseOf(home)
      // The mutex a SIGKILLed claimant left: never removed, stale 700 ms from now.
      const mutex = MonitorLease.mutexPath(home)
      fs.mkdirSync(mutex)
      const staleAt = Date.now() + 700
      const mtime = new Date(staleAt - FileLock.defaults(mutex).staleMs)
      fs.utimesSync(mutex, mtime, mtime)
      const claimed = yield* Effect.uninterruptible(lease.claim).pipe(Effect.timeout("10 seconds"))
      expect(claimed._tag).toBe("Claimed")
      expect(Date.now()).toBeGreaterThanOrEqual(staleAt)
    }))

  it.live("the layer stack: layer() holds the configured home's lease for the layer's lifetime", () =>
    Effect.gen(function*() {
      const home = newHome()
      const stack = MonitorLease.layer({ standby: false }).pipe(
        Layer.provide(MonitorConfig.layer(MonitorConfig.defaults(home))),
        Layer.provide(NodeFileSystem.layer)
      )
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(stack)
        expect(fs.existsSync(MonitorLease.leasePath(home))).toBe(true)
      }))
      expect(fs.existsSync(MonitorLease.leasePath(home))).toBe(false)
    }))
})

describe("MonitorLease (Node): claims racing across processes", () => {
  it("of six processes claiming at the same instant, exactly one wins; after it is SIGKILLed, exactly one of the rest", async () => {
    const home = newHome()
    const barrier = path.join(home, "go")
    interface Worker {
      readonly child: ChildProcess
      readonly lines: Array<Record<string, unknown>>
    }
    // Bundled first: six tsx start-ups would take most of a minute on two loaded cores.
    const bundle = path.join(home, "leaseWorker.mjs")
    await build({
      entryPoints: [path.join(repoRoot, "test/monitor/leaseWorker.ts")],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      banner: { js: "import { createRequire as __cr } from 'node:module';const require = __cr(import.meta.url);" }
    })
    const workers: Array<Worker> = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, [bundle, home, barrier], {
        cwd: repoRoot,
        stdio: ["pipe", "pipe", "inherit"]
      })
      children.push(child)
      const lines: Array<Record<string, unknown>> = []
      let buffer = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        buffer += chunk
        let nl: number
        while ((nl = buffer.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>)
          buffer = buffer.slice(nl + 1)
        }
      })
      return { child, lines }
    })
    const waitUntil = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 60_000
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    let alive = workers
    for (let round = 1; round <= 3; round++) {
      await waitUntil(`round ${round} ready`, () => alive.every((w) => w.lines.some((l) => l["ready"] === round)))
      fs.writeFileSync(`${barrier}.${round}`, "")
      await waitUntil(`round ${round} results`, () => alive.every((w) => w.lines.some((l) => l["round"] === round)))
      const results = alive.map((w) => w.lines.find((l) => l["round"] === round)!)
      const winners = alive.filter((_, i) => results[i]!["result"] === "Claimed")
      expect(winners).toHaveLength(1)
      const winner = winners[0]!
      // Every loser saw the winner as the holder, and the file names it.
      for (const r of results) expect(r["holder"]).toBe(winner.child.pid)
      expect(JSON.parse(fs.readFileSync(MonitorLease.leasePath(home), "utf8")).pid).toBe(winner.child.pid)
      const exited = new Promise((resolve) => winner.child.once("exit", resolve))
      winner.child.kill("SIGKILL")
      await exited
      alive = alive.filter((w) => w !== winner)
    }
    for (const w of alive) w.child.stdin!.end()
  }, 60_000)
})
