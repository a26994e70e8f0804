import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { BoxRecord } from "./BoxRecord.js"

/**
 * How much console log a box may keep on disk (issue 15): `run --log-max-size SIZE
 * --log-max-files N`, recorded as `log_max_size` (bytes) and `log_max_files`. The live file
 * plus its rotated copies (`console.log.1` newest … `console.log.N-1` oldest) never hold more
 * than size × files, give or take what the box writes while the monitor rotates (see
 * docs/behaviour.md, "Console logs"). A size or a count of 0 turns rotation off.
 */
export interface LogLimits {
  /** Bytes the live file may reach before it is rotated; 0: never rotated. */
  readonly maxSize: number
  /** Files kept, the live one included (1: the live file is only cut back). */
  readonly maxFiles: number
}

export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024
export const DEFAULT_LOG_MAX_FILES = 3
/** The smallest size accepted: below it a chatty box would be rotated at every line. */
export const MIN_LOG_MAX_SIZE = 4096
export const MAX_LOG_MAX_FILES = 100

export const defaultLimits: LogLimits = { maxSize: DEFAULT_LOG_MAX_SIZE, maxFiles: DEFAULT_LOG_MAX_FILES }

/** The box's limits: its own, else the defaults (records older than issue 15 get the defaults too). */
export const limitsOf = (box: Pick<BoxRecord, "log_max_size" | "log_max_files">): LogLimits => ({
  maxSize: box.log_max_size ?? DEFAULT_LOG_MAX_SIZE,
  maxFiles: box.log_max_files ?? DEFAULT_LOG_MAX_FILES
})

export const rotates = (limits: LogLimits): boolean => limits.maxSize > 0 && limits.maxFiles > 0

const UNITS: Readonly<Record<string, number>> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** `512k`, `10m`, `1g`, `4096` (bytes), `0`: a size in bytes, or undefined when it is not one. */
export const parseSize = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?$/i.exec(text.trim())
  if (match === null) return undefined
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

/** A size as `parseSize` reads it back: `10m`, `512k`, `4097`. */
export const sizeText = (bytes: number): string => {
  for (const [unit, factor] of [["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return String(bytes)
}

/** The path of rotated file `n` (1: the newest) of the log at `log`. */
export const rotatedPath = (log: string, n: number): string => `${log}.${n}`

/**
 * The rotation record beside the log (`console.log.rotation`): how many rotations there were,
 * and which bytes of the live file the last one moved to `.1`. A follower (`logs -f`) holding the
 * live file reads it to carry on in `.1` where it was, then in the live file from its start.
 */
export const rotationPath = (log: string): string => `${log}.rotation`

const Offset = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** The rotation record; the live file's bytes [from, cut) are `.1`'s. */
export const Rotation = Schema.Struct({ rotations: Offset, from: Offset, cut: Offset })
export type Rotation = typeof Rotation.Type

const decodeRotation = Schema.decodeUnknownOption(Schema.parseJson(Rotation))

/** The rotation record's text, or undefined when it is not one (a follower then treats a cut as a truncation). */
export const parseRotation = (text: string): Rotation | undefined => Option.getOrUndefined(decodeRotation(text))

/** The rotation record's text, one line. */
export const renderRotation = (rotation: Rotation): string => `${JSON.stringify(rotation)}\n`
