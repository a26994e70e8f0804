import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, openSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const bin = path.resolve("dist/a3s-box.mjs")
const home = mkdtempSync(path.join(tmpdir(), "a3s-storm-"))
const env = { ...process.env, A3S_HOME: home, A3S_NO_MONITOR_WARNING: "1" }
const state = () => { try { return JSON.parse(readFileSync(path.join(home, "boxes.json"), "utf8")) } catch { return [] } }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const alive = (b) => { try { return readFileSync(`/proc/${b.pid}/stat`, "utf8").split(") ")[1].split(" ")[19] == b.pid_start_time } catch { return false } }
const names = ["a", "b", "c"]
for (const n of names) spawnSync(process.execPath, [bin, "run", "-d", "--name", n, "--restart", "always", "--", "sleep", "100000"], { env })
const mon = spawn(process.execPath, [bin, "--log-level", "debug", "monitor", "--interval", "1"], { env, stdio: ["ignore", openSync(home + "/mon.log", "w"), "inherit"] })
await sleep(1500)
let seed = 20261126
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
for (let i = 0; i < 24; i++) {
  const b = state().find((x) => x.name === names[Math.floor(random() * 3)])
  if (b?.pid) try { process.kill(b.pid, "SIGKILL") } catch {}
  await sleep(50 + Math.floor(random() * 400))
}
const t = Date.now()
while (Date.now() - t < 90000) { const s = state(); if (names.every((n) => { const b = s.find((x) => x.name === n); return b && b.status === "running" && alive(b) })) break; await sleep(100) }
console.log("settled after", Date.now() - t, "ms", JSON.stringify(state().map((b) => [b.name, b.status, b.restart_count])))
await sleep(500)
mon.kill("SIGTERM"); await sleep(500)
console.log(readFileSync(home + "/mon.log", "utf8").split("\n").filter((l) => !l.includes("cycle took")).slice(-15).join("\n"))
for (const b of state()) if (b.pid) try { process.kill(b.pid, "SIGKILL") } catch {}
rmSync(home, { recursive: true, force: true })
