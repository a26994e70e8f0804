/**
 * The built monitor's metrics endpoint (`--metrics-addr 127.0.0.1:0`) under 500 idle or slow
 * connections (from another process, reopened as the server closes them): /healthz still answers
 * within 1 s, again and again, while they hang on and while the server cuts them off; the
 * server keeps its bound on open connections; and the poll cycles stay on time meanwhile (the
 * heartbeat file's last cycle, read from disk, never lags). A stress test (npm run test:stress):
 * its timings want a machine that is not running other test files at the same time.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { labs, requireBuild, sleep, waitFor } from "./support.js"

beforeAll(requireBuild)

const here = path.dirname(fileURLToPath(import.meta.url))
const homes = labs()
const children: Array<ChildProcess> = []

afterEach(async () => {
  for (const child of children.splice(0)) {
    // Our unreaped child (no exit seen): its pid cannot have been reused.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  await homes.cleanupAll()
})

/** GET over a fresh connection; the time to the full answer (or the failure). */
const get = (url: string, timeoutMs: number) =>
  new Promise<{ readonly status: number | string; readonly ms: number; readonly body: string }>((resolve) => {
    const started = performance.now()
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = ""
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started, body }))
      response.on("error", (error) => resolve({ status: error.message, ms: performance.now() - started, body }))
    })
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    request.on("error", (error) => resolve({ status: error.message, ms: performance.now() - started, body: "" }))
  })

/** Open file descriptors of a process (sockets included). */
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

/** The nuisance clients' last summary line. */
interface NuisanceReport {
  readonly opened: number
  readonly connected: number
  readonly open: number
}

/** Starts test/reliability/nuisanceClients.mjs against `port`: `count` idle or slow connections, reopened as they are closed. */
const startNuisances = (port: number, count: number) => {
  const child = spawn(process.execPath, [path.join(here, "nuisanceClients.mjs"), String(port), String(count)], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  children.push(child)
  let last: NuisanceReport = { opened: 0, connected: 0, open: 0 }
  let buffer = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk
    const lines = buffer.split("\n")
    buffer = lines.pop()!
    for (const line of lines) last = JSON.parse(line) as NuisanceReport
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return {
    report: () => last,
    /** SIGTERM (our unreaped child: its pid cannot have been reused); resolves once it has exited. */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      await exited
      return last
    }
  }
}

describe("the metrics endpoint under 500 idle or slow connections (built monitor)", () => {
  it("answers /healthz within 1 s throughout, and the poll cycles stay on time", { timeout: 90_000 }, async () => {
    const lab = homes.make()
    // A few boxes for the cycles to look at.
    for (const name of ["a", "b", "c"]) await lab.runDetached("--quiet", "--name", name, "--restart", "always", "--", ...lab.markedCmd(name, "while :; do sleep 1; done"))
    const monitor = await lab.startMonitor(["--interval", "1", "--metrics-addr", "127.0.0.1:0"])
    const url = await waitFor("the bound metrics address", () => {
      for (const line of monitor.logs) {
        const match = /metrics: serving (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(line.message)
        if (match !== null) return match[1]!
      }
      return undefined
    })
    const port = Number(new URL(url).port)
    expect((await get(`${url}/healthz`, 5_000)).status).toBe(200)
    const baselineFds = fdCount(monitor.pid)

    const heartbeatFile = path.join(lab.home, "monitor.json")
    const lastCycleAge = (): number => {
      const beat = JSON.parse(readFileSync(heartbeatFile, "utf8")) as { last_cycle_at: string | null }
      return beat.last_cycle_at === null ? Infinity : Date.now() - Date.parse(beat.last_cycle_at)
    }
    await waitFor("a first cycle in the heartbeat", () => Number.isFinite(lastCycleAge()))

    // 500 connections from another process, opened at once; each one the server closes is
    // opened again 3 s later, so that 500 are tried all the time.
    const nuisances = startNuisances(port, 500)
    await waitFor("the 500 connections to be tried", () => nuisances.report().opened >= 500)
    await sleep(500)

    // For longer than the server's header and idle timeouts (5 s), while they hang on and are cut off.
    const samples: Array<{ readonly status: number | string; readonly ms: number; readonly cycleAgeMs: number; readonly fds: number }> = []
    const until = Date.now() + 8_000
    while (Date.now() < until) {
      const answer = await get(`${url}/healthz`, 5_000)
      samples.push({ status: answer.status, ms: Math.round(answer.ms), cycleAgeMs: lastCycleAge(), fds: fdCount(monitor.pid) })
      await sleep(250)
    }
    const during = nuisances.report()
    const mostFds = Math.max(...samples.map((s) => s.fds))
    const slowest = Math.max(...samples.map((s) => s.ms))
    const stalest = Math.max(...samples.map((s) => s.cycleAgeMs))
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
    console.log(
      `metrics under load: ${samples.length} /healthz answers, median ${sorted[Math.floor(sorted.length / 2)]} ms, ` +
        `slowest ${slowest} ms; last cycle at most ${stalest} ms old; ${during.opened} nuisance connections opened, ` +
        `${during.open} open at the end; monitor fds ${baselineFds} before, at most ${mostFds} during`
    )
    // Every /healthz is answered, none refused; within 1 s (the 90th percentile: a machine shared
    // with other work stalls any process now and then, the monitor's share of blame is
    // what stays slow), and never near the server's 5 s header timeout (head-of-line blocking).
    expect(samples.filter((s) => s.status !== 200)).toEqual([])
    expect(sorted[Math.floor(sorted.length * 0.9)]).toBeLessThanOrEqual(1_000)
    expect(slowest).toBeLessThan(3_000)
    // interval 1 s: a cycle completes every ~1 s (the heartbeat file is written at most once per interval)
    expect(stalest).toBeLessThan(3_000)
    // the server kept its bound on open connections (128): the poll loop keeps its file descriptors
    expect(mostFds).toBeLessThanOrEqual(baselineFds + 128 + 8)
    await nuisances.stop()
    expect((await get(`${url}/healthz`, 5_000)).status).toBe(200)
    expect(monitor.child.exitCode).toBeNull()
    await monitor.kill("SIGTERM")
  })
})
