import * as FileSystem from "@effect/platform/FileSystem"
import * as Terminal from "@effect/platform/Terminal"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { existsSync } from "node:fs"
import * as LogLimits from "../domain/LogLimits.js"
import * as LogRotation from "../platform/LogRotation.js"
import { BoxFileError } from "./CliErrors.js"

/** Copies a box's console log to stdout: all of it, its last lines, and/or following it as it grows. */

const CHUNK = 64 * 1024
const NEWLINE = 10

/** One step of `scanBack`: where the lines begin, or how many line breaks were seen so far. */
export type ScanStep = Data.TaggedEnum<{
  Found: { readonly offset: number }
  More: { readonly seen: number }
}>

export const ScanStep = Data.taggedEnum<ScanStep>()

/**
 * One step of finding where the last `wanted` lines of a file begin, scanning a chunk that
 * starts at `chunkStart`, backwards. `seen` counts line breaks already found after the chunk.
 * A newline that ends the file terminates the last line and does not count.
 */
export const scanBack = (
  chunk: Uint8Array,
  chunkStart: number,
  fileSize: number,
  wanted: number,
  seen: number
): ScanStep => {
  let count = seen
  for (let i = chunk.length - 1; i >= 0; i--) {
    if (chunk[i] !== NEWLINE || chunkStart + i === fileSize - 1) continue
    count++
    if (count === wanted) return ScanStep.Found({ offset: chunkStart + i + 1 })
  }
  return ScanStep.More({ seen: count })
}

const fileError = (path: string, operation: string) => (error: { readonly message: string }) =>
  new BoxFileError({ path, operation, reason: error.message })

const sizeOf = (size: FileSystem.Size | number): number => Number(size)

/**
 * Where the last `lines` lines of an open file begin: `Found`, or `More` with the line breaks
 * seen (the file has fewer). `streamEnd`: the file ends the stream, so a newline that ends it
 * ends the last line; an older rotated file's last newline separates it from the next file's.
 */
const tailOffset = (file: FileSystem.File, size: number, lines: number, path: string, streamEnd: boolean, seenBefore = 0) =>
  Effect.gen(function*() {
    if (lines <= 0) return ScanStep.Found({ offset: size })
    let end = size
    let seen = seenBefore
    while (end > 0) {
      const start = Math.max(0, end - CHUNK)
      yield* file.seek(start, "start")
      const chunk = yield* file.readAlloc(end - start).pipe(Effect.mapError(fileError(path, "read")))
      if (chunk._tag === "None") break
      const step = scanBack(chunk.value, start, streamEnd ? size : size + 1, lines, seen)
      if (step._tag === "Found") return step
      seen = step.seen
      end = start
    }
    return ScanStep.More({ seen })
  })

/** A rotated file of the log, copied whole from `from` (it no longer grows). */
const copyRotated = (fs: FileSystem.FileSystem, path: string, from: number, emit: (bytes: Uint8Array) => Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(fileError(path, "open")))
    yield* file.seek(from, "start")
    while (true) {
      const chunk = yield* file.readAlloc(CHUNK).pipe(Effect.mapError(fileError(path, "read")))
      if (chunk._tag === "None" || chunk.value.length === 0) return
      yield* emit(chunk.value)
    }
  }))

/**
 * Where the last `lines` lines of the log and its rotated files begin (oldest first in `files`,
 * the live log last): the file's index and the offset in it.
 */
const tailAcross = (fs: FileSystem.FileSystem, files: ReadonlyArray<string>, lines: number | undefined) =>
  Effect.gen(function*() {
    if (lines === undefined) return { index: 0, offset: 0 }
    let seen = 0
    let streamEnd = true
    for (let index = files.length - 1; index >= 0; index--) {
      const path = files[index]!
      const found = yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(fileError(path, "open")))
        const size = sizeOf((yield* file.stat.pipe(Effect.mapError(fileError(path, "stat")))).size)
        if (size === 0) return ScanStep.More({ seen })
        const step = yield* tailOffset(file, size, lines, path, streamEnd, seen)
        streamEnd = false
        return step
      })).pipe(Effect.catchTag("BoxFileError", () => Effect.succeed(ScanStep.More({ seen }))))
      if (found._tag === "Found") return { index, offset: found.offset }
      seen = found.seen
    }
    return { index: 0, offset: 0 }
  })

export interface StreamOptions {
  readonly path: string
  /** Only the last N lines of what is already there (none: everything). */
  readonly tail?: number | undefined
  /**
   * Follow the file as it grows until this says the writer is done (checked whenever the
   * reader has caught up; what was written before it said so is still copied). Absent: copy
   * what is there and return.
   */
  readonly until?: Effect.Effect<boolean> | undefined
  readonly pollInterval?: Duration.DurationInput
  /**
   * Where to start (instead of `tail`), kept up to date with how far the copy got: a copy that
   * was interrupted can be finished by a second call with the same ref (the output an attached
   * `run` prints after Ctrl-C, while its box stops).
   */
  readonly position?: Ref.Ref<number> | undefined
  /** Read the log's rotated files (`.K … .1`, LogLimits) before it, and `tail` across them (not with `position`). */
  readonly rotated?: boolean | undefined
}

/**
 * Copies the file to stdout (via `Terminal.display`, decoding UTF-8 across chunk boundaries).
 * A missing file is empty; when following, it is waited for. A file that shrinks (truncated)
 * is read again from its start. Stops quietly when stdout is closed.
 */
export const stream = (options: StreamOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const terminal = yield* Terminal.Terminal
    const poll = Duration.decode(options.pollInterval ?? "100 millis")
    const until = options.until
    const decoder = new TextDecoder("utf-8")
    // true once stdout refuses writes (e.g. `| head`): stop copying.
    let closed = false
    const emit = (bytes: Uint8Array | undefined) => {
      const text = bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true })
      return text === "" || closed
        ? Effect.void
        : terminal.display(text).pipe(Effect.catchAll(() => Effect.sync(() => { closed = true })))
    }

    // Wait for the file when following (the box may not have written yet).
    while (!(yield* fs.exists(options.path).pipe(Effect.orElseSucceed(() => false)))) {
      if (until === undefined || (yield* until)) return
      yield* Effect.sleep(poll)
    }

    // The rotated files first, oldest first; `start` is where the output begins among them.
    const files = options.rotated === true && options.position === undefined
      ? LogRotation.filesOf(options.path, (file) => existsSync(file))
      : [options.path]
    const start = options.position === undefined ? yield* tailAcross(fs, files, options.tail) : { index: files.length - 1, offset: 0 }
    for (let index = start.index; index < files.length - 1; index++) {
      yield* copyRotated(fs, files[index]!, index === start.index ? start.offset : 0, emit).pipe(
        Effect.catchTag("BoxFileError", () => Effect.void)
      )
    }

    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(options.path, { flag: "r" }).pipe(Effect.mapError(fileError(options.path, "open")))
      const size = sizeOf((yield* file.stat.pipe(Effect.mapError(fileError(options.path, "stat")))).size)
      let position = options.position !== undefined
        ? Math.min(yield* Ref.get(options.position), size)
        : start.index === files.length - 1 ? Math.min(start.offset, size) : 0
      yield* file.seek(position, "start")
      // Following across rotations (the monitor's copytruncate, platform/LogRotation.ts): when the
      // rotation record counts one more, the rest of what this reader was in is `.1`'s from
      // `position - from`; then the live file from its start. More than one rotation since the
      // last look (a box writing faster than a poll can keep up with): `.1` whole, what was before
      // it is missed.
      let rotations = options.rotated === true ? LogRotation.readRotation(options.path)?.rotations ?? 0 : 0
      const followRotation = Effect.gen(function*() {
        if (options.rotated !== true) return false
        const rotation = LogRotation.readRotation(options.path)
        if (rotation === undefined || rotation.rotations <= rotations) return false
        const exact = rotation.rotations === rotations + 1 && position >= rotation.from && position <= rotation.cut
        rotations = rotation.rotations
        yield* copyRotated(fs, LogLimits.rotatedPath(options.path, 1), exact ? position - rotation.from : 0, emit).pipe(
          Effect.catchTag("BoxFileError", () => Effect.void)
        )
        position = 0
        yield* file.seek(0, "start")
        return true
      })
      let finishing = false
      let cutSeen = false
      while (!closed) {
        if (yield* followRotation) {
          cutSeen = false
          continue
        }
        const chunk = yield* file.readAlloc(CHUNK).pipe(Effect.mapError(fileError(options.path, "read")))
        if (chunk._tag === "Some" && chunk.value.length > 0) {
          position += chunk.value.length
          yield* emit(chunk.value)
          if (options.position !== undefined) yield* Ref.set(options.position, position)
          continue
        }
        // Caught up with the writer.
        if (until === undefined || finishing) break
        // Checked before the last read-through, so nothing written before the end is missed.
        if (yield* until) {
          finishing = true
          continue
        }
        const now = sizeOf((yield* file.stat.pipe(Effect.mapError(fileError(options.path, "stat")))).size)
        if (now < position) {
          // A rotation cuts the file before it writes its record: give the record one poll.
          if (options.rotated === true && !cutSeen) {
            cutSeen = true
            yield* Effect.sleep(poll)
            continue
          }
          cutSeen = false
          position = 0
          if (options.position !== undefined) yield* Ref.set(options.position, 0)
          yield* file.seek(0, "start")
          continue
        }
        yield* Effect.sleep(poll)
      }
      yield* emit(undefined)
    }))
  })
