// A home of N "running" records whose pids are gone, policy always: the monitor's first cycle boots all N. Reports its debug timings.
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 100)
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-boot-"))
const base = JSON.parse(readFileSync("test/domain/fixtures/boxes.json", "utf8"))[0]
const recs = Array.from({ length: N }, (_, i) => { const id = `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`; return { ...base, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, pid: 999999, pid_start_time: 1, health_check: null, workdir: null, cmd: ["sleep", String(5000000 + i)], env: {}, restart_policy: "always", box_dir: `${home}/boxes/${id}`, console_log: `${home}/boxes/${id}/c.log` } })
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(recs, null, 2))
for (const r of recs) { mkdirSync(r.box_dir, { recursive: true }); writeFileSync(path.join(r.box_dir, "exit_code"), "137\n") }
const t0 = Date.now()
const mon = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : []), process.env.BIN ?? "dist/a3s-box.mjs", "monitor", "--log-level", "debug"], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "pipe", "pipe"] })
let out = ""
mon.stdout.on("data", (d) => (out += d)); mon.stderr.on("data", (d) => (out += d))
for (let i = 0; i < 600; i++) { await new Promise((r) => setTimeout(r, 100)); if ((out.match(/restarted \(count/g) ?? []).length >= N) break }
await new Promise((r) => setTimeout(r, 500))
const lines = out.split("\n"); const first = lines.find((l) => /restarting dead/.test(l)); const last = lines.filter((l) => /restarted \(count/.test(l)).at(-1); console.log(first?.slice(0, 30), "->", last?.slice(0, 30)); console.log(lines.filter((l) => /cycle took/.test(l) && / [1-9][0-9]* boots/.test(l)).join("\n"))
const st = JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8"))
mon.kill("SIGTERM"); await new Promise((r) => mon.once("exit", r))
for (const b of st) if (b.pid) { try { process.kill(-b.pid, "SIGKILL") } catch {} try { process.kill(b.pid, "SIGKILL") } catch {} }
rmSync(home, { recursive: true, force: true })
