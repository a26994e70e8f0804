// schedstat CPU ms/s of another process over a window: node baseline.mjs PID settleMs windowMs
import { readFileSync, readdirSync } from "node:fs"
const [pid, settle, win] = process.argv.slice(2).map(Number)
const cpu = () => readdirSync(`/proc/${pid}/task`).reduce((a, t) => { try { return a + Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "latin1").split(" ")[0]) } catch { return a } }, 0) / 1e6
await new Promise((r) => setTimeout(r, settle))
const c0 = cpu(), t0 = Date.now()
await new Promise((r) => setTimeout(r, win))
console.log(((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2), "ms/s", readFileSync("/proc/loadavg", "utf8").trim())
