// Monitor RSS with 100 boxes. usage: node rss.mjs DIST MODE(run|monitor) [node flags for the monitor...]
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as require_fs from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
const [dist, mode = "monitor", ...nodeFlags] = process.argv.slice(2)
const bin = path.resolve(dist, process.env.ENTRY ?? "a3s-box.cjs")
const home = mkdtempSync(path.join(tmpdir(), "a3s-rss-"))
const env = { ...process.env, A3S_HOME: home, A3S_MEMDUMP: path.join(home, "mem.json"), A3S_NO_MONITOR_WARNING: "1" }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const state = () => { try { return JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8")) } catch { return undefined } }
const startOf = (pid) => { try { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); const f = t.slice(t.lastIndexOf(")") + 2).split(" "); return f[0] === "Z" ? undefined : Number(f[19]) } catch { return undefined } }
const schedNs = (pid) => { let t = 0; for (const task of require_fs.readdirSync(`/proc/${pid}/task`)) { try { t += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "latin1").split(" ")[0]) } catch {} } return t }
const rss = (pid) => Number(readFileSync(`/proc/${pid}/status`, "latin1").match(/VmRSS:\s+(\d+)/)[1]) / 1024
let monitor
const cleanup = () => {
  if (monitor && startOf(monitor.pid) !== undefined) try { process.kill(monitor.pid, "SIGKILL") } catch {}
  for (const b of state() ?? []) if (b.pid && startOf(b.pid) === b.pid_start_time) try { process.kill(b.pid, "SIGKILL") } catch {}
  rmSync(home, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }) // the killed boxes' wrappers may still write exit codes
}
process.on("SIGINT", () => { cleanup(); process.exit(130) })
try {
  const N = 100; let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => { while (next < N) { const i = next++; await new Promise((res, rej) => spawn(process.execPath, [bin, "run", "-d", "--quiet", "--name", `b${i}`, "--restart", "always", "--", "sleep", String(2000000 + i)], { env, stdio: "ignore" }).on("exit", (c) => c === 0 ? res() : rej(new Error(`run exited ${c}`)))) } }))
  monitor = spawn(process.execPath, [...nodeFlags, "--require", path.resolve("scratchpad/startup/memdump.cjs"), bin, "monitor", "--log-format", "json"], { env, stdio: ["ignore", "ignore", "inherit"] })
  await sleep(6000)
  if (mode === "monitor") {
    const before = state(); const old = new Map(before.map((b) => [b.id, b.pid]))
    for (const b of before) try { process.kill(b.pid, "SIGKILL") } catch {}
    for (;;) { const s = state(); if (s && s.every((b) => b.status === "running" && b.pid !== old.get(b.id) && startOf(b.pid) === b.pid_start_time)) break; await sleep(50) }
  }
  await sleep(Number(process.env.SETTLE ?? 20000))
  const c0 = schedNs(monitor.pid); const t0 = Date.now(); const samples = []; for (let i = 0; i < 10; i++) { samples.push(rss(monitor.pid)); await sleep(1000) }; const cpuMsPerSec = (schedNs(monitor.pid) - c0) / 1e6 / ((Date.now() - t0) / 1000)
  samples.sort((a, b) => a - b)
  const cpu = readFileSync(`/proc/${monitor.pid}/stat`, "latin1").slice(readFileSync(`/proc/${monitor.pid}/stat`, "latin1").lastIndexOf(")") + 2).split(" ")
  console.log(JSON.stringify({ mode, nodeFlags, rssMedian: +samples[5].toFixed(1), rssMin: +samples[0].toFixed(1), cpuMsPerSec: +cpuMsPerSec.toFixed(2), cpuTicks: Number(cpu[11]) + Number(cpu[12]), load: (await import("node:os")).loadavg()[0].toFixed(2) }))
  console.log(readFileSync(path.join(home, "mem.json"), "utf8"))
  process.kill(monitor.pid, "SIGTERM"); await new Promise((r) => monitor.on("exit", r))
} finally { cleanup() }
