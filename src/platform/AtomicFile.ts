/**
 * Replacing a file so that a reader sees the old bytes or the new ones, never a mix, and a crash
 * leaves one of the two (POSIX rename): the bytes go to a temp file beside the target, created
 * exclusively under a name no other writer uses (`.<name>.<pid>.<random>.tmp`), are fsynced, and
 * the temp file is renamed over the target. A writer killed halfway leaves a temp file behind;
 * `sweep` removes those. One algorithm over a small `Port`: `nodeSync` (synchronous node:fs, for
 * small files written often, where each asynchronous step would be a thread-pool round trip) and
 * `fromFileSystem` (whatever `FileSystem` the program is given).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as path from "node:path"
import { errnoCode, errorText } from "./ErrorText.js"

/** What an atomic write asks of a file system. Failures are the file system's own errors. */
export interface Port {
  /** Creates `file` exclusively (it must not exist) with `mode`, writes `bytes`, fsyncs and closes it. */
  readonly writeNew: (file: string, bytes: Uint8Array, mode: number) => Effect.Effect<void, unknown>
  readonly rename: (from: string, to: string) => Effect.Effect<void, unknown>
  /** Best effort: a file already gone is fine, and so is any other failure (it is cleanup). */
  readonly removeQuietly: (file: string) => Effect.Effect<void>
  readonly list: (dir: string) => Effect.Effect<ReadonlyArray<string>, unknown>
  /** The file's modification time; None when unknown. */
  readonly mtimeMs: (file: string) => Effect.Effect<Option.Option<number>, unknown>
  /** The target of `file` if it is a symbolic link; None if it is anything else or does not exist. */
  readonly readLink: (file: string) => Effect.Effect<Option.Option<string>, unknown>
}

/** Synchronous node:fs. */
export const nodeSync: Port = {
  writeNew: (file, bytes, mode) =>
    Effect.try({
      try: () => {
        const fd = nodeFs.openSync(file, "wx", mode)
        try {
          nodeFs.writeFileSync(fd, bytes)
          nodeFs.fsyncSync(fd)
        } finally {
          nodeFs.closeSync(fd)
        }
      },
      catch: (error) => error
    }),
  rename: (from, to) => Effect.try({ try: () => nodeFs.renameSync(from, to), catch: (error) => error }),
  removeQuietly: (file) =>
    Effect.sync(() => {
      try {
        nodeFs.rmSync(file, { force: true })
      } catch {
        // Cleanup only: the error that made us clean up is the one to report.
      }
    }),
  list: (dir) => Effect.try({ try: () => nodeFs.readdirSync(dir), catch: (error) => error }),
  mtimeMs: (file) => Effect.try({ try: () => Option.some(nodeFs.statSync(file).mtimeMs), catch: (error) => error }),
  readLink: (file) =>
    Effect.try({
      try: () => {
        try {
          return nodeFs.lstatSync(file).isSymbolicLink() ? Option.some(nodeFs.readlinkSync(file)) : Option.none()
        } catch (error) {
          if (errnoCode(error) === "ENOENT") return Option.none()
          throw error
        }
      },
      catch: (error) => error
    })
}

/** Over a `FileSystem` service (a test's, an embedder's, or @effect/platform-node's). */
export const fromFileSystem = (fs: FileSystem.FileSystem): Port => ({
  writeNew: (file, bytes, mode) =>
    Effect.scoped(Effect.gen(function*() {
      const handle = yield* fs.open(file, { flag: "wx", mode })
      yield* handle.writeAll(bytes)
      yield* handle.sync
    })),
  rename: fs.rename,
  removeQuietly: (file) => Effect.ignore(fs.remove(file, { force: true })),
  list: fs.readDirectory,
  mtimeMs: (file) => Effect.map(fs.stat(file), (info) => Option.map(info.mtime, (date) => date.getTime())),
  // readLink fails for a path that is not a link (EINVAL) and for one that does not exist.
  readLink: (file) => Effect.option(fs.readLink(file))
})

/** The port of the `FileSystem` in context. */
export const fileSystemPort: Effect.Effect<Port, never, FileSystem.FileSystem> = Effect.map(
  FileSystem.FileSystem,
  fromFileSystem
)

/** A write that did not replace the file; the file is as it was. */
export class AtomicWriteFailed extends Data.TaggedError("AtomicWriteFailed")<{
  readonly path: string
  readonly step: "resolve" | "write" | "rename"
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot write ${this.path}: ${errorText(this.cause)}`
  }
}

const TEMP_SUFFIX = ".tmp"
const tempPrefix = (file: string) => `.${path.basename(file)}.`

/** A fresh temp name beside `file`: unique across processes (pid) and within one (random). */
export const tempPath = (file: string): string =>
  path.join(path.dirname(file), `${tempPrefix(file)}${process.pid}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`)

/** Whether `name` (an entry of `file`'s directory) is a temp file of a write to `file`. */
export const isTempOf = (file: string, name: string): boolean =>
  name.startsWith(tempPrefix(file)) && name.endsWith(TEMP_SUFFIX)

/** Links followed at most (the kernel's own limit for a path is 40). */
const MAX_LINKS = 40

/**
 * The file a write to `file` replaces: `file`, or, when it is a symbolic link (to a link ...),
 * the path it finally names, so that the link stays a link and the temp file is made in the
 * target's directory (a rename cannot cross file systems).
 */
export const resolveTarget = (port: Port, file: string): Effect.Effect<string, unknown> =>
  Effect.gen(function*() {
    let current = path.resolve(file)
    for (let hops = 0; hops < MAX_LINKS; hops++) {
      const target = yield* port.readLink(current)
      if (Option.isNone(target)) return current
      current = path.resolve(path.dirname(current), target.value)
    }
    return yield* Effect.fail(new Error(`more than ${MAX_LINKS} symbolic links to follow from ${file}`))
  })

export interface WriteOptions<E = never, R = never> {
  /** Permission bits of a newly written file (default 0600: our files are the user's own). */
  readonly mode?: number
  /**
   * Runs once the new bytes are on disk, just before the rename: its failure leaves the target
   * untouched (the state store checks here that its lock is still its own).
   */
  readonly beforeRename?: Effect.Effect<void, E, R>
  /** Write through a symbolic link to the file it names (default true), rather than replace the link. */
  readonly followSymlink?: boolean
}

/** Replaces `file` with `data` atomically (see the module comment). The temp file never outlives a failure. */
export const write = <E = never, R = never>(
  port: Port,
  file: string,
  data: string | Uint8Array,
  options: WriteOptions<E, R> = {}
): Effect.Effect<void, AtomicWriteFailed | E, R> =>
  Effect.gen(function*() {
    const target = options.followSymlink === false
      ? path.resolve(file)
      : yield* Effect.mapError(resolveTarget(port, file), (cause) => new AtomicWriteFailed({ path: file, step: "resolve", cause }))
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data
    const temp = tempPath(target)
    yield* Effect.gen(function*() {
      yield* Effect.mapError(
        port.writeNew(temp, bytes, options.mode ?? 0o600),
        (cause) => new AtomicWriteFailed({ path: target, step: "write", cause })
      )
      if (options.beforeRename !== undefined) yield* options.beforeRename
      yield* Effect.mapError(port.rename(temp, target), (cause) => new AtomicWriteFailed({ path: target, step: "rename", cause }))
    }).pipe(Effect.onError(() => port.removeQuietly(temp)))
  })

export interface SweepOptions {
  /**
   * Only temp files older than this (by their mtime, against the wall clock: file times are
   * wall-clock times) are removed, when writers that are alive may be mid-write. Default: all,
   * for a caller that excludes other writers (it holds their lock).
   */
  readonly olderThan?: Duration.DurationInput
}

/**
 * Removes the temp files that writes to `file` (through a link: to its target) left behind
 * when their writer died. Never fails; gives how many were removed.
 */
export const sweep = (port: Port, file: string, options: SweepOptions = {}): Effect.Effect<number> =>
  Effect.gen(function*() {
    const target = yield* resolveTarget(port, file)
    const dir = path.dirname(target)
    const maxAge = options.olderThan === undefined ? undefined : Duration.toMillis(Duration.decode(options.olderThan))
    const now = Date.now()
    let removed = 0
    for (const name of yield* port.list(dir)) {
      if (!isTempOf(target, name)) continue
      const temp = path.join(dir, name)
      if (maxAge !== undefined) {
        const mtime = yield* Effect.orElseSucceed(port.mtimeMs(temp), () => Option.none<number>())
        if (Option.isNone(mtime) || now - mtime.value <= maxAge) continue
      }
      yield* port.removeQuietly(temp)
      removed++
    }
    return removed
  }).pipe(Effect.orElseSucceed(() => 0))
