import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { BoxEvent, NewBoxEvent } from "../domain/BoxEvent.js"

/** A time range of the journal, in epoch ms (inclusive); either end open. */
export interface EventRange {
  readonly since?: number
  readonly until?: number
}

/** Whether `event`'s time lies in `range` (both ends inclusive): the one reading of a range, for every journal. */
export const isInRange = (range: EventRange) => (event: BoxEvent): boolean => {
  const at = Date.parse(event.time)
  return (range.since === undefined || at >= range.since) && (range.until === undefined || at <= range.until)
}

/**
 * The event journal of one home (issue 14): appended by every process that changes a box, read
 * by `a3s-box events`, followed by hooks.
 */
export interface EventJournalShape {
  /**
   * Appends `events` in order, each given the next `seq` (and `time`, unless set). Never fails
   * and never waits on another process for long: a failed write (a full disk) is logged,
   * throttled, and counted, and supervision goes on. Callers append after the state write
   * that the events describe, outside any restart's critical path.
   */
  readonly append: (events: ReadonlyArray<NewBoxEvent>) => Effect.Effect<void>
  /** The history in `range`, oldest first, over the rotated files too; a torn line is skipped. */
  readonly read: (range: EventRange) => Stream.Stream<BoxEvent>
  /**
   * The history from `since` on, then every event anyone appends, across rotations, for as long
   * as the stream is consumed.
   */
  readonly follow: (since?: number) => Stream.Stream<BoxEvent>
  /** The events this process appends, as it appends them (hooks run from here). */
  readonly appended: Stream.Stream<BoxEvent>
}

export class EventJournal extends Context.Tag("a3s-box/EventJournal")<EventJournal, EventJournalShape>() {}
