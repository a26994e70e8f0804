import * as Data from "effect/Data"
import * as Either from "effect/Either"
import type { BoxRecord } from "../domain/BoxRecord.js"

/**
 * How a user names a box on the command line (docker-like): its name, its full id, or a
 * unique prefix of its id (with or without dashes, so any prefix of the short id works).
 * Pure: resolution looks only at the records it is given.
 */

/** No box answers to this reference. */
export class NoSuchBox extends Data.TaggedError("NoSuchBox")<{
  readonly ref: string
}> {
  override get message(): string {
    return this.ref === ""
      ? "empty box reference: give a box name, id or id prefix (see `a3s-box ps -a`)"
      : `no such box: ${this.ref} (see \`a3s-box ps -a\` for the boxes of this home)`
  }
}

/** A prefix matches several boxes. */
export class AmbiguousBox extends Data.TaggedError("AmbiguousBox")<{
  readonly ref: string
  readonly matches: ReadonlyArray<{ readonly name: string; readonly id: string }>
}> {
  override get message(): string {
    const list = this.matches.map((box) => `${box.name} (${box.id})`).join(", ")
    return `box reference '${this.ref}' is ambiguous: it matches ${list}; use a longer prefix or the name`
  }
}

export type BoxRefError = NoSuchBox | AmbiguousBox

const undashed = (id: string): string => id.replaceAll("-", "")

/**
 * Resolves one reference. Order, as docker does it: an exact id, then an exact name, then a
 * prefix of an id (dashed or not; the short id is such a prefix). A reference equal to a
 * box's short id is unique by construction unless two ids share their first 12 hex digits.
 */
export const resolve = (records: ReadonlyArray<BoxRecord>, ref: string): Either.Either<BoxRecord, BoxRefError> => {
  if (ref === "") return Either.left(new NoSuchBox({ ref }))
  const byId = records.find((box) => box.id === ref)
  if (byId !== undefined) return Either.right(byId)
  const byName = records.find((box) => box.name === ref)
  if (byName !== undefined) return Either.right(byName)
  const lowered = ref.toLowerCase()
  const plain = undashed(lowered)
  const matches = records.filter((box) => {
    const id = box.id.toLowerCase()
    return id.startsWith(lowered) || (plain !== "" && (undashed(id).startsWith(plain) || box.short_id.toLowerCase().startsWith(plain)))
  })
  const [first, ...rest] = matches
  if (first === undefined) return Either.left(new NoSuchBox({ ref }))
  if (rest.length > 0) {
    return Either.left(new AmbiguousBox({ ref, matches: matches.map((box) => ({ name: box.name, id: box.short_id })) }))
  }
  return Either.right(first)
}

/** The record with this exact id, if it is still there (re-finding a box after a long operation). */
export const findById = (records: ReadonlyArray<BoxRecord>, id: string): BoxRecord | undefined =>
  records.find((box) => box.id === id)
