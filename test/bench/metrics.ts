/**
 * `/metrics` latency at 1,000 boxes: a real monitor (`--metrics-addr 127.0.0.1:0`, default
 * interval) over a home of 1,000 fixture-shaped records, all running with live pids (a pool of
 * real `sleep` processes), loaded with `wrk -t1 -c4 -d10s --latency` when wrk is installed,
 * else with a Node client (4 keep-alive connections in a loop for 10 s). Every scrape reads the
 * state (a read-only snapshot) and renders the exposition.
 */
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as http from "node:http"
import { idleFleet, startSleepers, startTimeOf } from "./fleet.js"
import { type BenchHome, figure, type Figure, median, now, quantile, sleep, track, waitFor } from "./support.js"

const RECORDS = 1_000

interface LoadRun {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly requests: number
  readonly errors: number
}

/** wrk's "Latency Distribution" value in ms ("1.23ms", "850.00us", "1.02s"). */
const wrkMillis = (text: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim())
  if (m === null) return Number.NaN
  const n = Number(m[1])
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n
}

const hasWrk = (): boolean => spawnSync("wrk", ["--version"], { encoding: "utf8" }).error === undefined

const runWrk = (url: string, seconds: number): LoadRun => {
  const result = spawnSync("wrk", ["-t1", "-c4", `-d${seconds}s`, "--latency", url], { encoding: "utf8" })
  const out = result.stdout
  const pct = (p: string) => wrkMillis(new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "")
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = non2xx + (socketErrors === null ? 0 : socketErrors.slice(1).reduce((a, b) => a + Number(b), 0))
  if (result.status !== 0 || Number.isNaN(pct("99"))) throw new Error(`wrk failed: ${result.stderr}${out}`)
  return { p50: pct("50"), p90: pct("90"), p99: pct("99"), requests, errors }
}

const runNodeClient = async (url: string, seconds: number): Promise<LoadRun> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const latencies: Array<number> = []
  let errors = 0
  const end = now() + seconds * 1000
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = now()
      http.get(url, { agent }, (res) => {
        res.resume()
        res.once("end", () => {
          if (res.statusCode !== 200) errors++
          latencies.push(now() - t0)
          resolve()
        })
      }).once("error", () => {
        errors++
        resolve()
      })
    })
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (now() < end) await one()
  }))
  agent.destroy()
  return {
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    requests: latencies.length,
    errors
  }
}

export const metricsLatency = async (home: BenchHome, runs: number, seconds: number): Promise<ReadonlyArray<Figure>> => {
  const sleepers = startSleepers(100)
  for (const child of sleepers) track(child.pid)
  await waitFor("the sleepers", () => sleepers.every((c) => startTimeOf(c.pid!) !== undefined), 10_000)
  const pool = sleepers.map((c) => ({ pid: c.pid!, startTime: startTimeOf(c.pid!)! }))
  writeFileSync(home.stateFile, JSON.stringify(idleFleet(RECORDS, pool, home.home), null, 2) + "\n")
  await home.startMonitor("--metrics-addr", "127.0.0.1:0")
  const served = await waitFor("the metrics address", () =>
    home.logs.map((l) => /serving (http:\/\/\S+)\/metrics/.exec(l.message)?.[1]).find((u) => u !== undefined))
  const url = `${served}/metrics`
  // Warm up (first scrape loads prom-client; the first cycle parses the file).
  await sleep(2_000)
  const useWrk = hasWrk()
  const results: Array<LoadRun> = []
  for (let i = 0; i < runs; i++) results.push(useWrk ? runWrk(url, seconds) : await runNodeClient(url, seconds))
  await home.stopMonitor()
  const errors = results.reduce((a, r) => a + r.errors, 0)
  const requests = results.reduce((a, r) => a + r.requests, 0)
  const tool = useWrk ? `wrk -t1 -c4 -d${seconds}s --latency` : `a Node client (4 keep-alive connections, ${seconds} s; wrk not installed)`
  return [
    figure({
      id: "metrics_latency_1000",
      title: `/metrics latency, ${RECORDS.toLocaleString("en")} boxes`,
      unit: "ms",
      samples: results.map((r) => r.p99),
      median: median(results.map((r) => r.p50)),
      p90: median(results.map((r) => r.p90)),
      p99: median(results.map((r) => r.p99)),
      target: 20,
      targetOn: "p99",
      method: `${tool}, ${runs} runs against a real monitor (default interval) over ${RECORDS} fixture-shaped running records; median/p90/p99 are per request (median of the runs' percentiles); samples: each run's p99`,
      notes: [
        `requests per second: ${results.map((r) => Math.round(r.requests / seconds)).join(", ")}`,
        `errors (non-2xx, socket errors and timeouts of wrk's 2 s): ${errors} of ${requests} requests`
      ]
    })
  ]
}
