// CPU ms/s (schedstat) of a child node running each variant of a 100 ms wake-up.
import { spawn } from "node:child_process"
import { readFileSync, readdirSync } from "node:fs"
const variants = {
  idle: "setInterval(() => {}, 1e9)",
  raw: "setInterval(() => {}, 100)",
  rawStatKill: "const fs = require('node:fs'); setInterval(() => { fs.statSync('/tmp', { bigint: true }); for (let i = 0; i < 100; i++) try { process.kill(process.pid, 0) } catch {} }, 100)",
  runSync: "import('effect/Effect').then(async (Effect) => { const Runtime = await import('effect/Runtime'); const t = Effect.sync(() => 1); setInterval(() => Runtime.runSync(Runtime.defaultRuntime)(t), 100) })",
  effectSleep: "import('effect/Effect').then((Effect) => Effect.runFork(Effect.forever(Effect.zipRight(Effect.sync(() => 1), Effect.sleep(100)))))",
}
const cpu = (pid) => readdirSync(`/proc/${pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
for (const name of (process.argv[2] ?? Object.keys(variants).join(",")).split(",")) {
  const child = spawn(process.execPath, ["-e", variants[name]], { stdio: "inherit", cwd: "/work/main" })
  await new Promise((r) => setTimeout(r, 6000))
  const c0 = cpu(child.pid), t0 = Date.now()
  await new Promise((r) => setTimeout(r, 15000))
  console.log(name.padEnd(12), ((cpu(child.pid) - c0) / ((Date.now() - t0) / 1000)).toFixed(2), "ms/s", readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "))
  child.kill()
}
