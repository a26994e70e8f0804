import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/**
 * Restart backoff of one box (SPEC §5), kept in the monitor's memory and in the box's record
 * (`backoff_failures`, `next_restart_at`: a new monitor resumes it, see `resume`).
 *
 * The waits come from an Effect `Schedule`: `exponential(base)` united with `spaced(cap)`
 * (a union takes the shorter delay), so 1, 2, 4, 8, 16, 32, 60, 60, ... s with the
 * defaults, never giving up. The state machine around it is pure: each function takes
 * the box's current backoff (or `undefined` for a box with none, whose next restart is
 * immediate) and the time, and returns what to do and the next state. The schedule is
 * stepped once per failed restart; a restart fails when the boot fails or the box dies
 * again before it has been up for `reset`.
 */

export interface BackoffConfig {
  /** First wait after a failed restart; doubles per further failure. */
  readonly base: Duration.DurationInput
  /** Waits never exceed this. */
  readonly cap: Duration.DurationInput
  /** A box up this long counts as recovered: its next crash is restarted at once. */
  readonly reset: Duration.DurationInput
}

export const defaultConfig: BackoffConfig = { base: "1 second", cap: "60 seconds", reset: "30 seconds" }

/** A box's own first wait and/or cap (`run --restart-delay/--restart-max-delay`), instead of the monitor's. */
export type Bounds = Partial<Pick<BackoffConfig, "base" | "cap">>

/** The waits between restart attempts of a box that keeps failing: its n-th output is the wait after the n-th failure. */
export const schedule = (config: Pick<BackoffConfig, "base" | "cap">): Schedule.Schedule<Duration.Duration> =>
  Schedule.delays(Schedule.union(Schedule.exponential(config.base), Schedule.spaced(config.cap)))

/** The first `n` waits of the schedule (for documentation and tests). */
export const delays = (config: Pick<BackoffConfig, "base" | "cap">, n: number): ReadonlyArray<Duration.Duration> =>
  Array.from(Effect.runSync(Schedule.run(schedule(config), 0, Array.from({ length: n }, () => undefined))))

export type Phase =
  /** Restarted by the monitor at `since` (epoch ms); a death before `since + reset` is a failure. */
  | { readonly _tag: "Up"; readonly since: number }
  /** No restart before `until` (epoch ms). `announced`: the wait has been logged. */
  | { readonly _tag: "Waiting"; readonly until: number; readonly announced: boolean }

export interface Backoff {
  /** Consecutive failed restarts. */
  readonly failures: number
  /** The schedule's own state; opaque. */
  readonly scheduleState: unknown
  readonly phase: Phase
}

/** What the backoff says about a box that needs a restart now. */
export type Decision =
  | { readonly _tag: "RestartNow"; readonly next: Backoff | undefined }
  | {
    readonly _tag: "Wait"
    readonly until: number
    readonly remaining: Duration.Duration
    /** True the first time this wait is seen: log it once, not on every check. */
    readonly announce: boolean
    readonly next: Backoff
  }

/**
 * The pure state machine, bound to one configuration. The schedule is stepped with
 * `Effect.runSync`: exponential and spaced schedules step synchronously and without
 * services, so this stays a plain function.
 */
export interface Machine {
  readonly config: BackoffConfig
  /**
   * A box needs a restart (it is dead, or must be restarted because it is unhealthy). `bounds`:
   * the box's own, if it has them (else the machine's); a box's bounds never change.
   */
  readonly decide: (current: Backoff | undefined, now: number, bounds?: Bounds) => Decision
  /** The restart booted and was recorded at `now`. */
  readonly booted: (current: Backoff | undefined, now: number) => Backoff
  /** The restart attempt at `now` failed (boot or record failed): wait before the next one. */
  readonly attemptFailed: (
    current: Backoff | undefined,
    now: number,
    bounds?: Bounds
  ) => { readonly wait: Duration.Duration; readonly next: Backoff }
  /** The box was seen running at `now`: after `reset` of running, its backoff is forgotten. */
  readonly running: (current: Backoff | undefined, now: number) => Backoff | undefined
  /**
   * The backoff a new monitor reads back from a record: `failures` failed restarts so far (the
   * schedule stepped as many times), in `phase` (a wait announced by the monitor before it is
   * logged again: `announced` false).
   */
  readonly resume: (failures: number, phase: Phase, bounds?: Bounds) => Backoff
}

export const machine = (config: BackoffConfig = defaultConfig): Machine => {
  const own = schedule(config)
  // One schedule per distinct pair of box bounds (a handful in practice), made on first use.
  const byBounds = new Map<string, Schedule.Schedule<Duration.Duration>>()
  const scheduleOf = (bounds: Bounds | undefined) => {
    if (bounds === undefined || (bounds.base === undefined && bounds.cap === undefined)) return own
    const base = bounds.base ?? config.base
    const cap = bounds.cap ?? config.cap
    const key = `${Duration.toMillis(base)}/${Duration.toMillis(cap)}`
    let sched = byBounds.get(key)
    if (sched === undefined) byBounds.set(key, sched = schedule({ base, cap }))
    return sched
  }
  const resetMillis = Duration.toMillis(config.reset)

  const fail = (current: Backoff | undefined, now: number, announced: boolean, bounds: Bounds | undefined) => {
    const sched = scheduleOf(bounds)
    const [scheduleState, wait] = Effect.runSync(
      sched.step(now, undefined, current === undefined ? sched.initial : current.scheduleState)
    )
    const next: Backoff = {
      failures: (current?.failures ?? 0) + 1,
      scheduleState,
      phase: { _tag: "Waiting", until: now + Duration.toMillis(wait), announced }
    }
    return { wait, next }
  }

  const decide = (current: Backoff | undefined, now: number, bounds?: Bounds): Decision => {
    if (current === undefined) return { _tag: "RestartNow", next: undefined }
    const phase = current.phase
    if (phase._tag === "Up") {
      // Up long enough: this crash is a new story and is restarted at once.
      if (now - phase.since >= resetMillis) return { _tag: "RestartNow", next: undefined }
      const { next, wait } = fail(current, now, true, bounds)
      return { _tag: "Wait", until: now + Duration.toMillis(wait), remaining: wait, announce: true, next }
    }
    if (now >= phase.until) return { _tag: "RestartNow", next: current }
    return {
      _tag: "Wait",
      until: phase.until,
      remaining: Duration.millis(phase.until - now),
      announce: !phase.announced,
      next: phase.announced ? current : { ...current, phase: { ...phase, announced: true } }
    }
  }

  return {
    config,
    decide,
    booted: (current, now) => ({
      failures: current?.failures ?? 0,
      scheduleState: current === undefined ? own.initial : current.scheduleState,
      phase: { _tag: "Up", since: now }
    }),
    attemptFailed: (current, now, bounds) => fail(current, now, true, bounds),
    running: (current, now) =>
      current !== undefined && current.phase._tag === "Up" && now - current.phase.since >= resetMillis
        ? undefined
        : current,
    resume: (failures, phase, bounds) => {
      const sched = scheduleOf(bounds)
      let scheduleState = sched.initial
      // Past the cap every step is the same: stepping more changes nothing the waits show.
      for (let i = 0; i < Math.min(failures, 64); i++) scheduleState = Effect.runSync(sched.step(0, undefined, scheduleState))[0]
      return { failures, scheduleState, phase }
    }
  }
}

/** Whole seconds, rounded up, for log lines (`backing off (3s remaining)`). */
export const formatSeconds = (duration: Duration.Duration): string => `${seconds(duration)}s`

/** Whole seconds, rounded up (what log lines say: `next retry in 2s`). */
export const seconds = (duration: Duration.Duration): number => Math.max(0, Math.ceil(Duration.toMillis(duration) / 1000))
