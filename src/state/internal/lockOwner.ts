/**
 * The owner file of a FileLock (`<lockPath>.owner`) and what it says: the token a holder writes
 * right after acquiring, whether the holder of a lock found held is gone (`ownerVerdict`), and
 * the safe take-over of an abandoned lock directory. See FileLock.ts for why.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import { isGoneState, type ProcessInfo, readProcessInfo } from "../../platform/ProcessInfo.js"

export const ownerPath = (lockPath: string) => `${lockPath}.owner`

// The owner file is a few bytes next to the lock: read and written synchronously (tens of
// microseconds), which keeps thread-pool round trips out of the critical section.
export const readOwner = (lockPath: string): string => {
  try {
    return fs.readFileSync(ownerPath(lockPath), "utf8")
  } catch {
    return ""
  }
}

/** What an owner file says about the holder of the lock. */
export interface Owner {
  readonly pid: number
  /** The holder's start-time identity (ProcessInfo.startTime). */
  readonly startTime: number
  readonly host: string
  /** The lock directory the token was written for (`lockIdOf`). */
  readonly lockId: string
}

const TOKEN_VERSION = "v2"

/** The owner file's content: `pid:nonce:v2:startTime:lockId:host` (the pid first, as error messages read it). */
export const formatToken = (owner: Owner, nonce: string): string =>
  [owner.pid, nonce, TOKEN_VERSION, owner.startTime, owner.lockId, encodeURIComponent(owner.host)].join(":")

/** The owner a token names, or none for anything else (an older token, a file half written). */
export const parseToken = (token: string): Option.Option<Owner> => {
  const parts = token.split(":")
  if (parts.length !== 6 || parts[2] !== TOKEN_VERSION) return Option.none()
  const [pid, , , startTime, lockId, host] = parts as [string, string, string, string, string, string]
  if (!/^[0-9]+$/.test(pid) || !/^[0-9]+$/.test(startTime) || lockId === "") return Option.none()
  try {
    return Option.some({ pid: Number(pid), startTime: Number(startTime), lockId, host: decodeURIComponent(host) })
  } catch {
    return Option.none()
  }
}

/** The identity of a lock directory: its inode and birth time (a directory made again gets a new one). */
export const lockIdOf = (stats: Pick<fs.BigIntStats, "ino" | "birthtimeNs">): string => `${stats.ino}-${stats.birthtimeNs}`

/**
 * Whether a held lock was abandoned: its owner file was written for this very lock directory,
 * on this host, by a process that is gone (none by that pid, a zombie, or a pid reused by a
 * process with another start time). "unknown" keeps the stale rule.
 */
export const ownerVerdict = (input: {
  readonly owner: Option.Option<Owner>
  readonly lockId: string | undefined
  readonly host: string
  readonly process: Option.Option<Pick<ProcessInfo, "state" | "startTime">>
}): "abandoned" | "alive" | "unknown" => {
  if (Option.isNone(input.owner)) return "unknown"
  const owner = input.owner.value
  if (owner.host !== input.host || input.lockId === undefined || owner.lockId !== input.lockId) return "unknown"
  return Option.match(input.process, {
    onNone: () => "abandoned",
    onSome: (p) => (isGoneState(p.state) || p.startTime !== owner.startTime ? "abandoned" : "alive")
  })
}

/** The `lockIdOf` of the directory `dir`, or undefined when it cannot be stat'ed. */
export const statLockId = (dir: string): string | undefined => {
  try {
    return lockIdOf(fs.statSync(dir, { bigint: true }))
  } catch {
    return undefined
  }
}

/** An owner found alive is asked about again after this long (off Linux, asking runs `ps`). */
const ALIVE_RECHECK_MS = 1_000

/**
 * The lock as a waiter sees it: is it abandoned, and which directory was looked at. `judged`
 * remembers the last owner found alive, so that a waiter polling a live holder's lock does not
 * ask about that process at every attempt.
 */
export const inspectHeld = (
  lockPath: string,
  judged: { alive?: { readonly token: string; readonly lockId: string; readonly at: number } }
): Effect.Effect<{ readonly verdict: ReturnType<typeof ownerVerdict>; readonly lockId: string | undefined }> =>
  Effect.gen(function*() {
    const lockId = statLockId(lockPath)
    const token = readOwner(lockPath)
    const now = yield* Clock.currentTimeMillis
    const last = judged.alive
    if (last !== undefined && last.token === token && last.lockId === lockId && now - last.at < ALIVE_RECHECK_MS) {
      return { verdict: "alive" as const, lockId }
    }
    const owner = parseToken(token)
    const info = Option.isSome(owner) && lockId !== undefined && owner.value.lockId === lockId
      ? yield* readProcessInfo(owner.value.pid)
      : Option.none()
    const verdict = ownerVerdict({ owner, lockId, host: os.hostname(), process: info })
    if (verdict === "alive" && lockId !== undefined) judged.alive = { token, lockId, at: now }
    return { verdict, lockId }
  })

/**
 * Removes the abandoned lock directory `lockId`, safely against other waiters doing the same:
 * the directory is first renamed aside (atomic: of two waiters, one gets it), then checked to be
 * the abandoned one. If it is not (another waiter took the lock over and its new holder's
 * directory was the one renamed), it is put back; were that to fail, its holder finds its lock
 * lost at `verify` and starts over, as after any take-over. True when the abandoned lock is gone.
 */
export const takeOver = (lockPath: string, lockId: string): boolean => {
  const aside = `${lockPath}.abandoned-${randomBytes(6).toString("hex")}`
  try {
    fs.renameSync(lockPath, aside)
  } catch {
    return false
  }
  if (statLockId(aside) === lockId) {
    fs.rmSync(aside, { recursive: true, force: true })
    return true
  }
  try {
    if (!fs.existsSync(lockPath)) fs.renameSync(aside, lockPath)
  } catch {
    // see above
  }
  fs.rmSync(aside, { recursive: true, force: true })
  return false
}
