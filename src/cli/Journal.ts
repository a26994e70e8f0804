import * as Effect from "effect/Effect"
import { about, type NewBoxEvent } from "../domain/BoxEvent.js"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { EventJournal } from "../events/EventJournal.js"

/**
 * What the box commands tell the event journal (issue 14), each once its state write has
 * succeeded: the entries, built from the records as written, and `append` (never fails).
 */

export { destroyed, died } from "../domain/BoxEvent.js"

export const created = (box: BoxRecord): NewBoxEvent => ({ type: "create", ...about(box), cmd: box.cmd })
export const started = (box: BoxRecord): NewBoxEvent => ({ type: "start", ...about(box), pid: box.pid })
export const stopped = (box: BoxRecord): NewBoxEvent => ({ type: "stop", ...about(box), exit_code: box.exit_code })
/** A `restart` by the user; `attempt` counts its manual restarts (the record's `restarts_by_reason.manual`). */
export const restarted = (box: BoxRecord, attempt: number): NewBoxEvent => ({
  type: "restart",
  ...about(box),
  reason: "manual",
  attempt
})

export const append = (events: ReadonlyArray<NewBoxEvent>): Effect.Effect<void, never, EventJournal> =>
  Effect.flatMap(EventJournal, (journal) => journal.append(events))
