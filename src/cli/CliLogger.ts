import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"

/**
 * What a box command (`ps`, `stop`, `rm`, …) logs goes to stderr as a plain line, never to
 * stdout: stdout is the command's output (`ps --format json` is parsed by scripts), and a log
 * line there (a reconcile killing what a dead box's group left, an unknown stop signal) would
 * corrupt it. `Warning: …` / `Error: …` like the CLI's other messages; info lines as they are.
 * The monitor replaces this with its own format (MonitorLogger.ts).
 */
export const format = (level: LogLevel.LogLevel, message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  const text = parts.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ")
  if (LogLevel.greaterThanEqual(level, LogLevel.Error)) return `Error: ${text}`
  if (LogLevel.greaterThanEqual(level, LogLevel.Warning)) return `Warning: ${text}`
  return text
}

export const logger: Logger.Logger<unknown, void> = Logger.withConsoleError(
  Logger.make(({ logLevel, message }) => format(logLevel, message))
)

/** Makes `logger` the only logger (Effect's default one writes to stdout). */
export const layer: Layer.Layer<never> = Layer.scopedDiscard(
  Effect.locallyScopedWith(FiberRef.currentLoggers, () => HashSet.make(logger))
)
