/**
 * A separate process for the state store's e2e tests (run with `node --import tsx`):
 *
 *   worker.ts increment HOME N [BARRIER]   N locked increments of the `counter` box's restart_count
 *                                          (if BARRIER is given: prints "ready", waits for that file
 *                                          to appear); prints {"done":N,"ms":...} when finished
 *   worker.ts hold HOME                    takes the store's lock, prints "locked", holds it forever
 *   worker.ts bench HOME N                 N uncontended modifies; prints {"median":...,"p90":...}
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import * as FileLock from "../../src/state/FileLock.js"
import * as SyncFileSystem from "../../src/platform/SyncFileSystem.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import { StateStore } from "../../src/state/StateStore.js"
import { stubRuntime } from "./support.js"

const [mode, home, countText, barrier] = process.argv.slice(2)
if (mode === undefined || home === undefined) {
  process.stderr.write("usage: worker.ts increment|hold|bench HOME [N] [BARRIER]\n")
  process.exit(2)
}
const count = Number(countText ?? "1")

const layer = NodeStateStore.layer(home).pipe(Layer.provide(SyncFileSystem.layer), Layer.provide(stubRuntime()))

const waitFor = (file: string) =>
  Effect.gen(function*() {
    while (!fs.existsSync(file)) yield* Effect.sleep("2 millis")
  })

const increment = Effect.gen(function*() {
  const store = yield* StateStore
  return yield* store.modify((records) => [
    null,
    records.map((r) => (r.id === "counter" ? { ...r, restart_count: r.restart_count + 1 } : r))
  ])
})

const program = Effect.gen(function*() {
  switch (mode) {
    case "increment": {
      if (barrier !== undefined) {
        process.stdout.write("ready\n")
        yield* waitFor(barrier)
      }
      const start = performance.now()
      for (let i = 0; i < count; i++) yield* increment
      process.stdout.write(JSON.stringify({ done: count, ms: Math.round(performance.now() - start) }) + "\n")
      return
    }
    case "hold":
      return yield* FileLock.withLock(NodeStateStore.lockOptions(home), () =>
        Effect.sync(() => process.stdout.write("locked\n")).pipe(Effect.zipRight(Effect.never)))
    case "bench": {
      const times: Array<number> = []
      for (let i = 0; i < count; i++) {
        const start = performance.now()
        yield* increment
        times.push(performance.now() - start)
      }
      times.sort((a, b) => a - b)
      const at = (q: number) => Number((times[Math.floor(q * (times.length - 1))] ?? 0).toFixed(3))
      process.stdout.write(JSON.stringify({ n: count, median: at(0.5), p90: at(0.9), max: at(1) }) + "\n")
      return
    }
    default:
      return yield* Effect.dieMessage(`unknown mode ${mode}`)
  }
})

Effect.runPromise(Effect.provide(program, layer)).then(
  () => process.exit(0),
  (error) => {
    // The whole cause (a FiberFailure's message is only its first line): the e2e test prints it when a worker fails.
    process.stderr.write(`worker failed: ${String(error)}\n${error instanceof Error && error.stack !== undefined ? error.stack : ""}\n`)
    process.exit(1)
  }
)
