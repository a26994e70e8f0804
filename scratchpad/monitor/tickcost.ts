import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import { BoxRuntime } from "../../src/runtime/BoxRuntime.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"

const home = fs.mkdtempSync("/tmp/a3s-tick-")
fs.writeFileSync(home + "/boxes.json", "[]")
const pids = Array.from({ length: 100 }, () => process.pid)
const measure = (name: string, n: number, eff: Effect.Effect<unknown>) => Effect.gen(function*() {
  const c0 = process.cpuUsage(); const t0 = performance.now()
  for (let i = 0; i < n; i++) yield* eff
  const c = process.cpuUsage(c0)
  console.log(name, "cpu us/op", ((c.user + c.system) / n).toFixed(1), "wall us/op", ((performance.now() - t0) * 1000 / n).toFixed(1))
})
const prog = Effect.gen(function*() {
  const store = yield* StateStore
  const rt = yield* BoxRuntime
  for (let k = 0; k < 2; k++) {
    yield* measure("stamp", 2000, store.stamp!)
    yield* measure("pidsExist(100)", 2000, rt.pidsExist!(pids))
    yield* measure("Effect.void", 20000, Effect.void)
    yield* measure("sleep(0)", 2000, Effect.sleep(0))
    yield* measure("sleep(1ms)", 500, Effect.sleep(1))
  }
})
Effect.runPromise(prog.pipe(Effect.provide(NodeStateStore.layer(home).pipe(Layer.provideMerge(LocalBoxRuntime.layer), Layer.provideMerge(NodeContext.layer))))).finally(() => fs.rmSync(home, { recursive: true }))
