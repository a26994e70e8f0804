/**
 * `a3s-box monitor --metrics-addr` as users run it: the built CLI (dist/a3s-box.mjs, from
 * `npm run build`) in a temp A3S_HOME, scraped over HTTP, its /metrics fed to promtool.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  box,
  cliPath,
  type CliProcess,
  findPromtool,
  pollUntil,
  promtoolCheck,
  readExposition,
  runCli,
  tempDirs,
  valueOf
} from "./support.js"
import { allInHome } from "../support/BoxDirs.js"

const promtool = findPromtool()
const dirs = tempDirs()
const processes: Array<CliProcess> = []

beforeAll(() => {
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first`)
})

afterEach(() => {
  for (const p of processes.splice(0)) p.kill()
  dirs.cleanup()
})

const start = (args: ReadonlyArray<string>, home: string): CliProcess => {
  const p = runCli(args, home)
  processes.push(p)
  return p
}

/** Boxes the monitor has nothing to do with (no active box, nothing to restart), with awkward names. */
const quietBoxes = () => [
  box({ name: "fresh", status: "created" }),
  box({ name: "web \"one\"\\ünï\ncode", status: "stopped", stopped_by_user: true, restart_count: 4 }),
  box({ name: "crashed", status: "dead", restart_policy: "no", exit_code: 3, restart_count: 2 }),
  box({ name: "future", status: "restart_starting", restart_policy: "no" })
]

const scrape = async (base: string, route: string) => {
  const response = await fetch(`${base}${route}`, { signal: AbortSignal.timeout(10_000) })
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.text() }
}

const boundUrl = (monitor: CliProcess) =>
  pollUntil("the logged metrics address", () => {
    const match = /metrics: serving (http:\/\/127\.0\.0\.1:(\d+))\/metrics/.exec(monitor.output())
    return match === null ? undefined : { base: match[1]!, port: Number(match[2]) }
  })

describe("a3s-box monitor --metrics-addr (built CLI)", () => {
  it("serves a live /metrics that promtool accepts, reports a corrupt state file, and stops on SIGTERM", async () => {
    const home = dirs.make()
    const stateFile = path.join(home, "boxes.json")
    const stateText = JSON.stringify(allInHome(home, quietBoxes()), null, 2) + "\n"
    fs.writeFileSync(stateFile, stateText)
    const monitor = start(["monitor", "--metrics-addr", "127.0.0.1:0", "--metrics-per-box", "--interval", "1"], home)
    const { base, port } = await boundUrl(monitor)
    expect(port).toBeGreaterThan(0)

    // After the first cycle: healthy, and the exposition is right and clean.
    const live = await pollUntil("a completed poll cycle", async () => {
      const metrics = await scrape(base, "/metrics")
      const out = readExposition(metrics.body)
      return (valueOf(out, "a3s_box_monitor_poll_duration_seconds_count") ?? 0) >= 1 ? metrics : undefined
    })
    expect(live.status).toBe(200)
    expect(live.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(await scrape(base, "/healthz")).toMatchObject({ status: 200, body: "ok\n" })
    const out = readExposition(live.body)
    expect(out.duplicates).toEqual([])
    expect(out.repeatedMetadata).toEqual([])
    expect(valueOf(out, "a3s_box_total")).toBe(4)
    expect(valueOf(out, "a3s_box_state", { status: "created" })).toBe(1)
    expect(valueOf(out, "a3s_box_state", { status: "dead" })).toBe(1)
    expect(valueOf(out, "a3s_box_state", { status: "other" })).toBe(2)
    expect(valueOf(out, "a3s_box_state", { status: "running" })).toBe(0)
    expect(valueOf(out, "a3s_box_restarts_total")).toBe(6)
    expect(valueOf(out, "a3s_box_box_restarts_total", { box: "web \"one\"\\ünï\ncode" })).toBe(4)
    expect(valueOf(out, "a3s_box_monitor_up")).toBe(1)
    expect(valueOf(out, "a3s_box_monitor_state_ok")).toBe(1)
    expect(valueOf(out, "process_resident_memory_bytes")).toBeGreaterThan(0)
    if (promtool !== undefined) expect(promtoolCheck(promtool, live.body)).toEqual({ status: 0, stderr: "" })
    // Scraping wrote nothing.
    expect(fs.readFileSync(stateFile, "utf8")).toBe(stateText)

    expect((await scrape(base, "/nope")).status).toBe(404)
    expect((await fetch(`${base}/healthz`, { method: "DELETE" })).status).toBe(405)

    // A corrupt state file is not an empty fleet, and the exposition stays valid.
    fs.writeFileSync(stateFile, "[{ \"id\": oops")
    const corrupt = readExposition((await scrape(base, "/metrics")).body)
    expect(valueOf(corrupt, "a3s_box_monitor_state_ok")).toBe(0)
    expect(valueOf(corrupt, "a3s_box_total")).toBeUndefined()
    expect(corrupt.comments.join("\n")).toContain(stateFile)
    if (promtool !== undefined) {
      expect(promtoolCheck(promtool, (await scrape(base, "/metrics")).body)).toEqual({ status: 0, stderr: "" })
    }
    expect((await scrape(base, "/healthz")).status).toBe(200) // the loop goes on
    // Repaired: back to normal once the monitor's next cycle has read it too.
    fs.writeFileSync(stateFile, stateText)
    await pollUntil("state_ok back to 1", async () => {
      const again = readExposition((await scrape(base, "/metrics")).body)
      return valueOf(again, "a3s_box_monitor_state_ok") === 1 ? true : undefined
    })

    process.kill(monitor.pid, "SIGTERM")
    expect(await Promise.race([monitor.exited, pollUntil("exit", () => undefined, 15_000)])).toBe(0)
    await expect(fetch(`${base}/healthz`)).rejects.toThrow()
  })

  it("a bad --metrics-addr is a usage error (exit 2) naming the value", async () => {
    const home = dirs.make()
    for (const bad of ["localhost", "127.0.0.1:65536", "::1:9464"]) {
      const monitor = start(["monitor", "--metrics-addr", bad], home)
      expect(await monitor.exited).toBe(2)
      expect(monitor.output()).toContain(JSON.stringify(bad))
      expect(monitor.output()).toContain("HOST:PORT")
    }
    expect(fs.existsSync(path.join(home, "boxes.json"))).toBe(false)
  })

  it("a port in use fails at once (exit 1) with a clear message, before any supervision", async () => {
    const home = dirs.make()
    const stateFile = path.join(home, "boxes.json")
    // A supervision cycle would reconcile this box (its pid does not exist) and rewrite the file.
    const stateText = JSON.stringify(allInHome(home, [box({ name: "ghost", status: "running", pid: 99_999, restart_policy: "no" })]), null, 2)
    fs.writeFileSync(stateFile, stateText)
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    try {
      const port = (holder.address() as net.AddressInfo).port
      const monitor = start(["monitor", "--metrics-addr", `127.0.0.1:${port}`, "--interval", "1"], home)
      expect(await monitor.exited).toBe(1)
      expect(monitor.output()).toContain(`cannot serve metrics on 127.0.0.1:${port}: the address is already in use`)
      expect(fs.readFileSync(stateFile, "utf8")).toBe(stateText)
    } finally {
      holder.close()
    }
  })
})
