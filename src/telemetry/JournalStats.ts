/**
 * The event journal's own metric (issue 14), as an Effect `Metric` in the process's registry:
 * the journal (src/events/NodeEventJournal.ts) increments it, `/metrics` renders it. Lives below
 * both (src/telemetry), as MonitorStats.ts does.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

/** Appends that failed (the events were not written) since this process started. */
export const writeFailures = Metric.counter("a3s_box_journal_write_failures_total", {
  description: "Event journal appends that failed (the events were not written: a full disk, a read-only home)."
})

/** The count so far, for `/metrics`. */
export const writeFailureCount: Effect.Effect<number> = Effect.map(Metric.value(writeFailures), (state) => state.count)
