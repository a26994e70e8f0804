import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

/** `--log-format`: `text` for people, `json` (one object per line, Effect's `Logger.json`) for log shippers. */
export const LOG_FORMATS = ["text", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ")
}

const quote = (value: string): string => (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value))

/**
 * One concise line per entry: `TIMESTAMP LEVEL MESSAGE key=value ...`, then the cause, if
 * any, on the following lines. E.g.
 * `2026-01-01T10:00:00.000Z INFO  monitor: box web (3f2b8c1e7a4d) restarted (count: 1) box=web box_id=3f2b8c1e7a4d`
 */
export const formatText = (entry: {
  readonly date: Date
  readonly logLevel: { readonly label: string }
  readonly message: unknown
  readonly annotations: HashMap.HashMap<string, unknown>
  readonly cause: Cause.Cause<unknown>
}): string => {
  let line = `${entry.date.toISOString()} ${entry.logLevel.label.padEnd(5)} ${messageText(entry.message)}`
  for (const [key, value] of HashMap.toEntries(entry.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    line += ` ${key}=${quote(typeof value === "string" ? value : JSON.stringify(value))}`
  }
  if (!Cause.isEmpty(entry.cause)) line += `\n${Cause.pretty(entry.cause, { renderErrorCause: true })}`
  return line
}

export const textLogger: Logger.Logger<unknown, string> = Logger.make(formatText)

/**
 * Makes the chosen format the only logger, written to stdout. It replaces Effect's default
 * logger and the pretty logger `NodeRuntime.runMain` installs, so each entry is printed once.
 */
export const layer = (format: LogFormat): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      loggers.pipe(
        HashSet.remove(Logger.defaultLogger),
        HashSet.remove(Logger.prettyLoggerDefault),
        HashSet.add(Logger.withConsoleLog(format === "json" ? Logger.jsonLogger : textLogger))
      ))
  )
