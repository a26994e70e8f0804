/**
 * Hand-made records carry placeholder box directories (`/nonexistent/<id>`). A real monitor or
 * CLI that boots such a box creates that directory, and as root it can: outside the test's temp
 * home. Records written for real processes go through `inHome` first.
 */
import * as path from "node:path"

/** `record` with its box_dir and console_log where `run` would put them in `home`. */
export const inHome = <R extends { readonly id: string }>(home: string, record: R): R & {
  readonly box_dir: string
  readonly console_log: string
} => {
  const boxDir = path.join(home, "boxes", record.id)
  return { ...record, box_dir: boxDir, console_log: path.join(boxDir, "console.log") }
}

/** Every record of `records` placed in `home` (see `inHome`). */
export const allInHome = <R extends { readonly id: string }>(home: string, records: ReadonlyArray<R>) =>
  records.map((record) => inHome(home, record))
