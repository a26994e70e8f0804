import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { HealthCheck } from "./HealthCheck.js"

/**
 * One box as recorded in `boxes.json` (SPEC §2). Snake_case keys, as the original
 * a3s-box writes them. Every key this schema does not know is preserved on decode
 * and written back on encode.
 */
export const BoxRecord = Schema.Struct({
  id: Schema.String,
  short_id: Schema.String,
  name: Schema.String,
  /** `created`, `running`, `paused`, `stopped`, `dead`, or anything another tool wrote. */
  status: Schema.String,
  pid: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  pid_start_time: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  cmd: Schema.Array(Schema.String),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  box_dir: Schema.String,
  console_log: Schema.String,
  workdir: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  created_at: Schema.String,
  started_at: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  auto_remove: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  restart_policy: Schema.optionalWith(Schema.String, { default: () => "no" }),
  max_restart_count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  restart_count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  stopped_by_user: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  exit_code: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  health_check: Schema.optionalWith(Schema.NullOr(HealthCheck), { default: () => null }),
  healthcheck_disabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  health_status: Schema.optionalWith(Schema.String, { default: () => "none" }),
  health_retries: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  health_last_check: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  stop_signal: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  stop_timeout: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null })
}).annotations({ identifier: "BoxRecord", parseOptions: { onExcessProperty: "preserve" } })

export type BoxRecord = typeof BoxRecord.Type

export const DEFAULT_STOP_SIGNAL = "SIGTERM"
export const DEFAULT_STOP_TIMEOUT_SECS = 10

/** `running` and `paused` boxes are active: they should have a live process (SPEC §3). */
export const isActive = (box: Pick<BoxRecord, "status">): boolean =>
  box.status === "running" || box.status === "paused"

/** Whether the box's health check is in force. */
export const hasHealthCheck = (box: Pick<BoxRecord, "health_check" | "healthcheck_disabled">): boolean =>
  box.health_check !== null && !box.healthcheck_disabled

export const stopSignal = (box: Pick<BoxRecord, "stop_signal">): string => box.stop_signal ?? DEFAULT_STOP_SIGNAL

export const stopTimeoutSecs = (box: Pick<BoxRecord, "stop_timeout">): number =>
  box.stop_timeout ?? DEFAULT_STOP_TIMEOUT_SECS

/** First 12 hex characters of the id without dashes. */
export const shortIdOf = (id: string): string => id.replaceAll("-", "").slice(0, 12)

/** The state when the live process of an active box is found gone (SPEC §3). */
export const markDead = (box: BoxRecord, exitCode: number | null): BoxRecord => ({
  ...box,
  status: "dead",
  pid: null,
  pid_start_time: null,
  health_status: "none",
  health_retries: 0,
  exit_code: box.exit_code ?? exitCode
})

// ---------------------------------------------------------------------------
// The state file: a JSON array of records.

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

const StateFile = Schema.Array(BoxRecordKnown)
const decodeStateFile = Schema.decodeUnknownEither(StateFile, { errors: "first" })
const decodeKnown = Schema.decodeUnknownEither(BoxRecordKnown, { errors: "first" })
const encodeKnown = Schema.encodeSync(BoxRecordKnown)

// Even so, decoding costs tens of microseconds per record, and the state file changes a few
// records at a time. So:
// - decoded records are cached by the JSON text of their raw object: re-reading a file in
//   which few records changed decodes only those (decoded records are frozen, as they are shared);
// - each decoded record remembers the raw object it came from: a record written back
//   unchanged (the same object) is written exactly as it was read, without encoding.
// Both are invisible to callers: the round trip gives the same JSON either way.
const DECODE_CACHE_MAX = 16_384
const decodeCache = new Map<string, BoxRecord>()
const sourceOf = new WeakMap<BoxRecord, Readonly<Record<string, unknown>>>()

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Freezes the record and the known structures inside it (unknown values are shared with the raw object). */
const freezeRecord = (record: BoxRecord): BoxRecord => {
  Object.freeze(record.cmd)
  Object.freeze(record.env)
  if (record.health_check !== null) {
    Object.freeze(record.health_check.cmd)
    Object.freeze(record.health_check)
  }
  return Object.freeze(record)
}

/** A record with its known fields decoded and its unknown keys carried over from `item`. */
const decodeItem = (item: Record<string, unknown>): BoxRecord | undefined => {
  const decoded = decodeKnown(item)
  if (Either.isLeft(decoded)) return undefined
  const known = decoded.right
  const rawCheck = item["health_check"]
  const health_check = known.health_check !== null && isPlainObject(rawCheck)
    ? { ...rawCheck, ...known.health_check }
    : known.health_check
  return freezeRecord({ ...item, ...known, health_check } as BoxRecord)
}

const cachedDecode = (item: unknown): BoxRecord | undefined => {
  if (!isPlainObject(item)) return undefined
  const key = JSON.stringify(item)
  let record = decodeCache.get(key)
  if (record === undefined) {
    record = decodeItem(item)
    if (record === undefined) return undefined
    if (decodeCache.size >= DECODE_CACHE_MAX) {
      const oldest = decodeCache.keys().next()
      if (oldest.done !== true) decodeCache.delete(oldest.value)
    }
    decodeCache.set(key, record)
  }
  sourceOf.set(record, item)
  return record
}

/** The file as read: the decoded records plus the raw objects, so absent keys stay absent on write. */
export interface ParsedState {
  readonly records: ReadonlyArray<BoxRecord>
  readonly raw: ReadonlyMap<string, Readonly<Record<string, unknown>>>
}

export const emptyState: ParsedState = { records: Object.freeze([]), raw: new Map() }

/** Why a state file's text is not a valid list of records. */
export type StateFileProblem = { readonly _tag: "InvalidJson"; readonly detail: string } | {
  readonly _tag: "InvalidRecords"
  readonly detail: string
}

export const parseStateFile = (text: string): Either.Either<ParsedState, StateFileProblem> => {
  if (text.trim() === "") return Either.right(emptyState)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left({ _tag: "InvalidJson", detail: (error as Error).message })
  }
  const invalid = (): Either.Either<ParsedState, StateFileProblem> =>
    Either.left({
      _tag: "InvalidRecords",
      detail: Either.match(decodeStateFile(json), { onLeft: (error) => error.message, onRight: () => "invalid record" })
    })
  if (!Array.isArray(json)) return invalid()
  const records: Array<BoxRecord> = []
  const raw = new Map<string, Record<string, unknown>>()
  for (const item of json) {
    const record = cachedDecode(item)
    if (record === undefined) return invalid()
    records.push(record)
    raw.set(record.id, item as Record<string, unknown>)
  }
  // Frozen: a parse may be shared by several reads of an unchanged file.
  return Either.right({ records: Object.freeze(records), raw })
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
    if (!(key in original) && key in defaults && JSON.stringify(defaults[key]) === JSON.stringify(value)) continue
    out[key] = value
  }
  return out
}

/** The record as JSON: its own keys (unknown ones included) with the known fields encoded over them. */
const encodeItem = (record: BoxRecord): Record<string, unknown> => {
  const encoded = encodeKnown(record) as Record<string, unknown>
  const item: Record<string, unknown> = { ...record, ...encoded }
  const check = encoded["health_check"]
  if (isPlainObject(check) && isPlainObject(record.health_check)) item["health_check"] = { ...record.health_check, ...check }
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
): string => {
  const out = records.map((record) => {
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
  })
  return JSON.stringify(out, null, 2) + "\n"
}
