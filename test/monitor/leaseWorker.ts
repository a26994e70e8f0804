/**
 * A separate process for the lease's e2e tests (run with `node --import tsx`):
 *
 *   leaseWorker.ts HOME BARRIER   for round 1, 2, ...: prints {"ready":N}, waits for the file
 *                                 BARRIER.N to appear, makes one claim on HOME's lease and prints
 *                                 {"round":N,"result":"Claimed"|"Busy","holder":PID}. Never releases:
 *                                 a winner keeps the lease until it is killed. Exits when stdin closes.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as MonitorLease from "../../src/monitor/MonitorLease.js"

const [home, barrier] = process.argv.slice(2)
if (home === undefined || barrier === undefined) {
  process.stderr.write("usage: leaseWorker.ts HOME BARRIER\n")
  process.exit(2)
}
process.stdin.on("end", () => process.exit(0))
process.stdin.resume()

const program = Effect.gen(function*() {
  const lease = yield* MonitorLease.makeNode(home)
  for (let round = 1;; round++) {
    process.stdout.write(JSON.stringify({ ready: round }) + "\n")
    while (!fs.existsSync(`${barrier}.${round}`)) yield* Effect.sleep("2 millis")
    const result = yield* lease.claim
    process.stdout.write(JSON.stringify({ round, result: result._tag, holder: result.holder.pid }) + "\n")
  }
})

Effect.runPromise(program.pipe(Effect.provide(NodeFileSystem.layer))).catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
