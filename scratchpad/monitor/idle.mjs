// Idle CPU of the monitor with N fake active boxes (records pointing at live `sleep`s), no run -d.
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 100)
const args = process.argv.slice(3)
const bin = path.resolve("dist/a3s-box.mjs")
const home = mkdtempSync(path.join(tmpdir(), "a3s-idle-"))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const stat = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
const cpu = (pid) => { const f = stat(pid); return (Number(f[11]) + Number(f[12])) * 10 }
const kids = []
const records = []
for (let i = 0; i < N; i++) {
  const c = spawn("sleep", ["100000"], { stdio: "ignore", detached: true }); kids.push(c)
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
  const dir = path.join(home, "boxes", id); mkdirSync(dir, { recursive: true })
  records.push({ id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, status: "running", pid: c.pid, pid_start_time: Number(stat(c.pid)[19]), cmd: ["sleep", "100000"], env: {}, box_dir: dir, console_log: path.join(dir, "console.log"), created_at: new Date().toISOString(), started_at: new Date().toISOString(), restart_policy: "no" })
}
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(records, null, 2))
const monitor = spawn(process.execPath, [...(process.env.NODEARGS ? process.env.NODEARGS.split(" ") : []), bin, "monitor", ...args], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "inherit", "inherit"] })
try {
  await sleep(3000)
  const c0 = cpu(monitor.pid), w0 = Date.now()
  await sleep(Number(process.env.SECS ?? 10) * 1000)
  const c1 = cpu(monitor.pid), w1 = Date.now()
  console.log(`idle CPU ${N} boxes (${args.join(" ")}): ${((c1 - c0) / ((w1 - w0) / 1000)).toFixed(2)} ms/s`)
} finally {
  monitor.kill("SIGINT"); await sleep(500); monitor.kill("SIGKILL")
  for (const c of kids) c.kill("SIGKILL")
  rmSync(home, { recursive: true, force: true })
}
