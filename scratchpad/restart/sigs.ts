// Signal dispositions, pgid, env and cwd of boxes booted in one batch (3 boxes: two forked wrappers and the launcher's own).
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { Cleanup, recordIn, tempDir } from "../../test/runtime/support.js"
const keep = setInterval(() => {}, 1000)
const cleanup = new Cleanup()
const dir = tempDir(cleanup)
const boxes = [0, 1, 2].map((i) => recordIn(dir, { cmd: ["sh", "-c", "grep -E 'Sig(Ign|Blk)' /proc/self/status; echo pgid=$(ps -o pgid= -p $$) pid=$$ ppid=$PPID pwd=$PWD; env | sort | tr '\\n' ' '; echo; ls -l /proc/$$/fd | wc -l"], env: { FOO: "x" } }))
Effect.runPromise(Effect.gen(function*() {
  const runtime = yield* LocalBoxRuntime.make
  const booted = yield* Effect.forEach(boxes, (b) => runtime.boot(b, { gated: true }), { concurrency: "unbounded" })
  for (const b of booted) yield* b.release!
  for (const b of booted) console.log("exit", yield* b.exited)
  for (const b of boxes) console.log(readFileSync(b.console_log, "utf8"))
})).finally(() => { cleanup.run(); clearInterval(keep) })
