// Idle CPU (schedstat, ms/s) of a monitor (BIN) over 100 `run -d` boxes, then after killing them all (monitor-booted).
// env: BIN, WINDOWS (2), WINDOW_MS (12000), SETTLE_MS (20000), PROF (cpu-prof dir)
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const BIN = process.env.BIN ?? "dist/a3s-box.mjs"
const home = mkdtempSync(path.join(tmpdir(), "a3s-cpu-idle-"))
const env = { ...process.env, A3S_HOME: home }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const state = () => { try { return JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8")) } catch { return undefined } }
const cli = (...args) => new Promise((res, rej) => { const c = spawn(process.execPath, [BIN, ...args], { env, stdio: "ignore" }); c.once("exit", (code) => code === 0 ? res() : rej(new Error(`${args.join(" ")}: ${code}`))) })
const alive = (pid) => { try { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); return !/^[ZX]/.test(t.slice(t.lastIndexOf(")") + 2)) } catch { return false } }
const cpu = (pid) => readdirSync(`/proc/${pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
const windows = Number(process.env.WINDOWS ?? 2), windowMs = Number(process.env.WINDOW_MS ?? 12000), settle = Number(process.env.SETTLE_MS ?? 20000)
const idle = async (pid) => { const out = []; for (let w = 0; w < windows; w++) { const c0 = cpu(pid), t0 = Date.now(); await sleep(windowMs); out.push((cpu(pid) - c0) / ((Date.now() - t0) / 1000)) } return out }
let mon
try {
  let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => { while (next < 100) { const i = next++; await cli("run", "-d", "--quiet", "--name", `b${i}`, "--restart", "always", "--", "sleep", String(2_000_000 + i)) } }))
  mon = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : []), BIN, "monitor"], { env, stdio: "ignore" })
  await sleep(settle)
  const foreign = await idle(mon.pid)
  const before = state()
  for (const b of before) try { process.kill(b.pid, "SIGKILL") } catch {}
  const old = new Map(before.map((b) => [b.id, b.pid]))
  for (const t0 = Date.now(); ; await sleep(50)) { const s = state(); if (s && s.every((b) => b.status === "running" && b.pid !== old.get(b.id) && alive(b.pid))) break; if (Date.now() - t0 > 60000) throw new Error("not back") }
  await sleep(settle)
  const own = await idle(mon.pid)
  const la = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  console.log(`idle CPU ms/s: run -d ${foreign.map((x) => x.toFixed(2)).join(" ")} | monitor-booted ${own.map((x) => x.toFixed(2)).join(" ")} | load ${la}`)
} finally {
  if (mon) { mon.kill("SIGTERM"); await new Promise((r) => mon.exitCode !== null ? r() : mon.once("exit", r)) }
  for (const b of state() ?? []) if (b.pid) try { process.kill(-b.pid, "SIGKILL") } catch { try { process.kill(b.pid, "SIGKILL") } catch {} }
  await sleep(500)
  rmSync(home, { recursive: true, force: true })
}
