import { openSync, readSync, closeSync, readFileSync } from "node:fs"
import { spawn } from "node:child_process"
const kids = Array.from({ length: 200 }, () => spawn("sleep", ["1000"], { detached: true, stdio: "ignore" }))
await new Promise((r) => setTimeout(r, 300))
const pids = kids.map((k) => k.pid)
const buf = Buffer.allocUnsafe(4096)
const N = 10000
const bench = (name, f) => { for (let r = 0; r < 5; r++) { const t = performance.now(); for (let i = 0; i < N; i++) f(pids[i % pids.length]); if (r >= 3) console.log(name, ((performance.now() - t) * 1000 / N).toFixed(2), "us/op") } }
bench("open+read+close", (pid) => { const fd = openSync(`/proc/${pid}/stat`, "r"); const n = readSync(fd, buf, 0, 4096, 0); closeSync(fd); return buf.toString("latin1", 0, n) })
const fds = new Map(pids.map((p) => [p, openSync(`/proc/${p}/stat`, "r")]))
bench("pread kept fd", (pid) => { const n = readSync(fds.get(pid), buf, 0, 4096, 0); return buf.toString("latin1", 0, n) })
bench("kill0", (pid) => process.kill(pid, 0))
// reuse-safety: kill one and read its kept fd
const victim = pids[0]; process.kill(victim, "SIGKILL"); await new Promise((r) => setTimeout(r, 200))
try { const n = readSync(fds.get(victim), buf, 0, 4096, 0); console.log("after death read:", n, buf.toString("latin1", 0, n).slice(0, 40)) } catch (e) { console.log("after death:", e.code) }
for (const k of kids) try { process.kill(-k.pid, "SIGKILL") } catch {}
