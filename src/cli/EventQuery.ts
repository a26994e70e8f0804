import * as Either from "effect/Either"
import { type BoxEvent, eventTypes, type EventType, isBoxEvent } from "../domain/BoxEvent.js"
import { InvalidFlag } from "./CliErrors.js"

/**
 * What `a3s-box events` was asked for, from its flags (pure): the time bounds (`--since`,
 * `--until`), the filters (`--filter box=...`, `--filter event=...`), and the text line of an event.
 */

const TIME_FORMS = "expected an RFC 3339 time (2026-12-03T17:00:00Z) or a duration ago (30s, 10m, 2h, 1d)"

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `value` of `flag` as epoch ms: an RFC 3339 time, or a duration before `now` (`10m`: ten minutes ago). */
export const parseTime = (flag: string, value: string, now: number): Either.Either<number, InvalidFlag> => {
  const duration = DURATION.exec(value)
  if (duration !== null) return Either.right(now - Number(duration[1]) * UNIT_MS[duration[2]!]!)
  const at = RFC3339.test(value) ? Date.parse(value.replace(" ", "T")) : Number.NaN
  return Number.isNaN(at) ? Either.left(new InvalidFlag({ flag, value, reason: TIME_FORMS })) : Either.right(at)
}

/** The `--filter`s: boxes (by name, id or id prefix; any of them) and event types (any of them); both when both are given. */
export interface EventFilter {
  readonly boxes: ReadonlyArray<string>
  readonly types: ReadonlyArray<EventType>
}

const FILTER_FORMS = "expected box=NAME|ID or event=TYPE[,TYPE...]"

/** The `--filter` values, each `box=REF` or `event=T1,T2`; repeated keys add up. */
export const parseFilters = (values: ReadonlyArray<string>): Either.Either<EventFilter, InvalidFlag> => {
  const boxes: Array<string> = []
  const types: Array<EventType> = []
  for (const value of values) {
    const equals = value.indexOf("=")
    const key = equals < 0 ? value : value.slice(0, equals)
    const operand = equals < 0 ? "" : value.slice(equals + 1)
    if (key === "box" && operand !== "") {
      boxes.push(operand)
    } else if (key === "event" && operand !== "") {
      for (const type of operand.split(",")) {
        if (!(eventTypes as ReadonlyArray<string>).includes(type)) {
          return Either.left(
            new InvalidFlag({
              flag: "--filter",
              value,
              reason: `unknown event type '${type}': expected one of ${eventTypes.join(", ")}`
            })
          )
        }
        types.push(type as EventType)
      }
    } else {
      return Either.left(new InvalidFlag({ flag: "--filter", value, reason: FILTER_FORMS }))
    }
  }
  return Either.right({ boxes, types })
}

const undashed = (id: string): string => id.replaceAll("-", "").toLowerCase()

/** Whether `ref` names the box of `event`: its name, its full id, or a prefix of its id (dashed or not). */
const namesBox = (ref: string, boxId: string, boxName: string): boolean => {
  if (ref === boxName || ref === boxId) return true
  const lowered = ref.toLowerCase()
  return boxId.toLowerCase().startsWith(lowered) || (undashed(ref) !== "" && undashed(boxId).startsWith(undashed(ref)))
}

/** Whether `event` passes `filter`; with box filters, only box events can. */
export const matches = (filter: EventFilter) => (event: BoxEvent): boolean => {
  if (filter.types.length > 0 && !filter.types.includes(event.type)) return false
  if (filter.boxes.length === 0) return true
  return isBoxEvent(event) && filter.boxes.some((ref) => namesBox(ref, event.box_id, event.box_name))
}

/** The short id of a box id (its first 12 hex digits), as `ps` shows it. */
export const shortId = (id: string): string => id.replaceAll("-", "").slice(0, 12)

const SHOWN_APART = new Set(["seq", "time", "type", "box_id", "box_name"])

const attributeValue = (value: unknown): string =>
  typeof value === "string"
    ? /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
    : JSON.stringify(value)

/** What an event is about, as the text line's second word: `box`, `monitor` (start, stop, takeover) or `state` (the state file). */
const scopeOf = (event: BoxEvent): string =>
  isBoxEvent(event) ? "box" : event.type.startsWith("state-") ? "state" : "monitor"

/**
 * The text line of an event (docs/behaviour.md): `TIME SCOPE TYPE [NAME (SHORT_ID)] [KEY=VALUE...]`,
 * e.g. `2026-12-03T17:01:02.123Z box die b1 (abc123def456) exit_code=137 signal=SIGKILL`. The
 * other fields follow in the order they are stored, unknown (null) ones left out; a value with
 * spaces, quotes or `=` is quoted as JSON.
 */
export const textLine = (event: BoxEvent): string => {
  const words = [event.time, scopeOf(event), event.type]
  if (isBoxEvent(event)) words.push(event.box_name, `(${shortId(event.box_id)})`)
  for (const [key, value] of Object.entries(event)) {
    if (SHOWN_APART.has(key) || value === null || value === undefined) continue
    words.push(`${key}=${attributeValue(value)}`)
  }
  return words.join(" ")
}
