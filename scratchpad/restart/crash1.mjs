// K monitor-booted boxes (a home of K dead records), each killed once after 31 s up; crash -> new pid latency,
// the state file's stat polled every 0.25 ms (read+parse only when it changed). Prints the monitor's cycle lines.
// BIN=dist/a3s-box.mjs node scratchpad/restart/crash1.mjs [K]
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const K = Number(process.argv[2] ?? 8)
const home = mkdtempSync(path.join(tmpdir(), "a3s-restart-crash-"))
const file = path.join(home, "boxes.json")
const base = JSON.parse(readFileSync("test/domain/fixtures/boxes.json", "utf8"))[0]
const recs = Array.from({ length: K }, (_, i) => { const id = `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`; return { ...base, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `c${i}`, status: "dead", pid: null, pid_start_time: null, exit_code: 137, health_check: null, workdir: null, cmd: ["sleep", String(7000000 + i)], env: {}, restart_policy: "always", box_dir: `${home}/boxes/${id}`, console_log: `${home}/boxes/${id}/c.log` } })
writeFileSync(file, JSON.stringify(recs, null, 2))
const mon = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : []), process.env.BIN ?? "dist/a3s-box.mjs", "monitor", "--log-level", "debug"], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "pipe", "pipe"] })
let out = ""
mon.stdout.on("data", (d) => (out += d)); mon.stderr.on("data", (d) => (out += d))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const now = () => Number(process.hrtime.bigint()) / 1e6
const state = () => JSON.parse(readFileSync(file, "utf8"))
const startOf = (pid) => { try { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[19]) } catch { return undefined } }
let st
for (let i = 0; i < 300; i++) { await sleep(100); try { st = state(); if (st.every((b) => b.status === "running" && b.pid)) break } catch {} }
await sleep(31_000)
const lat = []
try {
  for (let i = 0; i < K; i++) {
    const old = state()[i]
    const cycleLines = out.length
    const stamp = () => { try { const s = statSync(file, { bigint: true }); return `${s.ino}:${s.mtimeNs}` } catch { return "" } }
    let last = stamp()
    const t0 = now()
    process.kill(old.pid, "SIGKILL")
    for (;;) {
      const s = stamp()
      if (s !== last) {
        last = s
        const b = (() => { try { return state()[i] } catch { return undefined } })()
        if (b && b.status === "running" && b.pid !== old.pid && b.pid !== null && startOf(b.pid) === b.pid_start_time) {
          lat.push(now() - t0)
          try { const t = readFileSync(`/proc/${b.pid}/stat`, "latin1"); const ppid = t.slice(t.lastIndexOf(")") + 2).split(" ")[1]; lat.via = readFileSync(`/proc/${ppid}/cmdline`, "latin1").split("\0")[6] } catch { lat.via = "?" }
          break
        }
      }
      if (now() - t0 > 10_000) throw new Error("not back")
      await new Promise((r) => setImmediate(r))
    }
    await sleep(250)
    const lines = out.slice(cycleLines).split("\n").filter((l) => /cycle took/.test(l) && / [1-9] boots/.test(l))
    console.log(`c${i}: ${lat.at(-1).toFixed(1)} ms via ${lat.via}`, lines.map((l) => l.replace(/^.*cycle took/, "")).join(" | "))
  }
} finally {
  const sorted = [...lat].sort((a, b) => a - b)
  console.log(`median ${sorted[Math.floor((sorted.length - 1) / 2)]?.toFixed(1)} ms, samples ${lat.map((x) => x.toFixed(1)).join(" ")}`)
  const fin = state()
  mon.kill("SIGTERM"); await new Promise((r) => mon.once("exit", r))
  for (const b of fin) if (b.pid) { try { process.kill(-b.pid, "SIGKILL") } catch {} try { process.kill(b.pid, "SIGKILL") } catch {} }
  await sleep(300)
  for (let i = 0; i < 5; i++) { try { rmSync(home, { recursive: true, force: true }); break } catch { await sleep(200) } }
}
