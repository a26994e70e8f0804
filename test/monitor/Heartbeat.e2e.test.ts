/**
 * The heartbeat on real files and real processes: atomic 0600 writes, tolerant reads, and the
 * liveness verdict against what /proc says. Every process started here is killed (our unreaped
 * child: its pid cannot have been reused) and every temp home removed.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Heartbeat from "../../src/monitor/Heartbeat.js"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"

const homes: Array<string> = []
const children: Array<ChildProcess> = []

const newHome = (): string => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-heartbeat-"))
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

const fsLayer = NodeFileSystem.layer

const write = (home: string, hb: Partial<Heartbeat.MonitorHeartbeat>) => {
  const now = Date.now()
  fs.writeFileSync(
    Heartbeat.heartbeatPath(home),
    Heartbeat.render({
      pid: process.pid,
      pid_start_time: startTimeOf(process.pid),
      host: os.hostname(),
      interval_secs: 5,
      metrics_addr: null,
      version: "0.1.0",
      started_at: now - 10_000,
      last_cycle_at: now - 1_000,
      updated_at: now - 1_000,
      stopped_at: null,
      ...hb
    })
  )
}

const inspect = (home: string) => Heartbeat.inspect(home).pipe(Effect.provide(fsLayer))

describe("Heartbeat (Node): reading", () => {
  it.live("no file, an empty file, garbage, or a directory in its place: no monitor, never an error", () =>
    Effect.gen(function*() {
      const home = newHome()
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "missing" })
      fs.writeFileSync(Heartbeat.heartbeatPath(home), "")
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "unreadable" })
      fs.writeFileSync(Heartbeat.heartbeatPath(home), "{\"pid\": 1, \"host\": ")
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "unreadable" })
      fs.rmSync(Heartbeat.heartbeatPath(home))
      fs.mkdirSync(Heartbeat.heartbeatPath(home))
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "unreadable" })
      expect(yield* inspect(path.join(home, "no", "such", "home"))).toMatchObject({ reason: "missing" })
    }))

  it.live("a fresh heartbeat of a live process with its start time is a running monitor", () =>
    Effect.gen(function*() {
      const home = newHome()
      write(home, {})
      expect(yield* inspect(home)).toMatchObject({ _tag: "Running", pidChecked: true })
    }))

  it.live("a heartbeat naming a pid that now belongs to another process is no monitor", () =>
    Effect.gen(function*() {
      const home = newHome()
      const child = spawn("sleep", ["600"], { stdio: "ignore" })
      children.push(child)
      write(home, { pid: child.pid!, pid_start_time: startTimeOf(child.pid!) + 7 })
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "reused" })
      write(home, { pid: child.pid!, pid_start_time: startTimeOf(child.pid!) })
      expect(yield* inspect(home)).toMatchObject({ _tag: "Running" })
    }))

  it.live("a heartbeat of a process that is gone, or a zombie, is no monitor", () =>
    Effect.gen(function*() {
      const home = newHome()
      const result = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" })
      write(home, { pid: Number(result.stdout.trim()), pid_start_time: null })
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "gone" })
      // A zombie: the short sleep exits after its parent has exec'd into the long one, which
      // never reaps it. (With an instant child, the shell could reap it before its exec.)
      const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 600"], { stdio: ["ignore", "pipe", "ignore"] })
      children.push(parent)
      const pid = yield* Effect.async<number>((resume) => {
        parent.stdout!.setEncoding("utf8").once("data", (chunk: string) => resume(Effect.succeed(Number(chunk.trim()))))
      })
      const deadline = Date.now() + 10_000
      while (!fs.readFileSync(`/proc/${pid}/stat`, "latin1").includes(") Z ") && Date.now() < deadline) {
        yield* Effect.sleep("10 millis")
      }
      expect(fs.readFileSync(`/proc/${pid}/stat`, "latin1")).toContain(") Z ")
      write(home, { pid, pid_start_time: startTimeOf(pid) })
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "gone" })
    }))

  it.live("a stale heartbeat of a live process is a monitor that is not responding", () =>
    Effect.gen(function*() {
      const home = newHome()
      write(home, { last_cycle_at: Date.now() - 31_000 })
      expect(yield* inspect(home)).toMatchObject({ _tag: "Stale", thresholdSeconds: 30 })
    }))
})

describe("Heartbeat (Node): writing", () => {
  it.live("the writer keeps monitor.json current (0600, atomic: no temp file left) and marks it stopped on close", () =>
    Effect.gen(function*() {
      const home = newHome()
      // A temp file left by a writer that died mid-write is swept.
      fs.writeFileSync(path.join(home, ".monitor.json.99.abc.tmp"), "half")
      const config = { ...MonitorConfig.defaults(home), interval: Duration.millis(100) }
      const stack = Heartbeat.layer().pipe(
        Layer.provideMerge(MonitorLease.layer({ standby: false })),
        Layer.provideMerge(Layer.merge(MonitorConfig.layer(config), MonitorStats.layer)),
        Layer.provideMerge(fsLayer)
      )
      yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(stack)
        const file = Heartbeat.heartbeatPath(home)
        expect(fs.statSync(file).mode & 0o777).toBe(0o600)
        expect(yield* inspect(home)).toMatchObject({ _tag: "Running", secondsSinceLastCycle: null })
        const stats = Context.get(ctx, MonitorStats.MonitorStats)
        const cycle = Date.now()
        yield* stats.cycleCompleted(cycle, 0.001, true)
        const deadline = Date.now() + 10_000
        while (Date.now() < deadline) {
          const text = fs.readFileSync(file, "utf8")
          if (JSON.parse(text).last_cycle_at !== null) break
          yield* Effect.sleep("20 millis")
        }
        const written = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>
        expect(written).toMatchObject({
          pid: process.pid,
          pid_start_time: startTimeOf(process.pid),
          host: os.hostname(),
          interval_secs: 0.1,
          metrics_addr: null,
          last_cycle_at: new Date(cycle).toISOString(),
          stopped_at: null
        })
        expect(fs.readdirSync(home).filter((n) => n.endsWith(".tmp"))).toEqual([])
      }))
      const after = JSON.parse(fs.readFileSync(Heartbeat.heartbeatPath(home), "utf8")) as Record<string, unknown>
      expect(after["stopped_at"]).not.toBeNull()
      expect(yield* inspect(home)).toMatchObject({ _tag: "NotRunning", reason: "stopped" })
      expect(fs.existsSync(MonitorLease.leasePath(home))).toBe(false)
    }))
})
