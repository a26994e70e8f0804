import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as MonitorLogger from "../../src/monitor/MonitorLogger.js"

describe("MonitorLogger", () => {
  const date = new Date("2026-01-01T10:00:00.000Z")

  it("text: timestamp, level, message; the box's annotations are not repeated (the message names it)", () => {
    const line = MonitorLogger.formatText({
      date,
      logLevel: LogLevel.Info,
      message: "monitor: box web (3f2b8c1e7a4d) restarted (count: 1)",
      annotations: HashMap.make(["box_id", "3f2b8c1e7a4d"], ["box", "web"]),
      cause: Cause.empty
    })
    expect(line).toBe("2026-01-01T10:00:00.000Z INFO  monitor: box web (3f2b8c1e7a4d) restarted (count: 1)")
  })

  it("text: quotes values with spaces, joins several message parts, appends the cause", () => {
    const line = MonitorLogger.formatText({
      date,
      logLevel: LogLevel.Error,
      message: ["monitor: poll cycle failed", { n: 1 }],
      annotations: HashMap.make(["path", "my file"], ["box", "b"]),
      cause: Cause.die(new Error("boom"))
    })
    expect(line.split("\n")[0]).toBe('2026-01-01T10:00:00.000Z ERROR monitor: poll cycle failed {"n":1} path="my file"')
    expect(line).toContain("boom")
  })

  it("json: one line, typed fields, the cause as text; the line's own keys are never overwritten", () => {
    const line = MonitorLogger.formatJson({
      date,
      logLevel: LogLevel.Warning,
      message: ["two", "parts"],
      annotations: HashMap.make(["restart_count", 2], ["msg", "not this"], ["ok", true]),
      cause: Cause.die(new Error("boom"))
    })
    expect(line).not.toContain("\n")
    const entry = JSON.parse(line) as Record<string, unknown>
    expect(entry).toMatchObject({ time: "2026-01-01T10:00:00.000Z", level: "warn", msg: "two parts", restart_count: 2, ok: true })
    expect(entry["cause"]).toContain("boom")
  })

  it.effect("the layer makes the chosen format the only logger (replacing runMain's pretty logger)", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const original = console.log
      console.log = (line: string) => lines.push(line)
      try {
        yield* Effect.logInfo("hello").pipe(
          Effect.annotateLogs({ box: "b" }),
          Effect.provide(MonitorLogger.layer("json")),
          // What NodeRuntime.runMain installs.
          Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLoggerDefault))
        )
      } finally {
        console.log = original
      }
      expect(lines.length).toBe(1)
      expect(JSON.parse(lines[0]!)).toEqual({ time: expect.any(String), level: "info", msg: "hello", box: "b" })
    }))
})
