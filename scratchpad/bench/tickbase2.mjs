import { readFileSync, readdirSync } from "node:fs"
const mode = process.argv[2]
const cpu = () => readdirSync(`/proc/${process.pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${process.pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
const Effect = await import("effect/Effect")
const sleepAsync = (ms) => Effect.async((resume) => { const t = setTimeout(() => resume(Effect.void), ms); return Effect.sync(() => clearTimeout(t)) })
let loop
if (mode === "sleep") loop = Effect.forever(Effect.zipRight(Effect.void, Effect.sleep(100)))
if (mode === "async") loop = Effect.forever(Effect.zipRight(Effect.void, sleepAsync(100)))
if (mode === "gen-async") loop = Effect.gen(function*() { while (true) { yield* sleepAsync(100) } })
if (mode === "gen-sleep") loop = Effect.gen(function*() { while (true) { yield* Effect.sleep(100) } })
Effect.runFork(loop)
setTimeout(() => { const c0 = cpu(); const t0 = Date.now(); setTimeout(() => { console.log(mode, ((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2), "ms/s"); process.exit(0) }, 15000) }, 2000)
