import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as Supervisor from "../../src/monitor/Supervisor.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import * as Duration from "effect/Duration"

const mode = process.argv[2] ?? "async"
const N = Number(process.argv[3] ?? 100)
const home = fs.mkdtempSync("/tmp/a3s-variant-")
const stat = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
const kids = Array.from({ length: N }, () => spawn("sleep", ["100000"], { stdio: "ignore", detached: true }))
fs.writeFileSync(path.join(home, "boxes.json"), JSON.stringify(kids.map((c, i) => {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
  return { id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, status: "running", pid: c.pid, pid_start_time: Number(stat(c.pid!)[19]), cmd: ["sleep"], env: {}, box_dir: home, console_log: home + "/c.log", created_at: "2026-01-01T00:00:00Z", restart_policy: "no" }
}), null, 2))
const file = path.join(home, "boxes.json")
const config = { ...MonitorConfig.defaults(home), interval: Duration.hours(1), livenessTick: Duration.millis(mode === "off" ? 3_600_000 : 100) }
const storeLayer = Layer.effect(StateStore, Effect.map(NodeStateStore.make(home), (s) => mode === "sync" ? {
  ...s, stamp: Effect.sync(() => { try { const st = fs.statSync(file, { bigint: true }); return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` } catch { return "" } })
} : s))
const services = Layer.mergeAll(storeLayer, MonitorStats.layer, MonitorConfig.layer(config)).pipe(Layer.provideMerge(LocalBoxRuntime.layer), Layer.provideMerge(NodeContext.layer))
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
const prog = Effect.gen(function*() {
  yield* Layer.build(Supervisor.layer.pipe(Layer.provide(services)))
  yield* Effect.sleep("3 seconds")
  const c0 = cpu(), t0 = Date.now()
  yield* Effect.sleep("20 seconds")
  console.log(`${mode} stamp, ${N} boxes: ${((cpu() - c0) / ((Date.now() - t0) / 1000)).toFixed(2)} ms/s`)
}).pipe(Effect.scoped, Effect.provide(Logger.remove(Logger.defaultLogger)))
Effect.runPromise(prog).finally(() => { for (const k of kids) k.kill("SIGKILL"); fs.rmSync(home, { recursive: true }) })
