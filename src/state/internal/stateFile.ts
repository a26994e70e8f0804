/**
 * The synchronous reads of the state file (see NodeStateStore.ts for why synchronous). Only
 * ENOENT of `boxes.json` itself means "no boxes yet". A symbolic link is followed to a regular
 * file (reads and writes go to its target, so the link stays a link); a dangling link, a FIFO,
 * a directory or a device is an error that names the path, and nothing is written. The file is
 * opened with O_NONBLOCK and checked with fstat before it is read, so that a FIFO put there
 * between the stat and the open cannot block the event loop. These functions throw; the store
 * turns what they throw into `StateFileUnavailable`.
 */
import * as nodeFs from "node:fs"
import { errorText, isNotFound } from "../../platform/ErrorText.js"

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
        ? `it is a symbolic link to ${pointsTo}, which does not exist; nothing was read or written. Restore ${pointsTo} or remove the link, then retry`
        : `it is a symbolic link to ${pointsTo}, which cannot be followed (${errorText(error)}); nothing was read or written`
    )
  }
}

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

const notRegularFile = (file: string, target: string, s: nodeFs.BigIntStats): Error =>
  new Error(
    `${target === file ? "it" : `its target ${target}`} is ${kindOf(s)}, not a regular file; nothing was read or written. Move it away, then retry`
  )

export interface StatInfo {
  /** The path to read and write: the file, or the final target of a link. */
  readonly target: string
  /** Inode, size, mtime and ctime (ns): changes whenever anyone writes the file. */
  readonly stamp: string
  readonly ctimeMs: number
}

/** The state file's `StatInfo`, or undefined when it does not exist. */
export const stat = (file: string): StatInfo | undefined => {
  const link = nodeFs.lstatSync(file, { bigint: true, throwIfNoEntry: false })
  if (link === undefined) return undefined
  let target = file
  let s = link
  if (link.isSymbolicLink()) {
    target = resolveLink(file)
    s = nodeFs.statSync(target, { bigint: true })
  }
  if (!s.isFile()) throw notRegularFile(file, target, s)
  return { target, stamp: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, ctimeMs: Number(s.ctimeNs / 1_000_000n) }
}

/** The bytes of `target` (the file or its link's target), or undefined if the file itself vanished since it was stat'ed. */
export const readBytes = (file: string, target: string): Buffer | undefined => {
  let fd: number
  try {
    fd = nodeFs.openSync(target, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK)
  } catch (error) {
    if (isNotFound(error) && target === file) return undefined
    throw error
  }
  try {
    const s = nodeFs.fstatSync(fd, { bigint: true })
    if (!s.isFile()) throw notRegularFile(file, target, s)
    return nodeFs.readFileSync(fd)
  } finally {
    nodeFs.closeSync(fd)
  }
}
