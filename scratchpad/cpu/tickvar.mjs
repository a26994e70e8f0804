// CPU ms/s of one 100 ms wake-up in several shapes. arg: mode
import { statSync, readFileSync, readdirSync } from "node:fs"
const mode = process.argv[2]
const cpu = () => readdirSync(`/proc/${process.pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${process.pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
const Effect = await import("effect/Effect")
const Runtime = await import("effect/Runtime")
if (mode === "none") {}
else if (mode === "interval") setInterval(() => {}, 100)
else if (mode === "interval-runsync") setInterval(() => { Effect.runSync(Effect.sync(() => 1)) }, 100)
else if (mode === "interval-runfork") setInterval(() => { Effect.runFork(Effect.sync(() => 1)) }, 100)
else if (mode === "effect-sleep") Effect.runFork(Effect.forever(Effect.zipRight(Effect.sync(() => 1), Effect.sleep(100))))
else if (mode === "effect-async") Effect.runFork(Effect.forever(Effect.zipRight(Effect.sync(() => 1), Effect.async((r) => { const h = setTimeout(() => r(Effect.void), 100); return Effect.sync(() => clearTimeout(h)) }))))
else if (mode === "effect-never") Effect.runFork(Effect.never)
setTimeout(() => { const c0 = cpu(); const t0 = Date.now(); setTimeout(() => { console.log(mode, ((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2), "ms/s"); process.exit(0) }, Number(process.env.SECS ?? 12) * 1000) }, Number(process.env.SETTLE ?? 2000))
