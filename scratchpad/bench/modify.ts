import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { idleFleet } from "../../test/bench/fleet.js"
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-mod-"))
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(idleFleet(Number(process.argv[2] ?? 20), [{ pid: process.pid, startTime: 1 }], home), null, 2))
const layer = NodeStateStore.layer(home).pipe(Layer.provide(LocalBoxRuntime.layer), Layer.provide(NodeContext.layer))
try {
  await Effect.runPromise(Effect.gen(function*() {
    const store = yield* StateStore
    const ts: number[] = []
    for (let i = 0; i < 30; i++) {
      const t = performance.now()
      yield* store.modify((rs) => [null, rs.map((r, j) => j === 0 ? { ...r, restart_count: i } : r)])
      ts.push(performance.now() - t)
    }
    const s = ts.slice(5).sort((a, b) => a - b)
    console.log("modify ms: median", s[Math.floor(s.length / 2)]!.toFixed(1), "p90", s[Math.floor(s.length * 0.9)]!.toFixed(1), "min", s[0]!.toFixed(1))
    const u: number[] = []
    for (let i = 0; i < 30; i++) { const t = performance.now(); yield* store.snapshot; u.push(performance.now() - t) }
    u.sort((a, b) => a - b); console.log("snapshot ms median", u[15]!.toFixed(2))
  }).pipe(Effect.provide(layer)))
} finally { rmSync(home, { recursive: true, force: true }) }
