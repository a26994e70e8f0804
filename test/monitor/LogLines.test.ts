/**
 * The SPEC §10 log lines, as the supervisor logs them, in both `--log-format`s, line by line:
 * the text line names the box once (in the message), the JSON line is `{time, level, msg}` plus
 * `box`/`box_id` and the event's own typed fields.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as TestClock from "effect/TestClock"
import { Unhealthy } from "../../src/runtime/InMemoryBoxRuntime.js"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorLogger from "../../src/monitor/MonitorLogger.js"
import { healthCheck, makeBox } from "./boxes.js"
import { advanceUntil, bootsOf, type Harness, settle, start } from "./harness.js"

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

const entryOf = (line: Harness["logs"][number]): MonitorLogger.Entry => ({
  date: new Date(line.at),
  logLevel: { label: line.level },
  message: line.message,
  annotations: HashMap.fromIterable(Object.entries(line.annotations)),
  cause: Cause.empty
})

/** The line whose message starts with `prefix`, in both formats. */
const formatted = (h: Harness, prefix: string) => {
  const line = h.logs.find((l) => l.message.startsWith(prefix))
  expect(line, prefix).toBeDefined()
  const entry = entryOf(line!)
  return { text: MonitorLogger.formatText(entry), json: JSON.parse(MonitorLogger.formatJson(entry)) as Record<string, unknown> }
}

const occurrences = (text: string, word: string) => text.split(word).length - 1

describe("SPEC §10 log lines in text and JSON", () => {
  it.scoped("restarting a dead box, restarted, backing off", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "web", status: "dead", exit_code: 137, restart_count: 2 })])
      yield* advanceUntil(Effect.map(bootsOf(h, "web"), (n) => n >= 1), { within: "1 millis" })
      const id = (yield* h.box("web")).short_id
      // Crash at once: the next restart backs off.
      yield* h.runtime.killBox("web", 1)
      yield* advanceUntil(Effect.map(bootsOf(h, "web"), (n) => n >= 2), { step: "100 millis" })

      const restarting = formatted(h, "monitor: restarting dead box web")
      expect(restarting.text).toMatch(new RegExp(`^\\S+ INFO  monitor: restarting dead box web \\(${id}, policy: always, exit: 137\\)\\.\\.\\.$`))
      expect(restarting.json).toEqual({
        time: expect.stringMatching(RFC3339),
        level: "info",
        msg: `monitor: restarting dead box web (${id}, policy: always, exit: 137)...`,
        box: "web",
        box_id: id,
        event: "restarting",
        policy: "always",
        exit_code: 137
      })

      const restarted = formatted(h, `monitor: box web (${id}) restarted (count: 3)`)
      expect(restarted.text).toMatch(new RegExp(`^\\S+ INFO  monitor: box web \\(${id}\\) restarted \\(count: 3\\)$`))
      expect(restarted.json).toEqual({
        time: expect.stringMatching(RFC3339),
        level: "info",
        msg: `monitor: box web (${id}) restarted (count: 3)`,
        box: "web",
        box_id: id,
        event: "restarted",
        restart_count: 3
      })

      const backingOff = formatted(h, `monitor: box web (${id}) backing off`)
      expect(backingOff.text).toMatch(new RegExp(`^\\S+ INFO  monitor: box web \\(${id}\\) backing off \\(1s remaining\\)$`))
      expect(backingOff.json).toEqual({
        time: expect.stringMatching(RFC3339),
        level: "info",
        msg: `monitor: box web (${id}) backing off (1s remaining)`,
        box: "web",
        box_id: id,
        event: "backing_off",
        backoff_remaining_secs: 1
      })
      for (const line of [restarting, restarted, backingOff]) {
        expect(occurrences(line.text, "web")).toBe(1)
        expect(occurrences(line.text, id)).toBe(1)
      }
    }))

  it.scoped("failed to restart, with the next retry", () =>
    Effect.gen(function*() {
      const h = yield* start([makeBox({ name: "nope", status: "dead" })])
      yield* h.runtime.failNextBoots(1, "no such file")
      yield* advanceUntil(Effect.map(bootsOf(h, "nope"), (n) => n >= 1), { step: "1 second" })
      const id = (yield* h.box("nope")).short_id
      const failed = formatted(h, "monitor: failed to restart box nope")
      expect(failed.text).toMatch(new RegExp(`^\\S+ ERROR monitor: failed to restart box nope \\(${id}\\): no such file \\(next retry in 1s\\)$`))
      expect(failed.json).toEqual({
        time: expect.stringMatching(RFC3339),
        level: "error",
        msg: `monitor: failed to restart box nope (${id}): no such file (next retry in 1s)`,
        box: "nope",
        box_id: id,
        event: "restart_failed",
        error: "no such file",
        next_retry_secs: 1
      })
    }))

  it.scoped("unhealthy, restarting", () =>
    Effect.gen(function*() {
      const hc = healthCheck({ interval_secs: 2, retries: 1, timeout_secs: 1 })
      const h = yield* start([makeBox({ name: "sick", status: "dead", health_check: hc })])
      yield* h.runtime.setProbe("sick", Unhealthy("exit 1"))
      yield* settle
      yield* TestClock.adjust(Duration.seconds(2))
      const id = (yield* h.box("sick")).short_id
      const both = formatted(h, `monitor: box sick (${id}, policy: always) is unhealthy`)
      expect(both.text).toMatch(new RegExp(`^\\S+ WARN  monitor: box sick \\(${id}, policy: always\\) is unhealthy, restarting\\.\\.\\.$`))
      expect(both.json).toEqual({
        time: expect.stringMatching(RFC3339),
        level: "warn",
        msg: `monitor: box sick (${id}, policy: always) is unhealthy, restarting...`,
        box: "sick",
        box_id: id,
        event: "unhealthy",
        policy: "always"
      })
    }))

  it("the start line", () => {
    const entry: MonitorLogger.Entry = {
      date: new Date("2026-01-01T10:00:00.000Z"),
      logLevel: { label: "INFO" },
      message: Monitor.startedMessage({ interval: Duration.seconds(5) }),
      annotations: HashMap.make(["event", "started"], ["interval_secs", 5]),
      cause: Cause.empty
    }
    expect(MonitorLogger.formatText(entry)).toBe("2026-01-01T10:00:00.000Z INFO  a3s-box monitor started (poll interval: 5s)")
    expect(JSON.parse(MonitorLogger.formatJson(entry))).toEqual({
      time: "2026-01-01T10:00:00.000Z",
      level: "info",
      msg: "a3s-box monitor started (poll interval: 5s)",
      event: "started",
      interval_secs: 5
    })
  })
})
