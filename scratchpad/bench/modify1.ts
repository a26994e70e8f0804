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
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(idleFleet(20, [{ pid: process.pid, startTime: 1 }], home), null, 2))
const layer = NodeStateStore.layer(home).pipe(Layer.provide(LocalBoxRuntime.layer), Layer.provide(NodeContext.layer))
try {
  await Effect.runPromise(Effect.gen(function*() {
    const store = yield* StateStore
    for (let i = 0; i < 5; i++) yield* store.modify((rs) => [null, rs.map((r, j) => j === 0 ? { ...r, restart_count: i } : r)])
    yield* Effect.sleep("100 millis")
    process.stderr.write("MARK-BEGIN\n")
    const t = performance.now()
    yield* store.modify((rs) => [null, rs.map((r, j) => j === 0 ? { ...r, restart_count: 99 } : r)])
    process.stderr.write(`MARK-END ${(performance.now() - t).toFixed(1)}\n`)
  }).pipe(Effect.provide(layer)))
} finally { rmSync(home, { recursive: true, force: true }) }
