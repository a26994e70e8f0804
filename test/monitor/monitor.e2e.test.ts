import * as net from "node:net"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { isAlive, requireBuild, waitFor, World } from "./e2e.js"

/**
 * `a3s-box monitor` end to end: the built CLI (dist/a3s-box.mjs), real box processes, a temp
 * home. Every process (the monitor, every box) is killed and the home removed after each test.
 */

let world: World

beforeAll(() => requireBuild())

afterEach(async () => {
  await world.cleanup()
})

const newWorld = () => (world = new World())

/** A loopback port free a moment ago (the kernel's pick, released). */
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** `run -d`, returning the box's record once it is running. */
const runDetached = (w: World, name: string, ...args: ReadonlyArray<string>) => {
  const result = w.cli("run", "-d", "--name", name, ...args)
  expect(result.stderr).toBe("")
  expect(result.status).toBe(0)
  const box = w.box(name)
  expect(box?.status).toBe("running")
  return box!
}

describe("a3s-box monitor (end to end)", () => {
  it("restarts a box killed with kill -9, with restart_count 1", async () => {
    const w = newWorld()
    const before = runDetached(w, "web", "--restart", "always", "--", "sleep", "1000")
    await w.startMonitor("--interval", "5")
    const killedAt = Date.now()
    process.kill(before.pid!, "SIGKILL")
    const after = await waitFor("the box to be restarted", () => {
      const box = w.box("web")
      return box !== undefined && box.status === "running" && box.pid !== before.pid ? box : undefined
    })
    const latency = Date.now() - killedAt
    expect(after.restart_count).toBe(1)
    expect(after.exit_code).toBeNull()
    expect(isAlive(after.pid!, after.pid_start_time)).toBe(true)
    // The log line may trail the state file by a moment (stdout pipe).
    await waitFor("the restart's log line", () => w.messages().includes(`monitor: box web (${before.short_id}) restarted (count: 1)`))
    expect(w.messages()).toContain(`monitor: restarting dead box web (${before.short_id}, policy: always, exit: 137)...`)
    const line = w.logs.find((l) => l.message.endsWith("restarted (count: 1)"))!
    expect(line.annotations).toMatchObject({ box: "web", box_id: before.short_id, event: "restarted", restart_count: 1 })
    const restarting = w.logs.find((l) => l.message.startsWith("monitor: restarting dead box web"))!
    expect(restarting.annotations).toMatchObject({ box: "web", event: "restarting", policy: "always", exit_code: 137 })
    expect(w.logs.find((l) => l.message.startsWith("a3s-box monitor started"))).toMatchObject({
      level: "info",
      annotations: { event: "started", interval_secs: 5 }
    })
    // --log-format json: every line of the monitor's stdout is one object with time (RFC 3339), level and msg.
    for (const output of w.output) {
      const entry = JSON.parse(output) as Record<string, unknown>
      expect(entry["time"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(["trace", "debug", "info", "warn", "error", "fatal"]).toContain(entry["level"])
      expect(typeof entry["msg"]).toBe("string")
    }
    // Not waiting for the 5 s poll: its wrapper's exit code told the monitor (generous bound for a loaded machine).
    expect(latency).toBeLessThan(4_000)
  })

  it("learns of a run -d box's death from its wrapper, not by polling (issue 13): with the tick and the poll an hour apart, it is back at once", async () => {
    const w = newWorld()
    const before = runDetached(w, "detached", "--restart", "always", "--", "sleep", "1000")
    await w.startMonitor("--interval", "3600", "--liveness-tick", "3600000")
    // The first cycle (at start) arms the watch; then nothing else looks at the box for an hour.
    await waitFor("the monitor's first cycle", () => w.messages().some((m) => m.startsWith("a3s-box monitor started")))
    await new Promise((resolve) => setTimeout(resolve, 500))
    process.kill(before.pid!, "SIGKILL")
    const after = await waitFor("the box to be restarted", () => {
      const box = w.box("detached")
      return box !== undefined && box.status === "running" && box.pid !== before.pid ? box : undefined
    }, 20_000)
    expect(after.restart_count).toBe(1)
    expect(isAlive(after.pid!, after.pid_start_time)).toBe(true)
  })

  it("backs off a crash loop: 1 s, then 2 s between restarts", async () => {
    const w = newWorld()
    const box = runDetached(w, "loop", "--restart", "always", "--", "sh", "-c", "sleep 0.2; exit 3")
    await w.startMonitor("--interval", "1")
    await waitFor("three restarts", () => w.messages().some((m) => m.endsWith("restarted (count: 3)")), 20_000)
    const restarted = (n: number) => w.logs.find((l) => l.message === `monitor: box loop (${box.short_id}) restarted (count: ${n})`)!.at
    // Restart 1 is immediate; 2 waits 1 s after the crash, 3 waits 2 s (the box lives 0.2 s each time).
    expect(restarted(2) - restarted(1)).toBeGreaterThanOrEqual(1_000)
    expect(restarted(3) - restarted(2)).toBeGreaterThanOrEqual(2_000)
    expect(w.messages()).toContain(`monitor: box loop (${box.short_id}) backing off (1s remaining)`)
    expect(w.messages()).toContain(`monitor: box loop (${box.short_id}) backing off (2s remaining)`)
    expect(w.messages()).toContain(`monitor: restarting dead box loop (${box.short_id}, policy: always, exit: 3)...`)
  })

  it("restarts a box whose health command keeps failing, once it is unhealthy", async () => {
    const w = newWorld()
    const before = runDetached(
      w,
      "sick",
      "--restart",
      "always",
      "--health-cmd",
      "exit 1",
      "--health-interval",
      "1",
      "--health-retries",
      "2",
      "--",
      "sleep",
      "1000"
    )
    await w.startMonitor("--interval", "1")
    const after = await waitFor("the unhealthy box to be restarted", () => {
      const box = w.box("sick")
      return box !== undefined && box.restart_count === 1 && box.status === "running" ? box : undefined
    }, 20_000)
    await waitFor("the restart's log line", () => w.messages().some((m) => m.startsWith("monitor: box sick") && m.includes("restarted")))
    expect(after.pid).not.toBe(before.pid)
    expect(isAlive(before.pid!, before.pid_start_time)).toBe(false)
    expect(w.messages()).toContain(`monitor: box sick (${before.short_id}, policy: always) is unhealthy, restarting...`)
    expect(w.messages().filter((m) => m.startsWith(`monitor: health check of box sick`)).length).toBeGreaterThanOrEqual(2)
  })

  it("HTTP and TCP health checks (issue 15): a box that answers is healthy; one whose port is closed is restarted as unhealthy", async () => {
    const w = newWorld()
    const port = await freePort()
    const closed = await freePort()
    const server = `require("http").createServer((q, r) => r.end("ok")).listen(${port}, "127.0.0.1")`
    runDetached(w, "web", "--health-http", `http://127.0.0.1:${port}/healthz`, "--health-interval", "1", "--", process.execPath, "-e", server)
    const before = runDetached(w, "deaf", "--restart", "always", "--health-tcp", String(closed), "--health-interval", "1", "--health-retries", "2", "--", "sleep", "1000")
    await w.startMonitor("--interval", "1")
    await waitFor("the HTTP-checked box to be healthy", () => w.box("web")?.health_status === "healthy", 20_000)
    const after = await waitFor("the TCP-checked box to be restarted", () => {
      const box = w.box("deaf")
      return box !== undefined && box.restart_count === 1 && box.status === "running" ? box : undefined
    }, 20_000)
    expect(after.pid).not.toBe(before.pid)
    const reason = w.logs.find((l) => l.message.startsWith("monitor: health check of box deaf"))
    expect(reason?.message).toContain(`health check TCP connect to 127.0.0.1:${closed} failed: connection refused`)
  })

  it("respects `stop`: a stopped box is not restarted", async () => {
    const w = newWorld()
    const box = runDetached(w, "quiet", "--restart", "always", "--", "sleep", "1000")
    await w.startMonitor("--interval", "1")
    const stopped = w.cli("stop", "quiet")
    expect(stopped.status).toBe(0)
    expect(w.box("quiet")).toMatchObject({ status: "stopped", stopped_by_user: true })
    // Several polls and many liveness ticks later, still stopped.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(w.box("quiet")).toMatchObject({ status: "stopped", restart_count: 0 })
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
    expect(w.messages().some((m) => m.includes("restarting"))).toBe(false)
  })

  it("exits 0 on SIGTERM and SIGINT, leaving its boxes running", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const w = newWorld()
      const box = runDetached(w, "stays", "--restart", "always", "--", "sleep", "1000")
      await w.startMonitor("--interval", "1")
      // Let it complete a cycle or two first.
      await new Promise((resolve) => setTimeout(resolve, 1_200))
      const exit = await w.stopMonitor(signal)
      expect(exit).toEqual({ code: 0, signal: null })
      expect(isAlive(box.pid!, box.pid_start_time)).toBe(true)
      if (signal === "SIGTERM") await w.cleanup()
    }
  })

  it("rejects a bad --interval as a usage error", () => {
    const w = newWorld()
    for (const bad of ["0", "-3", "1.5", "soon"]) {
      const result = w.cli("monitor", "--interval", bad)
      expect(result.status).toBe(2)
    }
  })
})
