// CPU per 100 ms wakeup: plain setInterval vs an Effect sleep loop (with and without a stat).
import { statSync, readFileSync, readdirSync } from "node:fs"
const mode = process.argv[2]
const cpu = () => readdirSync(`/proc/${process.pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${process.pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
if (mode === "interval") setInterval(() => {}, 100)
else if (mode === "interval-stat") setInterval(() => { statSync("/tmp") }, 100)
else {
  const Effect = await import("effect/Effect")
  const loop = Effect.forever(Effect.zipRight(Effect.sync(() => { if (mode === "effect-stat") statSync("/tmp") }), Effect.sleep(100)))
  Effect.runFork(loop)
}
setTimeout(() => { const c0 = cpu(); const t0 = Date.now(); setTimeout(() => { console.log(mode, ((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2), "ms/s"); process.exit(0) }, 15000) }, 2000)
