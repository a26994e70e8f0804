/**
 * A separate process for the journal's e2e test (bundled by the test with esbuild):
 *
 *   writer.ts HOME NAME N MAX_BYTES BARRIER   prints "ready", waits for BARRIER to appear, then
 *                                             appends N events (box_name NAME, exit_code 1..N)
 *                                             one at a time; prints "done"
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as fs from "node:fs"
import * as NodeEventJournal from "../../src/events/NodeEventJournal.js"

const [home, name, countText, maxBytesText, barrier] = process.argv.slice(2)
if (home === undefined || name === undefined || countText === undefined || maxBytesText === undefined || barrier === undefined) {
  process.stderr.write("usage: writer.ts HOME NAME N MAX_BYTES BARRIER\n")
  process.exit(2)
}

const program = Effect.gen(function*() {
  const journal = yield* NodeEventJournal.make(home, { maxBytes: Number(maxBytesText), keep: 1000 })
  process.stdout.write("ready\n")
  while (!fs.existsSync(barrier)) yield* Effect.sleep("5 millis")
  for (let i = 1; i <= Number(countText); i++) {
    yield* journal.append([{ type: "die", box_id: `id-${name}`, box_name: name, exit_code: i, signal: null }])
  }
  const failures = (yield* Metric.value(NodeEventJournal.writeFailures)).count
  process.stdout.write(`done ${failures}\n`)
})

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
