import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Monitor from "../../src/monitor/Monitor.js"
import { MonitorStats } from "../../src/monitor/MonitorStats.js"
import * as SupervisorM from "../../src/monitor/Supervisor.js"
const { Supervisor } = SupervisorM
import { idleFleet, startSleepers, startTimeOf } from "../../test/bench/fleet.js"

const N = Number(process.argv[2] ?? 1000)
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-cycle-"))
const sleepers = startSleepers(20)
try {
  await new Promise((r) => setTimeout(r, 200))
  const pool = sleepers.map((c) => ({ pid: c.pid!, startTime: startTimeOf(c.pid!)! }))
  writeFileSync(path.join(home, "boxes.json"), JSON.stringify(idleFleet(N, pool, home), null, 2) + "\n")
  const config = { ...Monitor.configFor(home, { interval: 3600, livenessTickMillis: 3_600_000 }) }
  const program = Effect.gen(function*() {
    const sup = yield* Supervisor
    const stats = yield* MonitorStats
    const count = Effect.map(stats.snapshot, (s) => s.cycleDurations.count)
    const one = Effect.gen(function*() {
      const before = yield* count
      const c0 = process.cpuUsage(); const t0 = performance.now()
      yield* sup.wake
      while ((yield* count) === before) yield* Effect.sleep(Duration.millis(1))
      const c = process.cpuUsage(c0); const t = performance.now() - t0
      return { cpu: (c.user + c.system) / 1000, wall: t }
    })
    yield* Effect.sleep(Duration.millis(50))
    yield* one // first
    for (let i = 0; i < Number(process.env.CYCLES ?? 8); i++) {
      const r = yield* one
      console.log(`N=${N} cpu ${r.cpu.toFixed(1)} ms wall ${r.wall.toFixed(1)} ms`)
    }
  })
  await Effect.runPromise(Effect.scoped(Layer.build(SupervisorM.layer.pipe(Layer.provideMerge(Monitor.hostLayer(config)), Layer.provide(NodeContext.layer))).pipe(Effect.flatMap((ctx) => Effect.provide(program, ctx)))))
} finally {
  for (const c of sleepers) try { process.kill(-c.pid!, "SIGKILL") } catch {}
  rmSync(home, { recursive: true, force: true })
}
