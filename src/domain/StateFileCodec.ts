/**
 * The state file's codec (SPEC §2, §12): `boxes.json` is a JSON array of records. Parsing keeps
 * every record's unknown keys and every invalid element in place; rendering writes them back
 * as they were. Text that is not UTF-8, not JSON or not an array is a `StateFileProblem`.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { BoxRecord } from "./BoxRecord.js"
import { HealthCheck } from "./HealthCheck.js"

// Decoding with `onExcessProperty: "preserve"` is slow: a real record carries some 60 keys
// this schema does not know, and preserving them through Schema costs ~0.5-1 ms per record
// (a 1,000-box file took ~0.9 s). So the file is decoded with the same fields but excess
// keys ignored (fast), and the unknown keys are carried over from the raw object afterwards:
// a decoded record is `{...raw, ...knownFields}` (and its health check likewise), which is
// what the preserving decode gives, in the raw object's key order. Encoding, the same way:
// the known fields are encoded and laid over the record's own keys.
const HealthCheckKnown = HealthCheck.annotations({ parseOptions: { onExcessProperty: "ignore" } })
const BoxRecordKnown = Schema.Struct({
  ...BoxRecord.fields,
  health_check: Schema.optionalWith(Schema.NullOr(HealthCheckKnown), { default: () => null })
}).annotations({ identifier: "BoxRecord", parseOptions: { onExcessProperty: "ignore" } })

const decodeKnown = Schema.decodeUnknownEither(BoxRecordKnown, { errors: "first" })
const encodeKnown = Schema.encodeSync(BoxRecordKnown)

// Even so, decoding costs tens of microseconds per record, and the state file changes a few
// records at a time. So:
// - decoded records are cached by the JSON text of their raw object: re-reading a file in
//   which few records changed decodes only those (decoded records are frozen, as they are shared);
// - each decoded record remembers the raw object it came from: a record written back
//   unchanged (the same object) is written exactly as it was read, without encoding.
// Both are invisible to callers: the round trip gives the same JSON either way.
// The cache holds what the latest parse held: every restart makes a new version of its record
// (pid, start time, count), and a cache that only dropped its oldest entry at DECODE_CACHE_MAX
// kept every version until then (~4.6 KB each with its key and raw object: a monitor of 100
// boxes grew by ~0.46 MB of heap per restart storm, up to ~75 MB). So once it holds more than
// twice what the latest file had, it is cut down to that file's entries. (A process parsing
// several different files, which a monitor does not, then decodes more again; no result changes.)
const DECODE_CACHE_MAX = 16_384
let decodeCache = new Map<string, BoxRecord>()

/** How many decoded records the cache holds (for the tests of its bound). */
export const decodeCacheSize = (): number => decodeCache.size
const sourceOf = new WeakMap<BoxRecord, Readonly<Record<string, unknown>>>()

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `target[key] = value` as an own property, even for `__proto__` (which assignment would treat as the prototype). */
const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** Freezes the record and the known structures inside it (unknown values are shared with the raw object). */
const freezeRecord = (record: BoxRecord): BoxRecord => {
  Object.freeze(record.cmd)
  Object.freeze(record.env)
  if (record.base_env !== null) Object.freeze(record.base_env)
  if (record.health_check !== null) {
    Object.freeze(record.health_check.cmd)
    Object.freeze(record.health_check)
  }
  return Object.freeze(record)
}

/**
 * `{...raw, ...known}`, built key by key. Not with spread: V8 gives a spread copy of a
 * JSON.parse'd object that object's hidden class, and once frozen such copies end up with
 * classes of their own, so every loop over the records (the monitor's cycle, each /metrics
 * scrape) ran in V8's slow generic paths: ~30x slower at 1,000 records.
 */
const overlay = (raw: Readonly<Record<string, unknown>>, known: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(raw)) setOwn(out, key, raw[key])
  for (const key of Object.keys(known)) setOwn(out, key, known[key])
  return out
}

/** A record with its known fields decoded and its unknown keys carried over from `item`. */
const decodeItem = (item: Record<string, unknown>): BoxRecord | undefined => {
  const decoded = decodeKnown(item)
  if (Either.isLeft(decoded)) return undefined
  const known = decoded.right
  const rawCheck = item["health_check"]
  const health_check = known.health_check !== null && isPlainObject(rawCheck)
    ? overlay(rawCheck, known.health_check)
    : known.health_check
  // Schema builds records (env) by assignment, which drops an own `__proto__` key (JSON.parse makes one): keep it.
  const rawEnv = item["env"]
  const env = isPlainObject(rawEnv) && Object.hasOwn(rawEnv, "__proto__") ? overlay(rawEnv, known.env) : known.env
  return freezeRecord(overlay(item, { ...known, health_check, env }) as BoxRecord)
}

const cachedDecode = (item: unknown, seen: Map<string, BoxRecord>): BoxRecord | undefined => {
  if (!isPlainObject(item)) return undefined
  const key = JSON.stringify(item)
  let record = seen.get(key) ?? decodeCache.get(key)
  if (record === undefined) {
    record = decodeItem(item)
    if (record === undefined) return undefined
    if (decodeCache.size >= DECODE_CACHE_MAX) {
      const oldest = decodeCache.keys().next()
      if (oldest.done !== true) decodeCache.delete(oldest.value)
    }
    decodeCache.set(key, record)
  }
  seen.set(key, record)
  sourceOf.set(record, item)
  return record
}

/**
 * An element of the file's array that is not a box record (SPEC §12: one bad record is one bad
 * record). It is kept as it was read and written back in its place; it is not supervised.
 */
export interface InvalidRecord {
  /** Its position in the file's array. */
  readonly index: number
  /** Names it for a person: `id "…"` or `name "…"` when it has one, else `at index N`. */
  readonly label: string
  /** The field at fault (`box_dir`, `health_check.cmd[0]`), or "" when the element is not an object. */
  readonly field: string
  /** What is wrong, one short line (`is missing`, `expected string, actual 12`). */
  readonly reason: string
  /** The element as parsed: what is written back. */
  readonly raw: unknown
  /** How many valid records come before it in the file: where it goes when the file is rewritten. */
  readonly validBefore: number
}

/** One line about an invalid record: `record at index 2 (id "x"): box_dir is missing`. */
export const invalidRecordProblem = (invalid: Pick<InvalidRecord, "index" | "label" | "field" | "reason">): string =>
  `record ${invalid.label.startsWith("at index") ? invalid.label : `${invalid.label} (index ${invalid.index})`}: ${
    invalid.field === "" ? "" : `${invalid.field} `
  }${invalid.reason}`

/**
 * What makes two reports of an invalid record the same problem: its name, field and reason
 * (its index too when it has no name, as it has nothing else to be known by).
 */
export const invalidRecordKey = (invalid: Pick<InvalidRecord, "index" | "label" | "field" | "reason">): string =>
  [invalid.label.startsWith("at index") ? `#${invalid.index}` : invalid.label, invalid.field, invalid.reason].join("\u0000")

/**
 * The file as read: the decoded records plus the raw objects, so absent keys stay absent on
 * write, and the elements that are not records, which are written back as they were.
 */
export interface ParsedState {
  readonly records: ReadonlyArray<BoxRecord>
  readonly raw: ReadonlyMap<string, Readonly<Record<string, unknown>>>
  readonly invalid: ReadonlyArray<InvalidRecord>
}

export const emptyState: ParsedState = { records: Object.freeze([]), raw: new Map(), invalid: Object.freeze([]) }

/** Why a state file's text is not a valid list of records. */
export type StateFileProblem = { readonly _tag: "InvalidJson"; readonly detail: string } | {
  readonly _tag: "InvalidRecords"
  readonly detail: string
}

/** A problem's detail goes into an error message: at most this many characters of it. */
const MAX_DETAIL = 500

const clip = (text: string): string =>
  text.length <= MAX_DETAIL ? text : `${text.slice(0, MAX_DETAIL)}... (${text.length - MAX_DETAIL} more characters)`

const describeJson = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`

/**
 * Where a number too large for JSON's doubles (`1e400` reads as Infinity, which JSON.stringify
 * would write back as null) sits in `json`, or undefined. Only called when the text has a
 * literal that could be one; iterative, as the value may be nested deeper than the stack.
 */
const nonFiniteAt = (json: unknown): string | undefined => {
  const stack: Array<readonly [unknown, string]> = [[json, "$"]]
  while (stack.length > 0) {
    const [value, at] = stack.pop()!
    if (typeof value === "number" && !Number.isFinite(value)) return at
    if (Array.isArray(value)) value.forEach((v, i) => stack.push([v, `${at}[${i}]`]))
    else if (isPlainObject(value)) for (const key of Object.keys(value)) stack.push([value[key], `${at}.${key}`])
  }
  return undefined
}

/**
 * A number literal with a 3-digit exponent, the usual way to write one beyond a double's range
 * (a literal of 309+ digits would be one too; not looked for: it costs a slow scan of every file).
 */
const MAYBE_OUT_OF_RANGE = /[0-9][eE][+]?0*[1-9][0-9]{2}/

/**
 * Parses the state file's text: the records, or a typed problem whose detail is short enough
 * for an error message. Never throws on any input.
 * - Empty text (zero bytes, or only whitespace) is a problem, not an empty list: no writer of
 *   the state file writes it (an empty list is `[]`), and it is what a non-atomic writer that
 *   crashed or ran out of disk leaves behind. A missing file is the empty list.
 * - JSON numbers beyond a double's range are refused: they cannot be written back as they were.
 * - JSON nested deeper than the stack allows is refused.
 */
export const parseStateFile = (text: string): Either.Either<ParsedState, StateFileProblem> => {
  if (text.trim() === "") {
    return Either.left({
      _tag: "InvalidJson",
      detail: `the file is empty (${text.length === 0 ? "0 bytes" : "whitespace only"}), where a list of boxes (at least []) was expected`
    })
  }
  try {
    return parseNonEmpty(text)
  } catch (error) {
    // JSON.parse is iterative, but decoding and hashing a record recurse into its values.
    if (error instanceof RangeError) {
      return Either.left({ _tag: "InvalidRecords", detail: `a record is nested too deeply to be processed (${error.message})` })
    }
    throw error
  }
}

const parseNonEmpty = (text: string): Either.Either<ParsedState, StateFileProblem> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left({ _tag: "InvalidJson", detail: clip((error as Error).message) })
  }
  if (MAYBE_OUT_OF_RANGE.test(text)) {
    const at = nonFiniteAt(json)
    if (at !== undefined) {
      return Either.left({
        _tag: "InvalidRecords",
        detail: clip(`the number at ${at} is out of range (beyond ±1.8e308, it cannot be stored as it was written)`)
      })
    }
  }
  if (!Array.isArray(json)) {
    return Either.left({ _tag: "InvalidRecords", detail: `expected a JSON array of box records, found ${describeJson(json)}` })
  }
  const records: Array<BoxRecord> = []
  const raw = new Map<string, Record<string, unknown>>()
  const invalid: Array<InvalidRecord> = []
  const seen = new Map<string, BoxRecord>()
  for (const [index, item] of json.entries()) {
    const record = cachedDecode(item, seen)
    if (record === undefined) {
      invalid.push(Object.freeze({ ...recordProblem(item, index), raw: item, validBefore: records.length }))
      continue
    }
    records.push(record)
    raw.set(record.id, item as Record<string, unknown>)
  }
  // Versions no file holds any more: dropped (this file's entries stay).
  if (decodeCache.size > 2 * seen.size + 64) decodeCache = seen
  // Frozen: a parse may be shared by several reads of an unchanged file.
  return Either.right({ records: Object.freeze(records), raw, invalid: Object.freeze(invalid) })
}

/** At most this many characters of a name or a reason in a problem's one line. */
const MAX_PART = 120

const clipPart = (text: string): string => (text.length <= MAX_PART ? text : `${text.slice(0, MAX_PART)}...`)

/** `health_check.cmd[0]` from Schema's path `["health_check", "cmd", 0]`. */
const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`, "")

/** Why one item of the array is not a record: its name, the first field at fault and why (only this item is decoded again). */
const recordProblem = (item: unknown, index: number): Pick<InvalidRecord, "index" | "label" | "field" | "reason"> => {
  const named = (key: string) =>
    isPlainObject(item) && typeof item[key] === "string" && item[key] !== "" ? `${key} ${clipPart(JSON.stringify(item[key]))}` : undefined
  const label = named("id") ?? named("name") ?? `at index ${index}`
  if (!isPlainObject(item)) return { index, label, field: "", reason: `is ${describeJson(item)}, not an object` }
  const first = Either.match(decodeKnown(item), {
    onLeft: (error) => ParseResult.ArrayFormatter.formatErrorSync(error)[0],
    onRight: () => undefined
  })
  if (first === undefined) return { index, label, field: "", reason: "is not a valid box record" }
  const reason = first.message.replace(/[\r\n]+/g, " ")
  return { index, label, field: fieldPath(first.path), reason: clipPart(reason.charAt(0).toLowerCase() + reason.slice(1)) }
}

const defaultsOf = (schema: Schema.Schema.AnyNoContext, minimal: unknown): Record<string, unknown> =>
  Schema.encodeSync(schema)(Schema.decodeUnknownSync(schema)(minimal)) as Record<string, unknown>

/** The schema defaults of the record and of its health check, computed on first use (not at start-up). */
let defaults: { readonly record: Record<string, unknown>; readonly healthCheck: Record<string, unknown> } | undefined
const getDefaults = () =>
  defaults ??= {
    record: defaultsOf(BoxRecordKnown, {
      id: "",
      short_id: "",
      name: "",
      status: "",
      cmd: [],
      box_dir: "",
      console_log: "",
      created_at: ""
    }),
    healthCheck: defaultsOf(HealthCheckKnown, { cmd: [] })
  }

/** Drops keys the original object did not have and whose value is still the schema's default. */
const keepAbsence = (
  encoded: Record<string, unknown>,
  original: Readonly<Record<string, unknown>>,
  defaults: Record<string, unknown>
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(encoded)) {
    if (!Object.hasOwn(original, key) && Object.hasOwn(defaults, key) && JSON.stringify(defaults[key]) === JSON.stringify(value)) continue
    setOwn(out, key, value)
  }
  return out
}

/** The record as JSON: its own keys (unknown ones included) with the known fields encoded over them. */
const encodeItem = (record: BoxRecord): Record<string, unknown> => {
  const encoded = encodeKnown(record) as Record<string, unknown>
  const item: Record<string, unknown> = { ...record, ...encoded }
  const check = encoded["health_check"]
  if (isPlainObject(check) && isPlainObject(record.health_check)) item["health_check"] = { ...record.health_check, ...check }
  // Schema builds records (env) by assignment, which drops an own `__proto__` key: keep the record's own.
  if (isPlainObject(encoded["env"]) && Object.hasOwn(record.env, "__proto__")) item["env"] = { ...record.env, ...encoded["env"] }
  return item
}

/**
 * Renders records as the state file's text (pretty-printed). A record that was read from
 * the file keeps the keys it had: defaults our schema filled in are not written back
 * unless their value changed. New records are written in full.
 */
export const renderStateFile = (
  records: ReadonlyArray<BoxRecord>,
  raw: ParsedState["raw"] = emptyState.raw
): string => JSON.stringify(records.map(recordItem(raw)), null, 2) + "\n"

/**
 * Renders `records`, an update of the state `from` (as parsed): like `renderStateFile`, and the
 * invalid elements of `from` are written back as they were, each after the nearest record that
 * preceded it in the file and is still there (at the start if none is), in their order.
 */
export const renderState = (records: ReadonlyArray<BoxRecord>, from: ParsedState): string => {
  if (from.invalid.length === 0) return renderStateFile(records, from.raw)
  const kept = new Set(records.map((record) => record.id))
  const after = new Map<string | undefined, Array<unknown>>()
  for (const invalid of from.invalid) {
    let anchor: string | undefined
    for (let i = invalid.validBefore - 1; i >= 0; i--) {
      const id = from.records[i]!.id
      if (kept.has(id)) {
        anchor = id
        break
      }
    }
    after.set(anchor, [...(after.get(anchor) ?? []), invalid.raw])
  }
  const toItem = recordItem(from.raw)
  const out: Array<unknown> = [...(after.get(undefined) ?? [])]
  for (const record of records) {
    out.push(toItem(record))
    const group = after.get(record.id)
    if (group !== undefined) {
      out.push(...group)
      after.delete(record.id)
    }
  }
  return JSON.stringify(out, null, 2) + "\n"
}

/** One record as the object written to the file. */
const recordItem = (raw: ParsedState["raw"]) => (record: BoxRecord): unknown => {
  const source = sourceOf.get(record)
  if (source !== undefined) return source
  const item = encodeItem(record)
  const original = raw.get(record.id)
  if (original === undefined) return item
  const { record: recordDefaults, healthCheck: healthCheckDefaults } = getDefaults()
  const top = keepAbsence(item, original, recordDefaults)
  const check = top["health_check"]
  const originalCheck = original["health_check"]
  if (isPlainObject(check) && isPlainObject(originalCheck)) {
    top["health_check"] = keepAbsence(check, originalCheck, healthCheckDefaults)
  }
  return top
}
