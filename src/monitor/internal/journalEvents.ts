/**
 * The journal entries (issue 14) of what the supervisor did, as pure functions of what it
 * recorded: a cycle's deaths, restarts and health changes come from the commit of its locked
 * write (`Supervision.CycleCommit`: the truth of what the state file now says), its backoff
 * waits and give-ups from its decision (they live in the monitor's memory, not in the file).
 */
import { about, destroyed, died, type NewBoxEvent } from "../../domain/BoxEvent.js"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import * as RestartPolicy from "../../domain/RestartPolicy.js"
import * as Supervision from "../../domain/Supervision.js"

export { died }

/** The output of a failed probe, as much of its tail as a journal line should carry. */
export const OUTPUT_TAIL_CHARS = 512

const tail = (text: string): string => text.length <= OUTPUT_TAIL_CHARS ? text : text.slice(-OUTPUT_TAIL_CHARS)

/** A restart the monitor recorded (`box` as recorded: its `restart_count` is the attempt), then its start. */
export const restarted = (box: BoxRecord, reason: Supervision.RestartReason): ReadonlyArray<NewBoxEvent> => [
  { type: "restart", ...about(box), reason: Supervision.journalReason(reason), attempt: box.restart_count },
  { type: "start", ...about(box), pid: box.pid }
]

export const backoff = (box: BoxRecord, until: number, attempt: number): NewBoxEvent => ({
  type: "backoff",
  ...about(box),
  until: Supervision.timestamp(until),
  attempt
})

/** The restarts the policy allowed: `on-failure:N`'s N, else `max_restart_count`. */
export const restartLimit = (box: BoxRecord): number => {
  const policy = RestartPolicy.fromRecord(box.restart_policy)
  return policy._tag === "OnFailure" && policy.maxRetries !== null && box.restart_count >= policy.maxRetries
    ? policy.maxRetries
    : box.max_restart_count
}

export const gaveUp = (box: BoxRecord): NewBoxEvent => ({
  type: "gave-up",
  ...about(box),
  restarts: box.restart_count,
  limit: restartLimit(box)
})

/** A health status change; `output` is the tail of the last failed probe's output, when it failed. */
export const healthChanged = (change: Supervision.HealthChange, output: string | undefined): NewBoxEvent => ({
  type: "health_status",
  ...about(change.box),
  from: change.from,
  to: change.to,
  ...(output === undefined || change.to === "healthy" ? {} : { output: tail(output) })
})

/**
 * What a cycle's write recorded, in the order it happened: deaths (and `--rm` removals: a death,
 * then the record's end), health changes, then the restarts (each with the reason it was
 * decided for; `reasons` by box id).
 */
export const ofCommit = (
  commit: Supervision.CycleCommit,
  reports: ReadonlyArray<Supervision.ProbeReport>,
  reasons: ReadonlyMap<string, Supervision.RestartReason>
): ReadonlyArray<NewBoxEvent> => {
  const events: Array<NewBoxEvent> = []
  for (const box of commit.died) events.push(died(box))
  for (const box of commit.removed) events.push(died(box), destroyed(box))
  if (commit.healthChanges.length > 0) {
    const output = new Map<string, string>()
    for (const report of [...reports].sort((a, b) => a.at - b.at)) {
      if (report.verdict === "failed" && report.output !== undefined) output.set(report.box.id, report.output)
    }
    for (const change of commit.healthChanges) events.push(healthChanged(change, output.get(change.box.id)))
  }
  for (const outcome of commit.outcomes) {
    if (outcome._tag !== "Recorded") continue
    events.push(...restarted(outcome.box, reasons.get(outcome.box.id) ?? "dead"))
  }
  return events
}
