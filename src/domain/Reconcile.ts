import { type BoxRecord, isActive, markDead } from "./BoxRecord.js"

/**
 * What was observed about one active box's process (SPEC §3), for the incarnation
 * identified by `pid` / `pidStartTime`. An observation only applies to a record that
 * still has that same pid and start time: a box restarted since it was taken (new pid)
 * is left alone.
 */
export interface Liveness {
  readonly pid: number | null
  readonly pidStartTime: number | null
  readonly alive: boolean
  /** The code found in the box's exit-code file, null when there is none. Only read for dead boxes. */
  readonly exitCode: number | null
}

/** Liveness answers, keyed by box id. */
export type Observations = ReadonlyMap<string, Liveness>

export interface ReconcileResult {
  /** The new records. The very same array as the input when nothing changed. */
  readonly records: ReadonlyArray<BoxRecord>
  readonly changed: boolean
  /** Boxes found dead and kept as `dead` records (their new state). */
  readonly died: ReadonlyArray<BoxRecord>
  /** Boxes found dead and removed because of `auto_remove` (their last state). */
  readonly removed: ReadonlyArray<BoxRecord>
}

/** Whether an observation was taken for the record's current incarnation. */
export const observes = (box: Pick<BoxRecord, "pid" | "pid_start_time">, liveness: Liveness): boolean =>
  box.pid === liveness.pid && box.pid_start_time === liveness.pidStartTime

/** The boxes whose liveness a reconcile needs: the active ones (`running`, `paused`). */
export const needsLivenessCheck = (box: BoxRecord): boolean => isActive(box)

/**
 * SPEC §3, pure: every active box observed dead (for its current incarnation) becomes
 * `dead` (`pid` and `pid_start_time` null, `health_status` "none", `health_retries` 0,
 * `exit_code` from the exit-code file when it is unknown; with `at`, the time the death is
 * recorded, `last_exit` too), or is removed when it has `auto_remove`. Active boxes without an observation, and inactive boxes, are unchanged.
 */
export const reconcile = (records: ReadonlyArray<BoxRecord>, observations: Observations, at?: number): ReconcileResult => {
  // Only a death changes anything: with none observed, nothing need be looked at.
  let anyDead = false
  for (const liveness of observations.values()) {
    if (!liveness.alive) {
      anyDead = true
      break
    }
  }
  if (!anyDead) return { records, changed: false, died: [], removed: [] }
  const died: Array<BoxRecord> = []
  const removed: Array<BoxRecord> = []
  const next: Array<BoxRecord> = []
  for (const box of records) {
    const liveness = observations.get(box.id)
    if (!isActive(box) || liveness === undefined || liveness.alive || !observes(box, liveness)) {
      next.push(box)
      continue
    }
    if (box.auto_remove) {
      removed.push(box)
      continue
    }
    const dead = markDead(box, liveness.exitCode, at)
    died.push(dead)
    next.push(dead)
  }
  const changed = died.length > 0 || removed.length > 0
  return { records: changed ? next : records, changed, died, removed }
}
