import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as EventHooksConfig from "../../src/domain/EventHooksConfig.js"
import * as EventHooks from "../../src/events/EventHooks.js"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as HookRunner from "../../src/events/HookRunner.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import { pidRuns } from "../support/pidRuns.js"
import { leftovers } from "../support/Leftovers.js"

/** Real `sh -c` hooks, fed from an in-memory journal's `append`, on the live clock. */

const { dirs, pids } = leftovers()

const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-hooks-"))
  dirs.push(dir)
  return dir
}


/** Polls `check` every 20 ms for up to `ms`. */
const until = (check: () => boolean, ms = 2_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !check() && waited < ms; waited += 20) yield* Effect.sleep(Duration.millis(20))
    return check()
  })

const withHooks = (config: Partial<EventHooksConfig.EventHooksConfig>, logs: Array<string>, body: (journal: InMemoryEventJournal.InMemoryEventJournal) => Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const journal = yield* InMemoryEventJournal.make
    yield* EventHooks.run({ ...EventHooksConfig.defaults, ...config }).pipe(
      Effect.provideService(EventJournal, journal),
      Effect.provide(HookRunner.layer)
    )
    yield* body(journal)
  })).pipe(
    Effect.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) logs.push(String(Array.isArray(message) ? message[0] : message))
      })
    ))
  )

describe("EventHooks with real sh -c hooks", () => {
  it.live("a hook gets the event's JSON line on stdin and its A3S_* variables, on top of the monitor's environment", () => {
    const dir = tempDir()
    const hook = `cat > '${dir}/stdin.json'; env | grep -E '^(A3S_|PATH=)' | sort > '${dir}/env.txt'; mv '${dir}/env.txt' '${dir}/env.done'`
    return withHooks({ commands: [hook, "exit 0"] }, [], (journal) =>
      Effect.gen(function*() {
        yield* journal.append([{ type: "die", box_id: "id-web", box_name: "web", exit_code: 137, signal: null }])
        expect(yield* until(() => fs.existsSync(path.join(dir, "env.done")))).toBe(true)
        expect(fs.readFileSync(path.join(dir, "stdin.json"), "utf8")).toMatch(
          /^\{"type":"die","box_id":"id-web","box_name":"web","exit_code":137,"signal":null,"seq":1,"time":"[^"]+","count":1\}\n$/
        )
        const env = fs.readFileSync(path.join(dir, "env.done"), "utf8").trim().split("\n")
        expect(env.filter((l) => !l.startsWith("A3S_EVENT_TIME=") && !l.startsWith("PATH="))).toEqual([
          "A3S_BOX_ID=id-web",
          "A3S_BOX_NAME=web",
          "A3S_EVENT=die",
          "A3S_EVENT_COUNT=1",
          "A3S_EVENT_SEQ=1",
          "A3S_EXIT_CODE=137"
        ])
        expect(env).toContain(`PATH=${process.env["PATH"]}`)
      }))
  })

  it.live("a hook over its timeout has its process group killed, and the failure is a warning", () => {
    const dir = tempDir()
    const logs: Array<string> = []
    const hook = `sleep 30 & echo $! > '${dir}/child'; wait`
    return withHooks({ commands: [hook], timeout: Duration.seconds(1) }, logs, (journal) =>
      Effect.gen(function*() {
        yield* journal.append([{ type: "gave-up", box_id: "id-job", box_name: "job", restarts: 3, limit: 3 }])
        expect(yield* until(() => fs.existsSync(path.join(dir, "child")) && fs.readFileSync(path.join(dir, "child"), "utf8").endsWith("\n"))).toBe(true)
        const child = Number(fs.readFileSync(path.join(dir, "child"), "utf8"))
        pids.push(child)
        expect(pidRuns(child)).toBe(true)
        expect(yield* until(() => logs.length > 0, 2_500)).toBe(true)
        expect(logs).toEqual([`monitor: event hook timed out after 1s; its process group was killed, for gave-up of box job (seq 1): ${hook}`])
        expect(yield* until(() => !pidRuns(child))).toBe(true)
      }))
  })
})
