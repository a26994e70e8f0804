import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"

const config = MonitorConfig.defaults("/test-home")

const capturing = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("Monitor.run", () => {
  it.effect("logs that the monitor stopped once it has shut down, after its services' finalizers", () => {
    const { layer, lines } = capturing()
    const services = Layer.scopedDiscard(Effect.addFinalizer(() => Effect.logInfo("services closed")))
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Monitor.run(config, services))
      yield* Effect.yieldNow()
      expect(lines).toEqual([Monitor.startedMessage(config)])
      yield* Fiber.interrupt(fiber)
      expect(lines).toEqual([Monitor.startedMessage(config), "services closed", "a3s-box monitor stopped"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a monitor that never started (its services failed) does not log that it stopped", () => {
    const { layer, lines } = capturing()
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(Monitor.run(config, Layer.fail("no lease")))
      expect(exit._tag).toBe("Failure")
      expect(lines).toEqual([])
    }).pipe(Effect.provide(layer))
  })
})
