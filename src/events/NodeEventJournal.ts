/**
 * The Node event journal (issue 14): `<home>/events.jsonl`, one JSON event per line, rotated by
 * size into `events.jsonl.1` (the newest rotated file), `events.jsonl.2`, ...
 *
 * Appending, and why `seq` never repeats. Every append (and every rotation) runs under a short
 * cross-process lock, `<home>/events.jsonl.lk` (FileLock.ts, the state store's lock; a holder
 * that died is taken over at once). Holding it, the appender reads the last `seq` from the end
 * of the file (from the newest rotated file when the current one has none yet), numbers its
 * events from there and writes them with one append. Since numbering and writing happen under
 * one lock, two appenders never see the same last `seq`, and each new `seq` is greater than
 * every one before it: seqs are unique and increase through the files, across processes (the
 * monitor and any CLI command). Lines never interleave either: only the holder writes. A line
 * the lock holder left half-written (it crashed) has no newline: the next appender starts on a
 * new line, so the torn line stays a line of its own, which readers skip. A torn line that still
 * parses (only the newline is missing) counts for the last seq, so its seq is not given again.
 * (Deleting the files by hand starts the numbering over: the files are the only record.)
 *
 * Reading takes no lock: a reader takes only the complete lines (up to the last newline), so a
 * line being written, or a torn one, is never taken; lines that do not parse as an event are
 * skipped. `follow` keeps the file it reads open: when `events.jsonl` is rotated away (another
 * inode at the path), it finishes the old file through its descriptor (no writer can append to
 * it after the rotation, which happens under the lock), then reads the files rotated since, then
 * the new one. As seqs increase, anything at or below the last seq it gave is dropped: no
 * event is given twice, even if the files changed in unexpected ways.
 *
 * node:fs, synchronous, instead of the FileSystem service: the append must be one `write` on
 * an O_APPEND descriptor, the follower must compare inodes and keep reading a file renamed
 * under it through its descriptor, and the lock is node:fs already. The calls are small
 * (a 64 KiB read at most) and take microseconds, as the state store's do (SyncFileSystem.ts).
 *
 * `append` never fails: a failed write (a full disk, a read-only home, a lock held too long) is
 * logged (throttled, ThrottledLog.ts) and counted (`a3s_box_journal_write_failures_total`), and
 * the caller goes on.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { BoxEvent, type NewBoxEvent } from "../domain/BoxEvent.js"
import { makeDirectories, PRIVATE_DIR_MODE } from "../platform/Directories.js"
import { errorText } from "../platform/ErrorText.js"
import * as ThrottledLog from "../platform/ThrottledLog.js"
import * as FileLock from "../state/FileLock.js"
import * as Home from "../state/Home.js"
import * as JournalStats from "../telemetry/JournalStats.js"
import { EventJournal, type EventJournalShape, type EventRange, isInRange } from "./EventJournal.js"

export interface Options {
  /** Rotate `events.jsonl` when an append would make it larger than this (bytes; default 10 MiB). */
  readonly maxBytes?: number
  /** How many files are kept, `events.jsonl` included (default 3; at least 1). */
  readonly keep?: number
  /** How often `follow` looks for new lines once it has caught up (default 200 ms). */
  readonly pollInterval?: Duration.DurationInput
  /** How long an append waits for another process's append before it gives up (default 5 s). */
  readonly lockTimeout?: Duration.DurationInput
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024
export const DEFAULT_KEEP = 3
export const DEFAULT_POLL_INTERVAL = Duration.millis(200)

/** Appends that failed (nothing was written) since this process started (`/metrics` renders it). */
export const writeFailures = JournalStats.writeFailures

/** `events.jsonl` and its rotated files: the path of rotated file `n` (0 is the current file). */
export const filePath = (home: string, n = 0): string => n === 0 ? Home.eventsFilePath(home) : `${Home.eventsFilePath(home)}.${n}`

const NEWLINE = 10
const CHUNK = 64 * 1024
const ROTATED = /^events\.jsonl\.([1-9][0-9]*)$/

const decodeEvent = Schema.decodeUnknownEither(BoxEvent)

/** One line as an event, or undefined when it is not one (torn, not JSON, an unknown type). */
export const parseLine = (line: string): BoxEvent | undefined => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return undefined
  }
  const decoded = decodeEvent(json)
  return Either.isRight(decoded) ? decoded.right : undefined
}

/** The numbers of the rotated files present, newest (1) first. */
const rotatedNumbers = (home: string): ReadonlyArray<number> => {
  let names: Array<string>
  try {
    names = nodeFs.readdirSync(home)
  } catch {
    return []
  }
  return names.flatMap((name) => {
    const match = ROTATED.exec(name)
    return match === null ? [] : [Number(match[1])]
  }).sort((a, b) => a - b)
}

const inodeOf = (file: string): number | undefined => {
  try {
    return nodeFs.statSync(file).ino
  } catch {
    return undefined
  }
}

/** The `seq` of the last line of `file` that has one (scanning back from the end), or undefined. */
const lastSeqIn = (fd: number, size: number): number | undefined => {
  let end = size
  let carry = Buffer.alloc(0)
  while (end > 0) {
    const start = Math.max(0, end - CHUNK)
    const chunk = Buffer.alloc(end - start)
    nodeFs.readSync(fd, chunk, 0, chunk.length, start)
    const bytes = Buffer.concat([chunk, carry])
    const lines = bytes.toString("utf8").split("\n")
    // The first piece may be the end of a line that starts in an earlier chunk.
    carry = start > 0 ? Buffer.from(lines.shift() ?? "", "utf8") : Buffer.alloc(0)
    for (let i = lines.length - 1; i >= 0; i--) {
      const seq = seqOf(lines[i]!)
      if (seq !== undefined) return seq
    }
    end = start
  }
  const seq = seqOf(carry.toString("utf8"))
  return seq
}

/** A line's `seq`, if the line is JSON with a numeric one (any event, even one of a type this version does not know). */
const seqOf = (line: string): number | undefined => {
  if (line.trim() === "") return undefined
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === "object" && value !== null && "seq" in value && typeof value.seq === "number" ? value.seq : undefined
  } catch {
    return undefined
  }
}

const withFile = <A>(file: string, use: (fd: number, size: number) => A): A | undefined => {
  let fd: number
  try {
    fd = nodeFs.openSync(file, "r")
  } catch {
    return undefined
  }
  try {
    return use(fd, nodeFs.fstatSync(fd).size)
  } finally {
    nodeFs.closeSync(fd)
  }
}

/** The last seq given in the home: from the current file, else the newest rotated file that has one; 0 when none. */
const lastSeqOfHome = (home: string, fd: number, size: number): number => {
  const inCurrent = lastSeqIn(fd, size)
  if (inCurrent !== undefined) return inCurrent
  for (const n of rotatedNumbers(home)) {
    const seq = withFile(filePath(home, n), lastSeqIn)
    if (seq !== undefined) return seq
  }
  return 0
}

/** Shifts `events.jsonl` to `.1`, `.1` to `.2`, ..., dropping what would become `.keep` or beyond. Under the lock. */
const rotate = (home: string, keep: number): void => {
  for (const n of rotatedNumbers(home).filter((n) => n >= keep - 1)) nodeFs.rmSync(filePath(home, n), { force: true })
  if (keep <= 1) {
    nodeFs.rmSync(filePath(home), { force: true })
    return
  }
  for (let n = keep - 2; n >= 0; n--) {
    try {
      nodeFs.renameSync(filePath(home, n), filePath(home, n + 1))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
    }
  }
}

const writeAll = (fd: number, bytes: Buffer): void => {
  let offset = 0
  while (offset < bytes.length) offset += nodeFs.writeSync(fd, bytes, offset, bytes.length - offset)
}

/**
 * Writes `events` (already numbered from `lastSeq + 1` by `number`) to the journal of `home`,
 * rotating first when the file would grow past `maxBytes`. Run under the lock. Returns the events as written.
 */
const appendLocked = (
  home: string,
  maxBytes: number,
  keep: number,
  number: (lastSeq: number) => ReadonlyArray<BoxEvent>
): ReadonlyArray<BoxEvent> => {
  const file = filePath(home)
  let fd = nodeFs.openSync(file, "a+", 0o600)
  try {
    let size = nodeFs.fstatSync(fd).size
    const stamped = number(lastSeqOfHome(home, fd, size))
    const text = stamped.map((event) => JSON.stringify(event) + "\n").join("")
    if (size > 0 && size + Buffer.byteLength(text) > maxBytes) {
      nodeFs.closeSync(fd)
      fd = -1
      rotate(home, keep)
      fd = nodeFs.openSync(file, "a+", 0o600)
      size = nodeFs.fstatSync(fd).size
    }
    // A last line without its newline was torn by a crash: it stays a line of its own.
    let torn = false
    if (size > 0) {
      const last = Buffer.alloc(1)
      nodeFs.readSync(fd, last, 0, 1, size - 1)
      torn = last[0] !== NEWLINE
    }
    writeAll(fd, Buffer.from((torn ? "\n" : "") + text, "utf8"))
    return stamped
  } finally {
    if (fd >= 0) nodeFs.closeSync(fd)
  }
}

/** An open file a reader goes through; `final` once it is known that nothing more will be appended to it. */
interface Source {
  readonly fd: number
  readonly ino: number
  offset: number
  carry: Buffer
  final: boolean
}

const openSource = (file: string, final: boolean): Source | undefined => {
  try {
    const fd = nodeFs.openSync(file, "r")
    return { fd, ino: nodeFs.fstatSync(fd).ino, offset: 0, carry: Buffer.alloc(0), final }
  } catch {
    return undefined
  }
}

/**
 * Reads the journal of `home` in order, oldest file first, and on past rotations: each `poll`
 * gives the events appended since the last one (at most about one chunk's worth; an empty array
 * when there is nothing new). Synchronous and not thread-safe: one fiber polls it.
 */
class Cursor {
  private sources: Array<Source> = []
  private lastSeq = -Infinity
  private started = false

  constructor(private readonly home: string) {}

  /** The events appended since the last poll (some of them, when there are many). */
  poll(): ReadonlyArray<BoxEvent> {
    if (!this.started) {
      this.started = true
      // The rotated files, oldest first, then the current one.
      for (const n of [...rotatedNumbers(this.home)].reverse()) this.push(filePath(this.home, n), true)
      this.push(filePath(this.home), false)
    }
    for (;;) {
      const source = this.sources[0]
      if (source === undefined) {
        // No file yet (or it was removed): start on the current one when it appears.
        if (!this.push(filePath(this.home), false)) return []
        continue
      }
      const events = this.readChunk(source)
      if (events !== undefined) {
        if (events.length > 0) return events
        continue
      }
      // At the end of this file.
      if (!source.final) {
        if (inodeOf(filePath(this.home)) === source.ino) return []
        // Rotated away: what was appended before the rotation is read to the end, then on.
        source.final = true
        continue
      }
      nodeFs.closeSync(source.fd)
      this.sources.shift()
      if (this.sources.length === 0) this.pushSince(source.ino)
    }
  }

  /** Closes the files. */
  close(): void {
    for (const source of this.sources.splice(0)) nodeFs.closeSync(source.fd)
  }

  /** The files rotated after the one whose inode was `ino` (oldest first), then the current file. */
  private pushSince(ino: number): void {
    const newer: Array<number> = []
    for (const n of rotatedNumbers(this.home)) {
      if (inodeOf(filePath(this.home, n)) === ino) break
      newer.push(n)
    }
    for (const n of newer.reverse()) this.push(filePath(this.home, n), true)
    // The current file, unless it is the one just finished (a rotation found nothing new).
    if (inodeOf(filePath(this.home)) !== ino) this.push(filePath(this.home), false)
  }

  private push(file: string, final: boolean): boolean {
    const source = openSource(file, final)
    if (source === undefined) return false
    if (this.sources.some((s) => s.ino === source.ino)) {
      nodeFs.closeSync(source.fd)
      return false
    }
    this.sources.push(source)
    return true
  }

  /** The complete lines of the next chunk of `source`, as events; undefined at its end. */
  private readChunk(source: Source): Array<BoxEvent> | undefined {
    const buffer = Buffer.alloc(CHUNK)
    const n = nodeFs.readSync(source.fd, buffer, 0, CHUNK, source.offset)
    if (n === 0) return undefined
    source.offset += n
    const bytes = Buffer.concat([source.carry, buffer.subarray(0, n)])
    const end = bytes.lastIndexOf(NEWLINE)
    // Only complete lines: the rest (a line being written, or torn) waits for its newline.
    source.carry = Buffer.from(bytes.subarray(end + 1))
    if (end < 0) return []
    const events: Array<BoxEvent> = []
    for (const line of bytes.subarray(0, end).toString("utf8").split("\n")) {
      const event = parseLine(line)
      if (event === undefined || event.seq <= this.lastSeq) continue
      this.lastSeq = event.seq
      events.push(event)
    }
    return events
  }
}

const cursorOf = (home: string) =>
  Effect.acquireRelease(Effect.sync(() => new Cursor(home)), (cursor) => Effect.sync(() => cursor.close()))

/** The journal of `home`. */
export const make = (home: string, options: Options = {}): Effect.Effect<EventJournalShape> =>
  Effect.gen(function*() {
    const homeDir = path.resolve(home)
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
    const keep = Math.max(1, Math.floor(options.keep ?? DEFAULT_KEEP))
    const pollInterval = options.pollInterval ?? DEFAULT_POLL_INTERVAL
    const lock: FileLock.FileLockOptions = {
      ...FileLock.defaults(Home.eventsLockPath(homeDir)),
      timeout: options.lockTimeout ?? Duration.seconds(5)
    }
    const hub = yield* PubSub.unbounded<BoxEvent>()
    const throttled = yield* ThrottledLog.make()
    // One append at a time per process: fibers queue here rather than on the lock directory.
    const mutex = yield* Effect.makeSemaphore(1)

    const append = (events: ReadonlyArray<NewBoxEvent>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (events.length === 0) return
        const now = new Date(yield* Clock.currentTimeMillis).toISOString()
        const number = (lastSeq: number) =>
          events.map((event, i) => {
            const { time, type, ...fields } = event
            return { seq: lastSeq + i + 1, time: time ?? now, type, ...fields } as unknown as BoxEvent
          })
        const written = yield* mutex.withPermits(1)(
          // The home first: the lock directory is made in it.
          Effect.zipRight(
            Effect.tryPromise({ try: () => makeDirectories(homeDir, PRIVATE_DIR_MODE), catch: (cause) => cause }),
            FileLock.withLock(lock, (held) =>
            Effect.zipRight(
              held.verify,
              Effect.try({ try: () => appendLocked(homeDir, maxBytes, keep, number), catch: (cause) => cause })
            ))
          )
        )
        yield* throttled.clear
        yield* PubSub.publishAll(hub, written)
      }).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            Metric.increment(writeFailures),
            throttled.log(
              "write",
              Effect.logWarning(`cannot append to the event journal ${filePath(homeDir)}: ${errorText(error)} (events are being lost)`)
            )
          )
        ),
        Effect.asVoid
      )

    const read = (range: EventRange): Stream.Stream<BoxEvent> =>
      Stream.unwrapScoped(Effect.map(cursorOf(homeDir), (cursor) =>
        Stream.repeatEffectOption(Effect.suspend(() => {
          const events = cursor.poll()
          return events.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(events))
        })).pipe(Stream.flattenChunks, Stream.filter(isInRange(range)))))

    const follow = (since?: number): Stream.Stream<BoxEvent> =>
      Stream.unwrapScoped(Effect.map(cursorOf(homeDir), (cursor) =>
        Stream.repeatEffectChunk(Effect.suspend(() => {
          const events = cursor.poll()
          return events.length === 0
            ? Effect.as(Effect.sleep(pollInterval), Chunk.empty<BoxEvent>())
            : Effect.succeed(Chunk.unsafeFromArray(events))
        })).pipe(Stream.filter(isInRange(since === undefined ? {} : { since })))))

    return { append, read, follow, appended: Stream.fromPubSub(hub) }
  })

/** The journal of `home` as the EventJournal. */
export const layer = (home: string, options: Options = {}): Layer.Layer<EventJournal> =>
  Layer.effect(EventJournal, make(home, options))

/** The journal of the home named by `$A3S_HOME` (default `~/.a3s`). */
export const layerFromEnv = (options: Options = {}): Layer.Layer<EventJournal> =>
  Layer.effect(EventJournal, Effect.flatMap(Home.home, (home) => make(home, options)))
