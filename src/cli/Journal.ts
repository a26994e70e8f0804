import * as Effect from "effect/Effect"
import type { NewBoxEvent } from "../domain/BoxEvent.js"
import type { BoxRecord } from "../domain/BoxRecord.js"
import { signalOfExitCode } from "../domain/ExitSignal.js"
import { EventJournal } from "../events/EventJournal.js"

/**
 * What the box commands tell the event journal (issue 14), each once its state write has
 * succeeded: the entries, built from the records as written, and `append` (never fails).
 */

const about = (box: BoxRecord) => ({ box_id: box.id, box_name: box.name })

export const created = (box: BoxRecord): NewBoxEvent => ({ type: "create", ...about(box), cmd: box.cmd })
export const started = (box: BoxRecord): NewBoxEvent => ({ type: "start", ...about(box), pid: box.pid })
export const stopped = (box: BoxRecord): NewBoxEvent => ({ type: "stop", ...about(box), exit_code: box.exit_code })
export const died = (box: BoxRecord): NewBoxEvent => ({
  type: "die",
  ...about(box),
  exit_code: box.exit_code,
  signal: signalOfExitCode(box.exit_code)
})
/** A `restart` by the user; `attempt` counts its manual restarts (the record's `restarts_by_reason.manual`). */
export const restarted = (box: BoxRecord, attempt: number): NewBoxEvent => ({
  type: "restart",
  ...about(box),
  reason: "manual",
  attempt
})
export const destroyed = (box: BoxRecord): NewBoxEvent => ({ type: "destroy", ...about(box) })

export const append = (events: ReadonlyArray<NewBoxEvent>): Effect.Effect<void, never, EventJournal> =>
  Effect.flatMap(EventJournal, (journal) => journal.append(events))
