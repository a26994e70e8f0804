import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { BoxRecord } from "../domain/BoxRecord.js"
import type { InvalidRecord } from "../domain/StateFileCodec.js"

/** The state file exists but is not a valid list of box records. It is never overwritten. */
export class StateFileCorrupt extends Data.TaggedError("StateFileCorrupt")<{
  readonly path: string
  readonly detail: string
}> {
  override get message(): string {
    return `state file ${this.path} is corrupt and was left untouched: ${this.detail}. Repair or move it away, then retry.`
  }
}

/** Reading, writing or locking the state file failed at the OS level. */
export class StateFileUnavailable extends Data.TaggedError("StateFileUnavailable")<{
  readonly path: string
  readonly operation: "read" | "write" | "lock"
  readonly cause: unknown
}> {
  override get message(): string {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot ${this.operation} state file ${this.path}: ${reason}`
  }
}

export type StateError = StateFileCorrupt | StateFileUnavailable

/** What the watch of the state file reports (`StateStoreShape.changes`). */
export type StateFileChange = Data.TaggedEnum<{
  /** The file is watched from now on: each write is followed by a `Changed`. */
  Watching: {}
  /** Someone may have written the file (compare `stamp`). */
  Changed: {}
  /** The file cannot be watched, or is watched no more: the last element (poll `stamp` from now on). */
  Unwatched: { readonly reason: string }
}>

export const StateFileChange = Data.taggedEnum<StateFileChange>()

/** The changes of a store that cannot watch its file: poll `stamp`. */
export const unwatchable = (reason: string): Stream.Stream<StateFileChange> =>
  Stream.make(StateFileChange.Unwatched({ reason }))

/** The state could be read but not written (read-only home, no permission, lock unavailable). */
export const isWriteFailure = (error: StateError): error is StateFileUnavailable =>
  error._tag === "StateFileUnavailable" && error.operation !== "read"

/** What `Boxes.load` says (once) when it shows records it reconciled but could not write. */
export const notUpdatedMessage = (error: StateFileUnavailable): string =>
  `Warning: ${error.message}; showing the boxes as reconciled in memory (the file was not updated).`

/**
 * An update of the state: given the current records, returns a result and the new
 * records. Returning the very same array means "no change": nothing is written.
 */
export type StateUpdate<A> = (records: ReadonlyArray<BoxRecord>) => readonly [A, ReadonlyArray<BoxRecord>]

export interface StateStoreShape {
  /** `<home>/boxes.json` */
  readonly path: string
  /** Read-only view: no lock, no reconcile, no write. A missing file is an empty list. */
  readonly snapshot: Effect.Effect<ReadonlyArray<BoxRecord>, StateError>
  /**
   * The elements of the file that are not box records (read-only, like `snapshot`). Updates
   * (`modify`) never see them, and writes keep them as they are, in their place; the monitor
   * does not supervise them.
   */
  readonly invalid: Effect.Effect<ReadonlyArray<InvalidRecord>, StateError>
  /**
   * Locked, atomic read-modify-write. `f` is pure: it may run again (on a fresh read) if the
   * lock was lost before the write, and updates queued at the same time may be applied in one
   * write, in order, each `f` seeing the records the previous one returned. Returning the same
   * array writes nothing.
   */
  readonly modify: <A>(f: StateUpdate<A>) => Effect.Effect<A, StateError>
  /**
   * Optional cheap fingerprint of the state file that changes whenever anyone writes it (e.g.
   * inode, size and mtime from one stat; "" when the file is missing or cannot be stat'ed). No
   * read, no parse, no lock: the monitor polls it on its 100 ms tick to notice other commands'
   * writes (a new box, a stop, a removal) promptly. When absent the monitor sees such changes
   * at its next full cycle only.
   */
  readonly stamp?: Effect.Effect<string>
  /**
   * The state file's changes (e.g. inotify on the home directory), so that a monitor need not
   * poll `stamp`; watched for as long as the stream runs. Its first element says whether the
   * file can be watched: `Watching` (from then on, `Changed` follows soon after anyone may have
   * written the file) or `Unwatched` (it cannot be). `Unwatched` is always the last element: it
   * also ends the stream when watching stops later (the home directory removed, the watch
   * failed). From an `Unwatched` on, a caller polls `stamp`. `Changed` may also come when
   * nothing changed (our own write, another name): compare `stamp`.
   */
  readonly changes: Stream.Stream<StateFileChange>
}

/** The box state of one home (`boxes.json`), shared by the monitor, the CLI and the metrics server. */
export class StateStore extends Context.Tag("a3s-box/StateStore")<StateStore, StateStoreShape>() {}
