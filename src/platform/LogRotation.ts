import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs"
import * as LogLimits from "../domain/LogLimits.js"
import * as AtomicFile from "./AtomicFile.js"
import { PRIVATE_FILE_MODE } from "./Directories.js"
import { errnoCode } from "./ErrorText.js"

/**
 * Rotation of a log that its writer holds open with O_APPEND (a box's console log, the launchd
 * agent's monitor.log): "copytruncate", as the writer cannot be made to reopen its file. When the
 * live file is over its size, its newest `maxSize` bytes (from a line start) are copied to a temp
 * file, the live file is cut to zero (the writer's next append lands at 0), then `.1 … .N-2` move
 * up one, the copy becomes `.1`, and the rotation record (`LogLimits.rotationPath`) says which
 * bytes went where.
 *
 * What a box writes between the copy's last read and the cut is lost: that window is one
 * `fstat` and one `ftruncate` (microseconds), when the copy caught up with the writer; a writer
 * faster than the copy for COPY_ROUNDS rounds loses what it wrote during the last one. Older
 * bytes than the newest `maxSize` are dropped at once: the cap is the point. If the
 * rotating process dies between the cut and the rename, the copy is left in a temp file
 * (`.console.log.1.PID.RANDOM.tmp`) and the next rotation does not see it.
 *
 * Synchronous node:fs, like the box's other files (runtime/internal/boxFiles.ts): stats and
 * page-cache copies of at most a few MiB, rare.
 */

export type Outcome = Data.TaggedEnum<{
  NotDue: { readonly size: number }
  Rotated: { readonly kept: number; readonly dropped: number; readonly cut: number }
  Missing: {}
}>
export const Outcome = Data.taggedEnum<Outcome>()

const CHUNK = 1024 * 1024
const COPY_ROUNDS = 4
/** How far past `from` a line start is looked for (a longer first line is cut where it is). */
const LINE_SEARCH = 64 * 1024
const NEWLINE = 10

const readAt = (fd: number, buffer: Buffer, position: number, length = buffer.length): number =>
  readSync(fd, buffer, 0, Math.min(length, buffer.length), position)

/** The first line start at or after `from` (within LINE_SEARCH), else `from`. */
const lineStart = (fd: number, from: number, end: number): number => {
  if (from === 0) return 0
  const buffer = Buffer.alloc(Math.min(LINE_SEARCH, end - from + 1))
  const n = readAt(fd, buffer, from - 1)
  const at = buffer.subarray(0, n).indexOf(NEWLINE)
  return at < 0 ? from : from + at
}

/**
 * Copies the newest `maxSize` bytes of `fd` (from a line start) to `out`, catching up with the
 * writer; returns which bytes [from, cut) it copied. A writer that outruns the copy by more than
 * an eighth of the size makes it start over from the newest bytes (the newest lines are the ones
 * to keep), at most COPY_ROUNDS times: `.1` stays within 1.125 × the size.
 */
const copyNewest = (fd: number, out: number, maxSize: number): { readonly from: number; readonly cut: number } => {
  const buffer = Buffer.allocUnsafe(CHUNK)
  const size = fstatSync(fd).size
  let from = lineStart(fd, Math.max(0, size - maxSize), size)
  let position = from
  for (let round = 0; round < COPY_ROUNDS; round++) {
    const end = fstatSync(fd).size
    if (end - from > maxSize + maxSize / 8) {
      from = lineStart(fd, end - maxSize, end)
      position = from
      ftruncateSync(out, 0)
    }
    // Never past `end`: what the box wrote since is the next round's, measured against the cap.
    while (position < end) {
      const n = readAt(fd, buffer, position, end - position)
      if (n === 0) break
      writeSync(out, buffer, 0, n, position - from)
      position += n
    }
    if (fstatSync(fd).size <= position) break
  }
  return { from, cut: position }
}

const renameIfThere = (from: string, to: string): void => {
  try {
    renameSync(from, to)
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error
  }
}

/** The rotation record of `log`, if there is a readable one. */
export const readRotation = (log: string): LogLimits.Rotation | undefined => {
  try {
    return LogLimits.parseRotation(readFileSync(LogLimits.rotationPath(log), "utf8"))
  } catch {
    return undefined
  }
}

/** The rotation record, replaced atomically (AtomicFile over synchronous node:fs); throws what the file system said. */
const writeRotation = (log: string, rotation: LogLimits.Rotation): void => {
  const written = Effect.runSync(Effect.either(
    AtomicFile.write(AtomicFile.nodeSync, LogLimits.rotationPath(log), LogLimits.renderRotation(rotation), { mode: PRIVATE_FILE_MODE })
  ))
  if (Either.isLeft(written)) throw written.left.cause
}

/**
 * Rotates `log` if it is over `limits.maxSize` (see the module comment). Throws what the file
 * system says (the caller logs it and tries again later); a missing log is `Missing`.
 */
export const rotateIfOver = (log: string, limits: LogLimits.LogLimits): Outcome => {
  let fd: number
  try {
    fd = openSync(log, "r+")
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return Outcome.Missing()
    throw error
  }
  try {
    const size = fstatSync(fd).size
    if (!LogLimits.rotates(limits) || size <= limits.maxSize) return Outcome.NotDue({ size })
    const previous = readRotation(log)?.rotations ?? 0
    if (limits.maxFiles === 1) {
      const cut = fstatSync(fd).size
      ftruncateSync(fd, 0)
      writeRotation(log, { rotations: previous + 1, from: cut, cut })
      return Outcome.Rotated({ kept: 0, dropped: cut, cut })
    }
    const first = LogLimits.rotatedPath(log, 1)
    const temp = AtomicFile.tempPath(first)
    const out = openSync(temp, "wx", PRIVATE_FILE_MODE)
    let copied: { readonly from: number; readonly cut: number }
    try {
      copied = copyNewest(fd, out, limits.maxSize)
      ftruncateSync(fd, 0)
    } catch (error) {
      closeSync(out)
      unlinkSync(temp)
      throw error
    }
    closeSync(out)
    const { cut, from } = copied
    // A lowered --log-max-files leaves older files: the one just above the new count goes.
    try {
      unlinkSync(LogLimits.rotatedPath(log, limits.maxFiles))
    } catch {
      // none
    }
    for (let n = limits.maxFiles - 1; n >= 2; n--) renameIfThere(LogLimits.rotatedPath(log, n - 1), LogLimits.rotatedPath(log, n))
    renameSync(temp, first)
    writeRotation(log, { rotations: previous + 1, from, cut })
    return Outcome.Rotated({ kept: cut - from, dropped: from, cut })
  } finally {
    closeSync(fd)
  }
}

/** The files of `log` in order, oldest first: `.K … .1` that exist (consecutively from `.1`), then `log`. */
export const filesOf = (log: string, exists: (file: string) => boolean): ReadonlyArray<string> => {
  const rotated: Array<string> = []
  for (let n = 1; n <= LogLimits.MAX_LOG_MAX_FILES; n++) {
    const file = LogLimits.rotatedPath(log, n)
    if (!exists(file)) break
    rotated.unshift(file)
  }
  return [...rotated, log]
}
