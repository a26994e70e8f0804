import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { type BoxEvent, type EventType, eventTypes } from "./BoxEvent.js"

/*
 * The configuration of the monitor's event hooks (`--on-event CMD`, issue 14): which commands
 * run, for which events, how long each may take and how many run at once. A plain value, part
 * of `MonitorConfigShape`; the runner is src/events/EventHooks.ts.
 */

/**
 * One accepted `--on-event-filter` value: an event type (`BoxEvent.eventTypes`), or `unhealthy`,
 * which means a `health_status` event whose `to` is `unhealthy` (the one health change worth
 * waking someone for; `health_status` takes every change).
 */
export type HookFilter = EventType | "unhealthy"

export const HOOK_FILTERS: ReadonlyArray<HookFilter> = ["unhealthy", ...eventTypes]

/** The events hooks run for when `--on-event-filter` is not given. */
export const DEFAULT_FILTER: ReadonlyArray<HookFilter> = ["die", "restart", "unhealthy", "gave-up"]

export interface EventHooksConfig {
  /** The `--on-event` commands, each run by `sh -c`; none: the hooks are off. */
  readonly commands: ReadonlyArray<string>
  /** Which events run them (`--on-event-filter`). */
  readonly filter: ReadonlyArray<HookFilter>
  /** A hook run longer than this has its process group killed (`--on-event-timeout`, default 10 s). */
  readonly timeout: Duration.Duration
  /** At most this many hook runs at once (`--on-event-concurrency`, default 4); the rest queue. */
  readonly concurrency: number
}

export const DEFAULT_TIMEOUT_SECS = 10
export const DEFAULT_CONCURRENCY = 4

export const defaults: EventHooksConfig = {
  commands: [],
  filter: DEFAULT_FILTER,
  timeout: Duration.seconds(DEFAULT_TIMEOUT_SECS),
  concurrency: DEFAULT_CONCURRENCY
}

/**
 * Parses `--on-event-filter` (`die,restart,unhealthy`): comma-separated, blanks around the commas
 * ignored, duplicates dropped. An unknown or empty value is an error naming it and listing the
 * accepted ones.
 */
export const parseFilter = (text: string): Either.Either<ReadonlyArray<HookFilter>, string> => {
  const values = text.split(",").map((v) => v.trim())
  const accepted = `accepted: ${HOOK_FILTERS.join(", ")}`
  if (values.every((v) => v === "")) return Either.left(`--on-event-filter is empty (${accepted})`)
  const unknown = values.filter((v) => !(HOOK_FILTERS as ReadonlyArray<string>).includes(v))
  if (unknown.length > 0) {
    const named = unknown.map((v) => (v === "" ? "an empty value" : `'${v}'`)).join(", ")
    return Either.left(`--on-event-filter: unknown event ${named} (${accepted})`)
  }
  return Either.right([...new Set(values as ReadonlyArray<HookFilter>)])
}

/** The filter as `--on-event-filter` text (what `parseFilter` reads back). */
export const formatFilter = (filter: ReadonlyArray<HookFilter>): string => filter.join(",")

/** Whether `event` passes `filter`. */
export const matches = (filter: ReadonlyArray<HookFilter>, event: BoxEvent): boolean =>
  filter.includes(event.type) || (event.type === "health_status" && event.to === "unhealthy" && filter.includes("unhealthy"))
