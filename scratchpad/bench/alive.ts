import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as PI from "../../src/runtime/ProcessInfo.js"
import { startTimeOf } from "../../test/bench/fleet.js"
const kids = Array.from({ length: 200 }, () => spawn("sleep", ["1000"], { detached: true, stdio: "ignore" }))
await new Promise((r) => setTimeout(r, 300))
const procs = Array.from({ length: 10000 }, (_, i) => { const pid = kids[i % 200]!.pid!; return { pid, startTime: startTimeOf(pid)! } })
for (let r = 0; r < 4; r++) {
  let t = performance.now(); const a = Effect.runSync(PI.areAlive(procs)); const x = performance.now() - t
  t = performance.now(); const b = Effect.runSync(Effect.forEach(procs, (p) => PI.isAlive(p.pid, p.startTime), { concurrency: 16 })); const y = performance.now() - t
  t = performance.now(); const c = Effect.runSync(Effect.forEach(procs, (p) => PI.isAlive(p.pid, p.startTime + 1))); const z = performance.now() - t
  console.log(`10k areAlive ${x.toFixed(1)} ms (${a.filter(Boolean).length}) | forEach isAlive ${y.toFixed(1)} ms (${b.filter(Boolean).length}) | wrong start ${c.filter(Boolean).length} ${z.toFixed(0)}`)
}
const wrong = Effect.runSync(PI.areAlive(procs.map((p) => ({ ...p, startTime: p.startTime + 1 }))))
console.log("wrong start via areAlive alive:", wrong.filter(Boolean).length, "null start:", Effect.runSync(PI.areAlive(procs.map((p) => ({ pid: p.pid, startTime: null })))).filter(Boolean).length)
for (const k of kids) try { process.kill(-k.pid!, "SIGKILL") } catch {}
