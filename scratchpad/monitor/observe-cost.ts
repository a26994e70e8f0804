import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { BoxRuntime } from "../../src/runtime/BoxRuntime.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { needsLivenessCheck } from "../../src/domain/Reconcile.js"
import * as Option from "effect/Option"

const N = 100
const home = fs.mkdtempSync("/tmp/a3s-obs-")
const stat = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
const kids = Array.from({ length: N }, () => spawn("sleep", ["100000"], { stdio: "ignore", detached: true }))
const fixture = JSON.parse(fs.readFileSync("/work/shared/fixtures/boxes.json", "utf8"))[0]
fs.writeFileSync(path.join(home, "boxes.json"), JSON.stringify(kids.map((c, i) => {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
  return { ...fixture, id, short_id: id.replaceAll("-", "").slice(0, 12), name: `b${i}`, status: "running", pid: c.pid, pid_start_time: Number(stat(c.pid!)[19]), box_dir: home, console_log: home + "/c.log" }
}), null, 2))
console.log("file bytes", fs.statSync(path.join(home, "boxes.json")).size)
const time = (name: string, n: number, eff: Effect.Effect<unknown>) => Effect.gen(function*() {
  const t0 = performance.now(); const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) yield* eff
  const c = process.cpuUsage(c0)
  console.log(name, "wall ms", ((performance.now() - t0) / n).toFixed(2), "cpu ms", ((c.user + c.system) / 1000 / n).toFixed(2))
})
const prog = Effect.gen(function*() {
  const store = yield* StateStore
  const rt = yield* BoxRuntime
  const recs = yield* store.snapshot
  const active = recs.filter(needsLivenessCheck)
  for (let k = 0; k < 2; k++) {
    yield* time("snapshot", 50, store.snapshot)
    yield* time("isAlive x100 forEach c16", 50, Effect.forEach(active, (b) => rt.isAlive(b.pid!, b.pid_start_time), { concurrency: 16 }))
    yield* time("isAlive x100 forEach seq", 50, Effect.forEach(active, (b) => rt.isAlive(b.pid!, b.pid_start_time)))
    yield* time("load", 50, store.load)
  }
})
Effect.runPromise(prog.pipe(Effect.provide(NodeStateStore.layer(home).pipe(Layer.provideMerge(LocalBoxRuntime.layer), Layer.provideMerge(NodeContext.layer))))).finally(() => { for (const k of kids) k.kill("SIGKILL"); fs.rmSync(home, { recursive: true }) })
