import * as FileSystem from "@effect/platform/FileSystem"
import * as Terminal from "@effect/platform/Terminal"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
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

/** Byte offset where the last `lines` lines of an open file begin (0 when it has fewer). */
const tailOffset = (file: FileSystem.File, size: number, lines: number, path: string) =>
  Effect.gen(function*() {
    if (lines <= 0) return size
    let end = size
    let seen = 0
    while (end > 0) {
      const start = Math.max(0, end - CHUNK)
      yield* file.seek(start, "start")
      const chunk = yield* file.readAlloc(end - start).pipe(Effect.mapError(fileError(path, "read")))
      if (chunk._tag === "None") return 0
      const step = scanBack(chunk.value, start, size, lines, seen)
      if (step._tag === "Found") return step.offset
      seen = step.seen
      end = start
    }
    return 0
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

    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(options.path, { flag: "r" }).pipe(Effect.mapError(fileError(options.path, "open")))
      const size = sizeOf((yield* file.stat.pipe(Effect.mapError(fileError(options.path, "stat")))).size)
      let position = options.position !== undefined
        ? Math.min(yield* Ref.get(options.position), size)
        : options.tail === undefined ? 0 : yield* tailOffset(file, size, options.tail, options.path)
      yield* file.seek(position, "start")
      let finishing = false
      while (!closed) {
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
