// N monitor-booted boxes up 31 s, then all SIGKILLed at once: ms until every record has a new live pid
// (state file's stat polled, read+parse only on change), the monitor's CPU ms over that time, its cycle lines.
// BIN=dist/a3s-box.mjs node scratchpad/restart/storm.mjs [N] [trials]
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 100), TRIALS = Number(process.argv[3] ?? 1)
const home = mkdtempSync(path.join(tmpdir(), "a3s-restart-storm-"))
const file = path.join(home, "boxes.json")
const base = JSON.parse(readFileSync("test/domain/fixtures/boxes.json", "utf8"))[0]
const recs = Array.from({ length: N }, (_, i) => { const id = `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`; return { ...base, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `s${i}`, status: "dead", pid: null, pid_start_time: null, exit_code: 137, health_check: null, workdir: null, cmd: ["sleep", String(7100000 + i)], env: {}, restart_policy: "always", box_dir: `${home}/boxes/${id}`, console_log: `${home}/boxes/${id}/c.log` } })
writeFileSync(file, JSON.stringify(recs, null, 2))
const mon = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : []), process.env.BIN ?? "dist/a3s-box.mjs", "monitor", "--log-level", "debug"], { env: { ...process.env, A3S_HOME: home }, stdio: ["ignore", "pipe", "pipe"] })
let out = ""
mon.stdout.on("data", (d) => (out += d)); mon.stderr.on("data", (d) => (out += d))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const now = () => Number(process.hrtime.bigint()) / 1e6
const state = () => JSON.parse(readFileSync(file, "utf8"))
const startOf = (pid) => { try { const t = readFileSync(`/proc/${pid}/stat`, "latin1"); const f = t.slice(t.lastIndexOf(")") + 2).split(" "); return f[0] === "Z" ? undefined : Number(f[19]) } catch { return undefined } }
const cpuOf = (pid) => { let ns = 0; for (const t of readdirSync(`/proc/${pid}/task`)) { try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch {} } return ns / 1e6 }
const stamp = () => { try { const s = statSync(file, { bigint: true }); return `${s.ino}:${s.mtimeNs}` } catch { return "" } }
try {
  for (let i = 0; i < 300; i++) { await sleep(100); try { if (state().every((b) => b.status === "running" && b.pid)) break } catch {} }
  for (let t = 0; t < TRIALS; t++) {
    await sleep(31_000)
    const before = state()
    const old = new Map(before.map((b) => [b.id, b.pid]))
    const mark = out.length
    const c0 = cpuOf(mon.pid)
    const t0 = now()
    for (const b of before) { try { process.kill(b.pid, "SIGKILL") } catch {} }
    let last = ""
    for (;;) {
      const s = stamp()
      if (s !== last) {
        last = s
        let st; try { st = state() } catch {}
        if (st && st.every((b) => b.status === "running" && b.pid !== old.get(b.id) && startOf(b.pid) === b.pid_start_time)) break
      }
      if (now() - t0 > 60_000) throw new Error("not back")
      await new Promise((r) => setTimeout(r, 1))
    }
    const ms = now() - t0, cpu = cpuOf(mon.pid) - c0
    await sleep(300)
    const lines = out.slice(mark).split("\n").filter((l) => /cycle took/.test(l) && / [1-9][0-9]* boots/.test(l)).map((l) => l.replace(/^.*cycle took/, ""))
    console.log(`${N} killed -> all back ${ms.toFixed(0)} ms, monitor cpu ${cpu.toFixed(0)} ms; cycles: ${lines.join(" | ")}`)
  }
} finally {
  let fin = []; try { fin = state() } catch {}
  mon.kill("SIGTERM"); await new Promise((r) => mon.once("exit", r))
  for (const b of fin) if (b.pid && startOf(b.pid) === b.pid_start_time) { try { process.kill(-b.pid, "SIGKILL") } catch {} }
  await sleep(300)
  rmSync(home, { recursive: true, force: true })
}
