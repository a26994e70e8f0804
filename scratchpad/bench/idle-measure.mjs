// Idle CPU (schedstat) and RSS of the built monitor over N records pointing at live sleepers. args: N seconds [extra monitor args...]
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const [N, secs, ...extra] = process.argv.slice(2)
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-idle-"))
const sleepers = Array.from({ length: 50 }, () => { const c = spawn("sleep", ["10000"], { detached: true, stdio: "ignore" }); c.unref(); return c })
await new Promise((r) => setTimeout(r, 300))
const st = (pid) => { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[19]) }
const base = JSON.parse(readFileSync("test/domain/fixtures/boxes.json", "utf8"))[0]
const recs = Array.from({ length: Number(N) }, (_, i) => { const p = sleepers[i % 50].pid; const id = `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`; return { ...base, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, pid: p, pid_start_time: st(p), health_check: null, box_dir: `${home}/boxes/${id}`, console_log: `${home}/boxes/${id}/c.log` } })
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(recs, null, 2))
const mon = spawn(process.execPath, [process.env.BIN ?? "dist/a3s-box.mjs", "monitor", ...extra], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "ignore", "inherit"] })
const cpu = () => readdirSync(`/proc/${mon.pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${mon.pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
const rss = () => Number(readFileSync(`/proc/${mon.pid}/status`, "latin1").split("\n").find((l) => l.startsWith("VmRSS")).split(/\s+/)[1]) / 1024
await new Promise((r) => setTimeout(r, Number(process.env.SETTLE ?? 6000)))
const c0 = cpu(), t0 = Date.now()
await new Promise((r) => setTimeout(r, Number(secs) * 1000))
console.log(`N=${N} ${extra.join(" ")}: idle CPU ${((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2)} ms/s, RSS ${rss().toFixed(1)} MiB`)
mon.kill("SIGTERM")
await new Promise((r) => mon.once("exit", r))
for (const c of sleepers) try { process.kill(-c.pid, "SIGKILL") } catch {}
rmSync(home, { recursive: true, force: true })
