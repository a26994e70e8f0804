/**
 * Boots a fleet of real boxes as `a3s-box run -d` boots one, for the cycle benchmark's wrapped
 * fleet (wrappedFleet.ts runs it). Its own process, so that the process the benchmark measures is
 * not the one that booted the boxes (nor their launchers' parent), as for boxes of `run -d`:
 *
 *   node --import tsx test/bench/bootFleet.ts HOME COUNT [CHUNK]
 *
 * 1. Writes HOME/boxes.json: COUNT fixture-shaped records as `run` creates them before the boot
 *    (fleet.ts unbootedFleet: `created`, no pid, `sleep 100000`), and creates each box dir (0700,
 *    as `run` does before booting; the console log is in it).
 * 2. Reads them back through the state store (NodeStateStore, decoded) and boots every one with
 *    the local runtime, over the CLI's own layers (LiveLayers.onHome), gated as Lifecycle.boot
 *    boots (`run -d`): CHUNK boots at a time (default 100), all of a chunk started in the same
 *    turn of the event loop, so that the launcher starts them with one bash (one argv naming the
 *    chunk's boxes, a socket pair and a log descriptor per box in this process).
 * 3. Records every box `running` with its pid and pid_start_time (and `started_at`), in ONE
 *    locked write of the state file (`run -d` makes one such write per box), then releases every
 *    box (the gate's `go`: the job execs the command), as `run -d` does once it is recorded: a
 *    chunk at a time, each once the previous chunk's commands run.
 *    The health fields are left as written (checked an instant ago, not due): not
 *    Transitions.started, which would make half of them due at once.
 * 4. Prints one JSON line on stdout: {booted, bootMs, recordMs, totalMs, chunkMs, boxes: [[pid, start], ...]},
 *    and exits. The wrappers outlive it (after `go` the job no longer reads its gate; a wrapper
 *    writing `exit CODE` to a closed gate ignores the EPIPE). If it fails or dies before the
 *    release, every box it booted exits 125 without running its command (its gate closed).
 */
import * as Effect from "effect/Effect"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import * as LiveLayers from "../../src/cli/LiveLayers.js"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { type BootedBox, BoxRuntime } from "../../src/runtime/BoxRuntime.js"
import { StateStore } from "../../src/state/StateStore.js"
import { BOX_COMMAND, unbootedFleet } from "./fleet.js"

const [home, countArg, chunkArg] = process.argv.slice(2)
const count = Number(countArg)
const chunkSize = chunkArg === undefined ? 100 : Number(chunkArg)
if (home === undefined || !Number.isSafeInteger(count) || count <= 0 || !Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
  console.error("usage: node --import tsx test/bench/bootFleet.ts HOME COUNT [CHUNK]")
  process.exit(2)
}

const records = unbootedFleet(count, home)
for (const record of records) mkdirSync(record["box_dir"] as string, { recursive: true, mode: 0o700 })
writeFileSync(path.join(home, "boxes.json"), JSON.stringify(records, null, 2) + "\n")

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** How long the release of a chunk waits for its jobs to exec the command (then the next chunk goes anyway). */
const RELEASE_DEADLINE_MS = 30_000

/** The released job at `pid` has exec'd the box's command (BOX_COMMAND: `sleep`), or is gone. */
const commandRuns = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "latin1").trim() === BOX_COMMAND[0]
  } catch {
    return true
  }
}

/** Every box booted so far (gated): abandoned if the boot of the fleet fails. */
const booted: Array<readonly [BoxRecord, BootedBox]> = []

const program = Effect.gen(function*() {
  const store = yield* StateStore
  const runtime = yield* BoxRuntime
  const boxes = yield* store.snapshot
  if (boxes.length !== count) return yield* Effect.die(new Error(`read back ${boxes.length} records, wrote ${count}`))
  const started = performance.now()
  const chunkMs: Array<number> = []
  yield* Effect.forEach(
    chunksOf(boxes, chunkSize),
    (chunk) => {
      const at = performance.now()
      return Effect.forEach(
        chunk,
        (box) => Effect.map(runtime.boot(box, { gated: true }), (b) => void booted.push([box, b] as const)),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.tap(() => void chunkMs.push(performance.now() - at)))
    },
    { concurrency: 1, discard: true }
  )
  const bootMs = performance.now() - started
  const now = new Date().toISOString()
  const byId = new Map(booted.map(([box, b]) => [box.id, b]))
  yield* store.modify((current) => [
    undefined,
    current.map((record): BoxRecord => {
      const b = byId.get(record.id)
      return b === undefined
        ? record
        : { ...record, status: "running", pid: b.pid, pid_start_time: b.pidStartTime, started_at: now, stopped_by_user: false, exit_code: null }
    })
  ])
  const recordMs = performance.now() - started - bootMs
  // Released a chunk at a time, each once the previous one's jobs have exec'd their command:
  // ten thousand execs at once put thousands of processes in D state (a load average in the
  // thousands, the machine stalled for seconds), which `run -d`, one box at a time, never does.
  for (const chunk of chunksOf(booted, chunkSize)) {
    for (const [box, b] of chunk) {
      if (b.release === undefined) return yield* Effect.die(new Error(`box ${box.name} was not booted gated`))
      yield* b.release
    }
    const deadline = performance.now() + RELEASE_DEADLINE_MS
    while (!chunk.every(([, b]) => commandRuns(b.pid)) && performance.now() < deadline) yield* Effect.sleep("10 millis")
  }
  return { bootMs, recordMs, totalMs: performance.now() - started, chunkMs }
}).pipe(
  Effect.tapErrorCause(() => Effect.forEach(booted, ([, b]) => b.abandon ?? Effect.void, { discard: true })),
  Effect.provide(LiveLayers.onHome(home))
)

Effect.runPromise(program).then(
  ({ bootMs, chunkMs, recordMs, totalMs }) => {
    process.stdout.write(
      JSON.stringify({ booted: booted.length, bootMs, recordMs, totalMs, chunkMs, boxes: booted.map(([, b]) => [b.pid, b.pidStartTime]) }) + "\n"
    )
    // Nothing should keep this process alive now (the gates and launchers are unref'd): a guard
    // in case something does, once the `go`s are long written.
    setTimeout(() => process.exit(0), 5_000).unref()
  },
  (error: unknown) => {
    console.error(`bootFleet: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
)
