// Rough measurements of the monitor: tick CPU at N boxes, crash->new pid latency, N killed at once.
import { spawn, spawnSync } from "node:child_process"
import { statSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"

const N = Number(process.argv[2] ?? 100)
const bin = path.resolve("dist/a3s-box.mjs")
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-"))
const env = { ...process.env, A3S_HOME: home }
let cache = { m: -1n, v: [] }
const state = () => { try { const m = statSync(path.join(home, "boxes.json"), { bigint: true }).mtimeNs; if (m !== cache.m) cache = { m, v: JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8")) }; return cache.v } catch { return [] } }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10 } // ms (100 Hz)
const pids = new Set()
let monitor
try {
  // N boxes with live processes, written straight into boxes.json (as `run -d` would leave them)
  const stat = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  const records = []
  for (let i = 0; i < N; i++) {
    const c = spawn("sleep", ["100000"], { stdio: "ignore", detached: true }); pids.add(c.pid)
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
    const dir = path.join(home, "boxes", id); mkdirSync(dir, { recursive: true })
    records.push({ id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, status: "running", pid: c.pid, pid_start_time: Number(stat(c.pid)[19]), cmd: ["sleep", "100000"], env: {}, box_dir: dir, console_log: path.join(dir, "console.log"), created_at: new Date().toISOString(), started_at: new Date().toISOString(), restart_policy: "always" })
  }
  writeFileSync(path.join(home, "boxes.json"), JSON.stringify(records, null, 2))
  monitor = spawn(process.execPath, [bin, ...(process.env.DEBUG ? ["--log-level", "debug"] : []), "monitor", "--interval", process.argv[3] ?? "3600"], { env, stdio: ["ignore", openSync("/tmp/bench-monitor.log", "w"), "inherit"] })
  await sleep(3000)
  // crash -> new pid, for a box started by run -d (foreign) and, afterwards, one the monitor booted
  const lat = async (name) => {
    const before = state().find((b) => b.name === name)
    const t = performance.now()
    process.kill(before.pid, "SIGKILL")
    for (;;) {
      const b = state().find((x) => x.name === name)
      if (b && b.status === "running" && b.pid !== before.pid) { pids.add(b.pid); return performance.now() - t }
      await sleep(1)
    }
  }
  const foreign = [], own = []
  if (!process.env.ONLYKILL) {
  for (let i = 0; i < 7; i++) { foreign.push(await lat(`b${i}`)); await sleep(300) }
  await sleep(31000) // let backoff reset
  for (let i = 0; i < 7; i++) { own.push(await lat(`b${i}`)); await sleep(300) }
  const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(1)
  console.log(`crash -> new pid, run -d box: median ${med(foreign)} ms (${foreign.map((x) => x.toFixed(0)).join(",")})`)
  console.log(`crash -> new pid, monitor-booted box (after 30 s up): median ${med(own)} ms (${own.map((x) => x.toFixed(0)).join(",")})`)
  await sleep(31000)
  }
  // all N killed at once
  const before = state()
  const t = performance.now()
  for (const b of before) try { process.kill(b.pid, "SIGKILL") } catch {}
  for (;;) {
    const s = state()
    if (s.every((b, i) => b.status === "running" && b.pid !== before[i].pid)) { for (const b of s) pids.add(b.pid); break }
    await sleep(2)
  }
  console.log(`${N} killed at once: all back in ${(performance.now() - t).toFixed(0)} ms`)
} finally {
  await sleep(1500); if (monitor) monitor.kill("SIGKILL")
  await sleep(200)
  for (const b of state()) pids.add(b.pid)
  for (const p of pids) if (p) { try { process.kill(-p, "SIGKILL") } catch {} try { process.kill(p, "SIGKILL") } catch {} }
  rmSync(home, { recursive: true, force: true })
}
