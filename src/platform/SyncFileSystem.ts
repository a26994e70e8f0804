/**
 * A `FileSystem` (built with `FileSystem.make`) whose calls on small files are synchronous
 * node:fs calls: access (exists), stat, read, write, open (with writes, fsync), rename, remove,
 * readLink, realPath, readDirectory, chmod. As asynchronous calls, a locked read-modify-write of the state file is
 * a dozen thread-pool round trips, and on a busy machine each one waits for the event loop to
 * be scheduled again (20-30 ms a write instead of a few); synchronous, they take microseconds
 * but for the fsync. Everything else is the `FileSystem` it is built over (@effect/platform-node's).
 * The state store is given this one by the Node stacks, and any other by a test or an embedder.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as nodeFs from "node:fs"
import { errnoCode, errorText } from "./ErrorText.js"

const reasonOf = (code: string | undefined): PlatformError.SystemErrorReason => {
  switch (code) {
    case "ENOENT":
      return "NotFound"
    case "EACCES":
    case "EPERM":
      return "PermissionDenied"
    case "EEXIST":
      return "AlreadyExists"
    case "EISDIR":
    case "ENOTDIR":
    case "ELOOP":
      return "BadResource"
    case "EBUSY":
      return "Busy"
    default:
      return "Unknown"
  }
}

/** A node:fs error as the platform's `SystemError`, as @effect/platform-node reports it. */
const systemError = (method: string, pathOrDescriptor: string | number) => (error: unknown): PlatformError.PlatformError => {
  const syscall = typeof error === "object" && error !== null && "syscall" in error ? String(error.syscall) : undefined
  return new PlatformError.SystemError({
    reason: reasonOf(errnoCode(error)),
    module: "FileSystem",
    method,
    pathOrDescriptor,
    ...(syscall === undefined ? {} : { syscall }),
    description: errorText(error),
    cause: error
  })
}

const sync = <A>(method: string, pathOrDescriptor: string | number, run: () => A): Effect.Effect<A, PlatformError.PlatformError> =>
  Effect.try({ try: run, catch: systemError(method, pathOrDescriptor) })

const fileInfo = (stat: nodeFs.Stats): FileSystem.File.Info => ({
  type: stat.isFile()
    ? "File"
    : stat.isDirectory()
    ? "Directory"
    : stat.isSymbolicLink()
    ? "SymbolicLink"
    : stat.isBlockDevice()
    ? "BlockDevice"
    : stat.isCharacterDevice()
    ? "CharacterDevice"
    : stat.isFIFO()
    ? "FIFO"
    : stat.isSocket()
    ? "Socket"
    : "Unknown",
  mtime: Option.fromNullable(stat.mtime),
  atime: Option.fromNullable(stat.atime),
  birthtime: Option.fromNullable(stat.birthtime),
  dev: stat.dev,
  rdev: Option.some(stat.rdev),
  ino: Option.some(stat.ino),
  mode: stat.mode,
  nlink: Option.some(stat.nlink),
  uid: Option.some(stat.uid),
  gid: Option.some(stat.gid),
  size: FileSystem.Size(stat.size),
  blksize: Option.some(FileSystem.Size(stat.blksize)),
  blocks: Option.some(stat.blocks)
})

/** An open file whose reads, writes and fsync are synchronous calls on its descriptor. */
const openFile = (fd: number, append: boolean): FileSystem.File => {
  let position = 0
  const advance = (n: number) => {
    if (!append) position += n
    return n
  }
  const write = (buffer: Uint8Array) =>
    sync("write", fd, () => advance(nodeFs.writeSync(fd, buffer, 0, buffer.length, append ? null : position)))
  return {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    fd: FileSystem.FileDescriptor(fd),
    stat: sync("stat", fd, () => fileInfo(nodeFs.fstatSync(fd))),
    seek: (offset, from) =>
      Effect.sync(() => {
        position = from === "start" ? Number(offset) : position + Number(offset)
      }),
    sync: sync("sync", fd, () => nodeFs.fsyncSync(fd)),
    read: (buffer) => sync("read", fd, () => FileSystem.Size(advance(nodeFs.readSync(fd, buffer, 0, buffer.length, position)))),
    readAlloc: (size) =>
      sync("readAlloc", fd, () => {
        const buffer = Buffer.alloc(Number(size))
        const n = advance(nodeFs.readSync(fd, buffer, 0, buffer.length, position))
        return n === 0 ? Option.none() : Option.some(buffer.subarray(0, n))
      }),
    truncate: (length) => sync("truncate", fd, () => nodeFs.ftruncateSync(fd, length === undefined ? 0 : Number(length))),
    write: (buffer) => Effect.map(write(buffer), FileSystem.Size),
    writeAll: (buffer) =>
      Effect.gen(function*() {
        let offset = 0
        while (offset < buffer.length) offset += yield* write(buffer.subarray(offset))
      })
  }
}

/**
 * Marks the file systems `make` builds: their files are this host's, read with synchronous
 * node:fs calls. A reader that needs more than `FileSystem` offers (the state store's precise
 * stamp: ctime and nanosecond times; an O_NONBLOCK open) may then make those calls itself,
 * knowing they read the same files; over any other FileSystem it must use its methods only.
 */
const HOST_FILES: unique symbol = Symbol.for("a3s-box/SyncFileSystem/hostFiles")

/** Whether `fs` was built by `make` (its files are this host's, read synchronously). */
export const readsHostFiles = (fs: FileSystem.FileSystem): boolean => (fs as { readonly [HOST_FILES]?: true })[HOST_FILES] === true

/** The synchronous file system over `base` (which does everything not listed above). */
export const make = (base: FileSystem.FileSystem): FileSystem.FileSystem =>
  Object.assign(makeUnmarked(base), { [HOST_FILES]: true as const })

const makeUnmarked = (base: FileSystem.FileSystem): FileSystem.FileSystem =>
  FileSystem.make({
    ...base,
    access: (path, options) =>
      sync("access", path, () =>
        nodeFs.accessSync(
          path,
          (options?.readable === true ? nodeFs.constants.R_OK : 0) | (options?.writable === true ? nodeFs.constants.W_OK : 0)
        )),
    stat: (path) => sync("stat", path, () => fileInfo(nodeFs.statSync(path))),
    readDirectory: (path, options) =>
      sync("readDirectory", path, () => nodeFs.readdirSync(path, { recursive: options?.recursive ?? false }) as Array<string>),
    readFile: (path) => sync("readFile", path, () => new Uint8Array(nodeFs.readFileSync(path))),
    readLink: (path) => sync("readLink", path, () => nodeFs.readlinkSync(path)),
    realPath: (path) => sync("realPath", path, () => nodeFs.realpathSync(path)),
    remove: (path, options) =>
      sync("remove", path, () => nodeFs.rmSync(path, { recursive: options?.recursive ?? false, force: options?.force ?? false })),
    rename: (from, to) => sync("rename", from, () => nodeFs.renameSync(from, to)),
    chmod: (path, mode) => sync("chmod", path, () => nodeFs.chmodSync(path, mode)),
    writeFile: (path, data, options) =>
      sync("writeFile", path, () =>
        nodeFs.writeFileSync(path, data, {
          ...(options?.flag === undefined ? {} : { flag: options.flag }),
          ...(options?.mode === undefined ? {} : { mode: options.mode })
        })),
    open: (path, options) =>
      Effect.acquireRelease(
        Effect.map(
          sync("open", path, () => nodeFs.openSync(path, options?.flag ?? "r", options?.mode)),
          (fd) => openFile(fd, options?.flag?.startsWith("a") ?? false)
        ),
        (file) => Effect.sync(() => nodeFs.closeSync(file.fd))
      )
  })

/** The synchronous file system over @effect/platform-node's. */
export const layer: Layer.Layer<FileSystem.FileSystem> = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, make)
).pipe(Layer.provide(NodeFileSystem.layer))
