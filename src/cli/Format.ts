import { type BoxRecord, hasHealthCheck, lastExitOf, nextRestartOf, restartsByReasonOf, shortIdOf } from "../domain/BoxRecord.js"
import * as LogLimits from "../domain/LogLimits.js"
import { signalOfExitCode } from "../domain/ExitSignal.js"
import { type InvalidRecord, invalidRecordProblem } from "../domain/StateFileCodec.js"
import * as BoxStatus from "../domain/BoxStatus.js"

/** Pure text rendering for `ps`: status annotations, human durations, the table. */

/** Boxes `ps` lists without `-a`: the ones with a live process. */
export const isListedByDefault = (box: Pick<BoxRecord, "status">): boolean =>
  BoxStatus.isActive(box) || BoxStatus.isStopping(box)

/**
 * The STATUS column: the status, then what an operator wants to know about it in parentheses:
 * `running (healthy, Restarts: 2)`, `running (health: starting)`, `dead (Exit 3)`, `stopped (Exit 143)`,
 * `dead (Killed: SIGKILL, Restarts: 3 (2 crash, 1 unhealthy))`. A dead box whose code says a
 * signal killed it (`ExitSignal.signalOfExitCode`: 128 + N) shows the signal; a box the user
 * stopped shows its code (the stop's own signal is no news). A dead box the monitor is backing
 * off (`next_restart_at` after `nowMillis`) ends with `, restarting in 8s`.
 */
export const statusText = (box: BoxRecord, nowMillis: number): string => {
  const notes: Array<string> = []
  if (BoxStatus.isActive(box)) {
    if (hasHealthCheck(box)) {
      if (BoxStatus.isHealthy(box) || BoxStatus.isUnhealthy(box)) notes.push(box.health_status)
      else if (BoxStatus.isStarting(box)) notes.push("health: starting")
    }
  } else if (!BoxStatus.isCreated(box) && box.exit_code !== null) {
    const signal = BoxStatus.isDead(box) ? signalOfExitCode(box.exit_code) : null
    notes.push(signal === null ? `Exit ${box.exit_code}` : `Killed: ${signal}`)
  }
  const restarts = restartsText(box)
  if (restarts !== null) notes.push(`Restarts: ${restarts}`)
  const status = notes.length === 0 ? box.status : `${box.status} (${notes.join(", ")})`
  const next = nextRestartOf(box, nowMillis)
  return next === null ? status : `${status}, restarting in ${Math.ceil((next - nowMillis) / 1000)}s`
}

/**
 * The restarts of a box: the monitor's count (`restart_count`), then by reason when the record
 * has them (`3 (2 crash, 1 unhealthy)`), manual ones after a `;` (they are not in the count).
 * Null when there were none.
 */
export const restartsText = (box: BoxRecord): string | null => {
  const byReason = restartsByReasonOf(box)
  if (box.restart_count <= 0 && byReason.manual <= 0) return null
  const automatic = [
    ...(byReason.crash > 0 ? [`${byReason.crash} crash`] : []),
    ...(byReason.unhealthy > 0 ? [`${byReason.unhealthy} unhealthy`] : [])
  ].join(", ")
  const manual = byReason.manual > 0 ? `${byReason.manual} manual` : ""
  const detail = [automatic, manual].filter((part) => part !== "").join("; ")
  return detail === "" ? String(box.restart_count) : `${box.restart_count} (${detail})`
}

/** A record as `inspect` shows it (`inspectJson`). */
export type InspectView =
  & Omit<
    BoxRecord,
    "next_restart_at" | "backoff_failures" | "restart_delay_secs" | "restart_max_delay_secs" | "log_max_size" | "log_max_files"
  >
  & {
    readonly log_max_size: number
    readonly log_max_files: number
    readonly next_restart_at: string | null
    readonly backoff_failures: number
    readonly restart_delay_secs: number
    readonly restart_max_delay_secs: number
  }

/**
 * A record as `inspect` shows it: issue 14's fields always there (null, zeros) even on records
 * older than them; `next_restart_at` only while the box is backing off (after `nowMillis`), else null;
 * issue 15's backoff position and bounds as they apply (the SPEC §5 defaults where the record has none).
 */
export const inspectJson = (box: BoxRecord, nowMillis: number): InspectView => ({
  ...box,
  last_exit: lastExitOf(box),
  restarts_by_reason: restartsByReasonOf(box),
  next_restart_at: nextRestartOf(box, nowMillis) === null ? null : box.next_restart_at ?? null,
  backoff_failures: box.backoff_failures ?? 0,
  restart_delay_secs: box.restart_delay_secs ?? 1,
  restart_max_delay_secs: box.restart_max_delay_secs ?? 60,
  log_max_size: LogLimits.limitsOf(box).maxSize,
  log_max_files: LogLimits.limitsOf(box).maxFiles
})

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`

/** Docker's `HumanDuration`: "Less than a second", "5 seconds", "About a minute", "3 hours", "2 weeks", ... */
export const humanDuration = (millis: number): string => {
  const seconds = Math.floor(Math.max(0, millis) / 1000)
  if (seconds < 1) return "Less than a second"
  if (seconds < 60) return plural(seconds, "second")
  const minutes = Math.floor(seconds / 60)
  if (minutes === 1) return "About a minute"
  if (minutes < 60) return plural(minutes, "minute")
  const hours = Math.floor(seconds / 3600 + 0.5)
  if (hours === 1) return "About an hour"
  if (hours < 48) return plural(hours, "hour")
  if (hours < 24 * 7 * 2) return plural(Math.floor(hours / 24), "day")
  if (hours < 24 * 30 * 2) return plural(Math.floor(hours / 24 / 7), "week")
  if (hours < 24 * 365 * 2) return plural(Math.floor(hours / 24 / 30), "month")
  return plural(Math.floor(seconds / 3600 / 24 / 365), "year")
}

/** The CREATED column: "5 minutes ago"; the raw value when it is not a timestamp. */
export const createdText = (createdAt: string, nowMillis: number): string => {
  const at = Date.parse(createdAt)
  if (Number.isNaN(at)) return createdAt === "" ? "unknown" : createdAt
  return `${humanDuration(nowMillis - at)} ago`
}

const quoteArg = (arg: string): string => (arg === "" || /[\s"'\\$`]/.test(arg) ? JSON.stringify(arg) : arg)

/** The COMMAND column: the argv, shell-like quoted, cut to `width` characters. */
export const commandText = (cmd: ReadonlyArray<string>, width = 40): string => {
  const text = cmd.map(quoteArg).join(" ")
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`
}

/** Renders rows as left-aligned columns separated by three spaces (like `docker ps`). */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("   ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

export const PS_HEADER = ["NAME", "ID", "STATUS", "CREATED", "COMMAND"] as const

/** The `ps` table for these boxes (already filtered), newest first, then the file's invalid records (status `invalid`, with the reason). */
export const psTable = (
  boxes: ReadonlyArray<BoxRecord>,
  nowMillis: number,
  invalid: ReadonlyArray<InvalidRecord> = []
): string => {
  const sorted = [...boxes].sort((a, b) => (Date.parse(b.created_at) || 0) - (Date.parse(a.created_at) || 0))
  return table(
    PS_HEADER,
    [
      ...sorted.map((box) => [box.name, box.short_id, statusText(box, nowMillis), createdText(box.created_at, nowMillis), commandText(box.cmd)]),
      ...invalid.map(invalidRow)
    ]
  )
}

const stringField = (raw: unknown, key: string): string | undefined => {
  const value = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)[key] : undefined
  return typeof value === "string" && value !== "" ? value : undefined
}

/** A `ps` row for an element of the file that is not a box record. */
const invalidRow = (invalid: InvalidRecord): ReadonlyArray<string> => {
  const id = stringField(invalid.raw, "id")
  return [
    commandText([stringField(invalid.raw, "name") ?? "-"], 30),
    stringField(invalid.raw, "short_id")?.slice(0, 12) ?? (id === undefined ? "-" : shortIdOf(id)),
    "invalid",
    "",
    `index ${invalid.index}: ${invalid.field === "" ? "" : `${invalid.field} `}${invalid.reason}`
  ]
}

/** `ps -a --format json`: an invalid record, with why it is one, as it is in the file. */
export const invalidJson = (invalid: InvalidRecord) => ({
  status: "invalid",
  index: invalid.index,
  problem: invalidRecordProblem(invalid),
  record: invalid.raw
})
