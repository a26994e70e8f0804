// Profiles a monitor (unminified bundle) over N idle records while wrk loads /metrics.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 1000)
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-mprof-"))
const sleepers = Array.from({ length: 50 }, () => { const c = spawn("sleep", ["10000"], { detached: true, stdio: "ignore" }); c.unref(); return c })
await new Promise((r) => setTimeout(r, 300))
const st = (pid) => { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[19]) }
const base = JSON.parse(readFileSync("test/domain/fixtures/boxes.json", "utf8"))[0]
const recs = Array.from({ length: N }, (_, i) => { const p = sleepers[i % 50].pid; const id = `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`; return { ...base, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, pid: p, pid_start_time: st(p), health_check: null, box_dir: `${home}/boxes/${id}`, console_log: `${home}/boxes/${id}/c.log` } })
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(recs, null, 2))
const profDir = process.argv[3] ?? "/tmp/mprof"
rmSync(profDir, { recursive: true, force: true })
const mon = spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "/tmp/plain/a3s-box.cjs", "monitor", "--metrics-addr", "127.0.0.1:0"], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "pipe", "pipe"] })
let out = ""
mon.stdout.on("data", (d) => (out += d))
mon.stderr.on("data", (d) => (out += d))
let url
for (let i = 0; i < 200 && !url; i++) { await new Promise((r) => setTimeout(r, 100)); url = /serving (http:\/\/\S+)\/metrics/.exec(out)?.[1] }
console.log("url", url)
await new Promise((r) => setTimeout(r, 2000))
if (process.argv[4] !== "idle") console.log(spawnSync("wrk", ["-t1", "-c4", "-d10s", "--latency", `${url}/metrics`], { encoding: "utf8" }).stdout)
else await new Promise((r) => setTimeout(r, 10000))
mon.kill("SIGTERM")
await new Promise((r) => mon.once("exit", r))
for (const c of sleepers) try { process.kill(-c.pid, "SIGKILL") } catch {}
rmSync(home, { recursive: true, force: true })
console.log(readdirSync(profDir))
