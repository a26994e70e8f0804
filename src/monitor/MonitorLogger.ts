import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

/**
 * `--log-format`: `text` for people, `json` for log shippers: one object per line,
 * `{"time":"2026-01-01T10:00:00.000Z","level":"info","msg":"monitor: box web (3f2b8c1e7a4d) restarted (count: 1)","box":"web","box_id":"3f2b8c1e7a4d","event":"restarted","restart_count":1}`:
 * `time` (RFC 3339, UTC), `level` (`trace`, `debug`, `info`, `warn`, `error`, `fatal`), `msg`,
 * then the line's annotations as typed values (`box`/`box_id` for a line about a box, and the
 * event's own fields: `exit_code`, `restart_count`, `next_retry_secs`, ...), and `cause` when
 * there is one.
 */
export const LOG_FORMATS = ["text", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface Entry {
  readonly date: Date
  readonly logLevel: { readonly label: string }
  readonly message: unknown
  readonly annotations: HashMap.HashMap<string, unknown>
  readonly cause: Cause.Cause<unknown>
}

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ")
}

const quote = (value: string): string => (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value))

/**
 * The fields that the text of a SPEC §10 line already says (`box web (3f2b8c1e7a4d) restarted
 * (count: 1)`): a text line does not repeat them as `key=value`; a JSON line carries them typed.
 */
export const IN_MESSAGE = new Set([
  "box",
  "box_id",
  "event",
  "policy",
  "exit_code",
  "restart_count",
  "error",
  "next_retry_secs",
  "backoff_remaining_secs",
  "interval_secs"
])

const sortedAnnotations = (entry: Entry) =>
  HashMap.toEntries(entry.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * One concise line per entry: `TIMESTAMP LEVEL MESSAGE key=value ...` (the annotations the
 * message does not already say), then the cause, if any, on the following lines. E.g.
 * `2026-01-01T10:00:00.000Z INFO  monitor: box web (3f2b8c1e7a4d) restarted (count: 1)`
 */
export const formatText = (entry: Entry): string => {
  let line = `${entry.date.toISOString()} ${entry.logLevel.label.padEnd(5)} ${messageText(entry.message)}`
  for (const [key, value] of sortedAnnotations(entry)) {
    if (IN_MESSAGE.has(key)) continue
    line += ` ${key}=${quote(typeof value === "string" ? value : JSON.stringify(value))}`
  }
  if (!Cause.isEmpty(entry.cause)) line += `\n${Cause.pretty(entry.cause, { renderErrorCause: true })}`
  return line
}

/** What a JSON line holds (see LOG_FORMATS): plain JSON values only. */
const jsonValue = (value: unknown): unknown => {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (value instanceof Date) return value.toISOString()
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch {
    return String(value)
  }
}

/** One JSON object, on one line (see LOG_FORMATS). */
export const formatJson = (entry: Entry): string => {
  const line: Record<string, unknown> = {
    time: entry.date.toISOString(),
    level: entry.logLevel.label.toLowerCase(),
    msg: messageText(entry.message)
  }
  // The box and the event first (what a reader scans for), then the event's fields.
  const annotations = sortedAnnotations(entry)
  for (const key of ["box", "box_id", "event"]) {
    const found = annotations.find(([k]) => k === key)
    if (found !== undefined) line[key] = jsonValue(found[1])
  }
  for (const [key, value] of annotations) {
    if (!(key in line)) line[key] = jsonValue(value)
  }
  if (!Cause.isEmpty(entry.cause)) line["cause"] = Cause.pretty(entry.cause, { renderErrorCause: true })
  return JSON.stringify(line)
}

export const jsonLogger: Logger.Logger<unknown, string> = Logger.make(formatJson)

export const textLogger: Logger.Logger<unknown, string> = Logger.make(formatText)

/**
 * Makes the chosen format the only logger, written to stdout. It replaces every logger in place
 * (Effect's default one, the pretty logger `NodeRuntime.runMain` installs, the CLI's stderr
 * logger), so each entry is printed once.
 */
export const layer = (format: LogFormat): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, () =>
      HashSet.make(Logger.withConsoleLog(format === "json" ? jsonLogger : textLogger)))
  )
