/**
 * The synchronous reads of the state file (see NodeStateStore.ts for why synchronous). Only
 * ENOENT of `boxes.json` itself means "no boxes yet". A symbolic link is followed to a regular
 * file (reads and writes go to its target, so the link stays a link); a dangling link, a FIFO,
 * a directory or a device is an error that names the path, and nothing is written. The file is
 * opened with O_NONBLOCK and checked with fstat before it is read, so that a FIFO put there
 * between the stat and the open cannot block the event loop.
 *
 * Two readers with the same rules: `hostReader` with synchronous node:fs calls, used when the
 * store's FileSystem is platform/SyncFileSystem's (the same files, read the same way: its stamp
 * has the ctime and nanosecond times, and its open O_NONBLOCK, that FileSystem's `File.Info` and
 * `open` cannot give), and `fileSystemReader` over any other FileSystem, through its methods only
 * (stamp: inode, size and mtime in ms; trust counted from the mtime). The store turns what
 * either fails with into `StateFileUnavailable`.
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as nodeFs from "node:fs"
import { errorText, isNotFound } from "../../platform/ErrorText.js"
import * as SyncFileSystem from "../../platform/SyncFileSystem.js"

/** What a symbolic link says it points to (as written in the link). */
const linkText = (link: string): string => {
  try {
    return nodeFs.readlinkSync(link)
  } catch {
    return "(unreadable)"
  }
}

/** The final target of the symbolic link `link`, or an error that names what it points to. */
const resolveLink = (link: string): string => {
  try {
    return nodeFs.realpathSync(link)
  } catch (error) {
    const pointsTo = linkText(link)
    throw new Error(
      isNotFound(error)
        ? danglingLink(pointsTo).message
        : `it is a symbolic link to ${pointsTo}, which cannot be followed (${errorText(error)}); nothing was read or written`
    )
  }
}

const danglingLink = (pointsTo: string): Error =>
  new Error(`it is a symbolic link to ${pointsTo}, which does not exist; nothing was read or written. Restore ${pointsTo} or remove the link, then retry`)

const kindOf = (s: nodeFs.BigIntStats): string =>
  s.isFIFO()
    ? "a FIFO (named pipe)"
    : s.isDirectory()
    ? "a directory"
    : s.isCharacterDevice()
    ? "a character device"
    : s.isBlockDevice()
    ? "a block device"
    : s.isSocket()
    ? "a socket"
    : "not a regular file"

const notRegularFile = (file: string, target: string, kind: string): Error =>
  new Error(
    `${target === file ? "it" : `its target ${target}`} is ${kind}, not a regular file; nothing was read or written. Move it away, then retry`
  )

export interface StatInfo {
  /** The path to read and write: the file, or the final target of a link. */
  readonly target: string
  /** Inode, size, mtime and ctime (ns): changes whenever anyone writes the file. */
  readonly stamp: string
  readonly ctimeMs: number
}

/** The state file's `StatInfo`, or undefined when it does not exist (throws). */
const statSync = (file: string): StatInfo | undefined => {
  const link = nodeFs.lstatSync(file, { bigint: true, throwIfNoEntry: false })
  if (link === undefined) return undefined
  let target = file
  let s = link
  if (link.isSymbolicLink()) {
    target = resolveLink(file)
    s = nodeFs.statSync(target, { bigint: true })
  }
  if (!s.isFile()) throw notRegularFile(file, target, kindOf(s))
  return { target, stamp: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, ctimeMs: Number(s.ctimeNs / 1_000_000n) }
}

/** The bytes of `target` (the file or its link's target), or undefined if the file itself vanished since it was stat'ed (throws). */
const readBytesSync = (file: string, target: string): Buffer | undefined => {
  let fd: number
  try {
    fd = nodeFs.openSync(target, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK)
  } catch (error) {
    if (isNotFound(error) && target === file) return undefined
    throw error
  }
  try {
    const s = nodeFs.fstatSync(fd, { bigint: true })
    if (!s.isFile()) throw notRegularFile(file, target, kindOf(s))
    return nodeFs.readFileSync(fd)
  } finally {
    nodeFs.closeSync(fd)
  }
}

/** Reads the state file `file`: its `StatInfo` (undefined: no file), then the bytes of its target (undefined: it vanished). */
export interface StateFileReader {
  readonly stat: Effect.Effect<StatInfo | undefined, unknown>
  readonly readBytes: (target: string) => Effect.Effect<Buffer | undefined, unknown>
}

/** With synchronous node:fs calls (see the module comment). */
export const hostReader = (file: string): StateFileReader => ({
  stat: Effect.try({ try: () => statSync(file), catch: (error) => error }),
  readBytes: (target) => Effect.try({ try: () => readBytesSync(file, target), catch: (error) => error })
})

const isNotFoundError = (error: PlatformError.PlatformError): boolean =>
  error._tag === "SystemError" && error.reason === "NotFound"

const fileKind = (type: FileSystem.File.Type): string =>
  type === "FIFO"
    ? "a FIFO (named pipe)"
    : type === "Directory"
    ? "a directory"
    : type === "CharacterDevice"
    ? "a character device"
    : type === "BlockDevice"
    ? "a block device"
    : type === "Socket"
    ? "a socket"
    : "not a regular file"

/** Through `fs`'s methods only (see the module comment). */
export const fileSystemReader = (fs: FileSystem.FileSystem, file: string): StateFileReader => ({
  stat: Effect.gen(function*() {
    // A link (readLink succeeds) is followed to its final target; anything else is read as is.
    const pointsTo = yield* Effect.option(fs.readLink(file))
    const target = Option.isNone(pointsTo)
      ? file
      : yield* fs.realPath(file).pipe(
        Effect.mapError((error) => (isNotFoundError(error) ? danglingLink(pointsTo.value) : error))
      )
    const info = yield* fs.stat(target).pipe(Effect.map(Option.some), Effect.catchIf(isNotFoundError, () => Effect.succeedNone))
    if (Option.isNone(info)) {
      if (target === file) return undefined
      return yield* Effect.fail(danglingLink(Option.getOrElse(pointsTo, () => target)))
    }
    if (info.value.type !== "File") return yield* Effect.fail(notRegularFile(file, target, fileKind(info.value.type)))
    const mtimeMs = Option.match(info.value.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })
    const ino = Option.getOrElse(info.value.ino, () => 0)
    return { target, stamp: `${ino}:${info.value.size}:${mtimeMs}`, ctimeMs: mtimeMs } satisfies StatInfo
  }),
  readBytes: (target) =>
    fs.readFile(target).pipe(
      Effect.map((bytes): Buffer | undefined => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      Effect.catchIf((error) => isNotFoundError(error) && target === file, () => Effect.succeed(undefined))
    )
})

/** The reader for the FileSystem the store is given. */
export const readerFor = (fs: FileSystem.FileSystem, file: string): StateFileReader =>
  SyncFileSystem.readsHostFiles(fs) ? hostReader(file) : fileSystemReader(fs, file)
