// In-process: boots N boxes gated at once through LocalBoxRuntime, then releases them; wall and CPU per phase.
// npx tsx scratchpad/restart/boots.ts [N] [rounds]
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { rmSync } from "node:fs"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { Cleanup, recordIn, tempDir } from "../../test/runtime/support.js"

const N = Number(process.argv[2] ?? 100)
const ROUNDS = Number(process.argv[3] ?? 5)
const cleanup = new Cleanup()
const dir = tempDir(cleanup)
const boxes = Array.from({ length: N }, (_, i) => recordIn(dir, { cmd: ["sleep", String(6_000_000 + i)], restart_policy: "always" }))
const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const main = Effect.gen(function*() {
  const runtime = yield* LocalBoxRuntime.make
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime(); const c0 = cpu()
    const attempts = yield* Effect.forEach(boxes, (b) => Effect.either(runtime.boot(b, { gated: true })), { concurrency: "unbounded" })
    const t1 = ms(process.hrtime(t0)); const c1 = cpu() - c0
    const booted = attempts.flatMap((a) => Either.isRight(a) ? [a.right] : (console.log(a.left.reason), []))
    for (const b of booted) cleanup.track(b.pid)
    const t2s = process.hrtime(); const c2s = cpu()
    for (const b of booted) yield* b.release!
    const t2 = ms(process.hrtime(t2s)); const c2 = cpu() - c2s
    console.log(`round ${r}: ${booted.length} boots ${t1.toFixed(0)} ms (cpu ${c1.toFixed(0)}), release ${t2.toFixed(0)} ms (cpu ${c2.toFixed(0)})`)
    yield* Effect.sleep(300)
    for (const b of booted) { try { process.kill(-b.pid, "SIGKILL") } catch {} }
    yield* Effect.sleep(300)
  }
})
Effect.runPromise(main).finally(() => { cleanup.run(); rmSync(dir, { recursive: true, force: true }) })
