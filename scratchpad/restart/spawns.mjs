// CPU of N bare wrapper spawns (as LocalBoxRuntime does them) vs variants, in a process with a heap like the monitor's.
// node scratchpad/restart/spawns.mjs [N] [variant: two|one|ignore] [heapMB]
import { spawn } from "node:child_process"
import { mkdtempSync, openSync, closeSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 100), variant = process.argv[3] ?? "two", heapMB = Number(process.argv[4] ?? 40)
const ballast = []; for (let i = 0; i < heapMB * 1024; i++) ballast.push({ a: "x".repeat(900), i })
const dir = mkdtempSync(path.join(tmpdir(), "a3s-spawns-"))
const W1 = ["set -m", "exec 4<&0 0</dev/null", "(", " exec 3>&-", " IFS= read -r go <&4 || go=", " exec 4<&-", " [ \"$go\" = go ] || exit 125", " exec \"$@\"", ") &", "child=$!", "set +m", "exec 4<&- 2>/dev/null", "trap '' HUP INT QUIT TERM", "printf '%s\\n' \"$child\" >&3", "exec 3>&-", "wait \"$child\"", "code=$?", "exit $code"].join("\n")
const W2 = ["set -m", "exec 4<&3 3>&-", "(", " IFS= read -r go <&4 || go=", " exec 4<&-", " [ \"$go\" = go ] || exit 125", " exec \"$@\"", ") &", "child=$!", "set +m", "exec 2>/dev/null", "trap '' HUP INT QUIT TERM", "printf '%s\\n' \"$child\" >&4", "exec 4>&-", "wait \"$child\"", "code=$?", "exit $code"].join("\n")
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const round = async () => {
  const t0 = performance.now(), c0 = cpu()
  const kids = await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
    const log = openSync(path.join(dir, `l${i}`), "a")
    const stdio = variant === "two" ? ["pipe", log, log, "pipe"] : ["ignore", log, log, "pipe"]
    const w = spawn("/bin/bash", ["--norc", "--noprofile", "-c", variant === "two" ? W1 : W2, "a3s-box-wrapper", "sleep", String(8000000 + i)], { detached: true, stdio, env: { PATH: process.env.PATH } })
    closeSync(log)
    const rd = w.stdio[3]
    rd.once("data", (d) => resolve({ w, pid: Number(String(d).trim()) }))
  })))
  const t1 = performance.now(), c1 = cpu()
  for (const k of kids) { if (variant === "two") { k.w.stdin.end("go\n"); k.w.stdio[3].destroy() } else k.w.stdio[3].end("go\n"); k.w.unref() }
  const t2 = performance.now(), c2 = cpu()
  console.log(`${variant}: ${N} boots ${(t1 - t0).toFixed(0)} ms wall, ${(c1 - c0).toFixed(0)} ms cpu; release ${(t2 - t1).toFixed(0)} wall ${(c2 - c1).toFixed(0)} cpu; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`)
  await new Promise((r) => setTimeout(r, 300))
  for (const k of kids) { try { process.kill(-k.pid, "SIGKILL") } catch {} }
  await new Promise((r) => setTimeout(r, 300))
}
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) await round()
rmSync(dir, { recursive: true, force: true })
