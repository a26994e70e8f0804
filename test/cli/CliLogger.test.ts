import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as CliLogger from "../../src/cli/CliLogger.js"
import * as MonitorLogger from "../../src/monitor/MonitorLogger.js"
import { capturedConsole } from "../service/CapturedConsole.js"

describe("CliLogger: what a box command logs", () => {
  it("reads like the CLI's other messages", () => {
    expect(CliLogger.format(LogLevel.Warning, "box web: unknown stop_signal")).toBe("Warning: box web: unknown stop_signal")
    expect(CliLogger.format(LogLevel.Error, "boom")).toBe("Error: boom")
    expect(CliLogger.format(LogLevel.Info, "box web: killed 1 process")).toBe("box web: killed 1 process")
  })

  it.effect("goes to stderr, never into the command's output on stdout, once", () =>
    Effect.gen(function*() {
      const { out, err, console } = capturedConsole()
      yield* Effect.logWarning("box web: not killing what is left of its process group").pipe(
        Effect.provide(CliLogger.layer),
        Effect.withConsole(console)
      )
      expect(out).toEqual([])
      expect(err).toEqual(["Warning: box web: not killing what is left of its process group"])
    }))

  it.effect("is replaced, not joined, by the monitor's logger", () =>
    Effect.gen(function*() {
      const { out, err, console } = capturedConsole()
      yield* Effect.logInfo("a3s-box monitor started (poll interval: 5s)").pipe(
        Effect.provide(MonitorLogger.layer("json")),
        Effect.provide(CliLogger.layer),
        Effect.withConsole(console)
      )
      expect(err).toEqual([])
      expect(out).toHaveLength(1)
      expect(JSON.parse(out[0]!)).toMatchObject({ level: "info", msg: "a3s-box monitor started (poll interval: 5s)" })
    }))
})
