import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** Whether the poll loop is keeping up: what `/healthz` and `a3s_box_monitor_up` say. */
export interface Staleness {
  /** The last completed cycle (or, before the first one, the monitor's start) is within the threshold. */
  readonly up: boolean
  /** Whether any cycle has completed yet. */
  readonly polled: boolean
  /** Seconds since the last completed cycle, or since the monitor started if none has. Never negative. */
  readonly secondsSinceLastPoll: number
  readonly thresholdSeconds: number
}

/**
 * The staleness verdict at `now` (epoch ms). Before the first cycle completes the
 * monitor's start time stands in for it, so a monitor that has just started is up,
 * and one whose first cycle hangs goes down once the threshold has passed.
 */
export const assess = (input: {
  readonly lastCycleCompletedAt: Option.Option<number>
  readonly startedAt: number
  readonly now: number
  readonly threshold: Duration.Duration
}): Staleness => {
  const since = Option.getOrElse(input.lastCycleCompletedAt, () => input.startedAt)
  const secondsSinceLastPoll = Math.max(0, input.now - since) / 1000
  const thresholdSeconds = Duration.toMillis(input.threshold) / 1000
  return {
    up: secondsSinceLastPoll <= thresholdSeconds,
    polled: Option.isSome(input.lastCycleCompletedAt),
    secondsSinceLastPoll,
    thresholdSeconds
  }
}

const seconds = (s: number): string => `${Math.floor(s)}s`

/** The `/healthz` body: exactly `ok\n` when up, else how stale the loop is. */
export const healthzBody = (staleness: Staleness): string => {
  if (staleness.up) return "ok\n"
  const threshold = `threshold ${seconds(staleness.thresholdSeconds)}`
  return staleness.polled
    ? `stale: the last poll cycle completed ${seconds(staleness.secondsSinceLastPoll)} ago (${threshold})\n`
    : `stale: no poll cycle has completed in the ${
      seconds(staleness.secondsSinceLastPoll)
    } since the monitor started (${threshold})\n`
}
