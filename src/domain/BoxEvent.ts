import * as Schema from "effect/Schema"
import type { BoxRecord } from "./BoxRecord.js"
import { signalOfExitCode } from "./ExitSignal.js"

/**
 * One entry of the event journal (`<home>/events.jsonl`, issue 14): a change in a box's life,
 * or in the monitor's, as whoever caused it (the monitor, a CLI command) recorded it. One JSON
 * object per line. Every entry has a `seq` that never repeats within a home (assigned by the
 * journal at append), its `time` (RFC 3339, ms), its `type` and that type's own fields; box
 * events name the box (`box_id`, `box_name`). Keys this schema does not know are preserved.
 */
const common = {
  seq: Schema.Number,
  time: Schema.String
}

const aboutBox = {
  box_id: Schema.String,
  box_name: Schema.String
}

const entry = <T extends string, F extends Schema.Struct.Fields>(type: T, fields: F) =>
  Schema.Struct({ ...common, type: Schema.Literal(type), ...fields }).annotations({
    identifier: `BoxEvent.${type}`,
    parseOptions: { onExcessProperty: "preserve" }
  })

export const RestartReason = Schema.Literal("crash", "unhealthy", "manual")
export type RestartReason = typeof RestartReason.Type

export const Create = entry("create", { ...aboutBox, cmd: Schema.Array(Schema.String) })
export const Start = entry("start", { ...aboutBox, pid: Schema.NullOr(Schema.Number) })
/** The box's main process ended: its exit code, or the signal that killed it (either may be unknown). */
export const Die = entry("die", {
  ...aboutBox,
  exit_code: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String)
})
/** A restart was booted; `attempt` counts the restarts of this box (1 for the first). */
export const Restart = entry("restart", { ...aboutBox, reason: RestartReason, attempt: Schema.Number })
/** The next restart waits until `until` (RFC 3339). */
export const Backoff = entry("backoff", { ...aboutBox, until: Schema.String, attempt: Schema.Number })
export const HealthStatusChanged = entry("health_status", {
  ...aboutBox,
  from: Schema.String,
  to: Schema.String,
  /** The tail of the failing check's output, when it failed. */
  output: Schema.optional(Schema.String)
})
export const Stop = entry("stop", { ...aboutBox, exit_code: Schema.NullOr(Schema.Number) })
/** The restart limit (`on-failure:N`) was reached: the box stays dead. */
export const GaveUp = entry("gave-up", { ...aboutBox, restarts: Schema.Number, limit: Schema.Number })
export const Destroy = entry("destroy", aboutBox)
export const MonitorStart = entry("monitor-start", { pid: Schema.Number })
export const MonitorStop = entry("monitor-stop", { pid: Schema.Number })
/** A monitor took over the home's lease from another (`from_pid`, when known). */
export const Takeover = entry("takeover", { pid: Schema.Number, from_pid: Schema.NullOr(Schema.Number) })
export const StateCorrupt = entry("state-corrupt", { detail: Schema.String })
export const StateRecovered = entry("state-recovered", {})

export const BoxEvent = Schema.Union(
  Create,
  Start,
  Die,
  Restart,
  Backoff,
  HealthStatusChanged,
  Stop,
  GaveUp,
  Destroy,
  MonitorStart,
  MonitorStop,
  Takeover,
  StateCorrupt,
  StateRecovered
)
export type BoxEvent = typeof BoxEvent.Type

export type EventType = BoxEvent["type"]

export const eventTypes: ReadonlyArray<EventType> = [
  "create",
  "start",
  "die",
  "restart",
  "backoff",
  "health_status",
  "stop",
  "gave-up",
  "destroy",
  "monitor-start",
  "monitor-stop",
  "takeover",
  "state-corrupt",
  "state-recovered"
]

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** An event as its cause writes it: the journal assigns `seq`, and `time` unless given. */
export type NewBoxEvent = DistributiveOmit<BoxEvent, "seq" | "time"> & { readonly time?: string }

/** Whether the event is about a box (has `box_id` and `box_name`). */
export const isBoxEvent = (event: BoxEvent): event is Extract<BoxEvent, { readonly box_id: string }> =>
  "box_id" in event

/** The fields that name a box in its events. */
export const about = (box: Pick<BoxRecord, "id" | "name">) => ({ box_id: box.id, box_name: box.name })

/**
 * A box's death as recorded (by the monitor, a command's reconcile, an attached `run`): the exit
 * code, and the signal it says (`ExitSignal.signalOfExitCode`: 128 + N).
 */
export const died = (box: BoxRecord): NewBoxEvent => ({
  type: "die",
  ...about(box),
  exit_code: box.exit_code,
  signal: signalOfExitCode(box.exit_code)
})

/** A box's record removed (`rm`, or an `auto_remove` box's death). */
export const destroyed = (box: BoxRecord): NewBoxEvent => ({ type: "destroy", ...about(box) })
