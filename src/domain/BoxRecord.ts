import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { signalOfExitCode } from "./ExitSignal.js"
import { HealthCheck } from "./HealthCheck.js"

/**
 * How the box's last run ended (issue 14): its exit code, the signal that killed it when the
 * code says so (see `ExitSignal.signalOfExitCode`), and when the death was recorded (RFC 3339).
 */
export const LastExit = Schema.Struct({
  code: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  at: Schema.String
})
export type LastExit = typeof LastExit.Type

/** The restarts of a box by what caused them (issue 14). `crash + unhealthy` is `restart_count`. */
export const RestartsByReason = Schema.Struct({
  crash: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  unhealthy: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  manual: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
export type RestartsByReason = typeof RestartsByReason.Type

/**
 * One box as recorded in `boxes.json` (SPEC §2). Snake_case keys, as the original
 * a3s-box writes them. Every key this schema does not know is preserved on decode
 * and written back on encode.
 */
export const BoxRecord = Schema.Struct({
  id: Schema.String,
  short_id: Schema.String,
  name: Schema.String,
  /** `created`, `running`, `paused`, `stopped`, `dead`, or anything another tool wrote. */
  status: Schema.String,
  pid: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  pid_start_time: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  cmd: Schema.Array(Schema.String),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  /**
   * The base variables (PATH, HOME, ...) of the environment `run` was called in, fixed at creation;
   * `env` goes on top at every boot (see BoxEnvironment). Null: a record of an older tool.
   */
  base_env: Schema.optionalWith(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String })), {
    default: () => null
  }),
  box_dir: Schema.String,
  console_log: Schema.String,
  workdir: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  created_at: Schema.String,
  started_at: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  auto_remove: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  restart_policy: Schema.optionalWith(Schema.String, { default: () => "no" }),
  max_restart_count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  restart_count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  stopped_by_user: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  exit_code: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  health_check: Schema.optionalWith(Schema.NullOr(HealthCheck), { default: () => null }),
  healthcheck_disabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  health_status: Schema.optionalWith(Schema.String, { default: () => "none" }),
  health_retries: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  health_last_check: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  stop_signal: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  stop_timeout: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  /**
   * Issue 14's additions: absent from older records (and from the original a3s-box's), and
   * left absent until there is something to say, so a record nobody restarted is written
   * back as it was read. Read them through `lastExitOf` / `restartsByReasonOf`.
   */
  last_exit: Schema.optional(Schema.NullOr(LastExit)),
  restarts_by_reason: Schema.optional(RestartsByReason),
  /**
   * When the monitor will next try to restart this dead box (RFC 3339), written with the death
   * or the failed boot that started its backoff wait; gone once it is restarted. A time in the
   * past means nothing (a monitor that died meanwhile): read it through `nextRestartOf`.
   */
  next_restart_at: Schema.optional(Schema.String),
  /**
   * Issue 15: the box's backoff position, consecutive failed restarts (SPEC §5), written by the
   * monitor with each restart it records and each wait it announces, so that a new monitor (a
   * restarted one, a standby taking over) continues the backoff instead of starting it over.
   * Absent: none (see SupervisorState's `resumeBackoffs`).
   */
  backoff_failures: Schema.optional(Schema.Number),
  /** `run --restart-delay` / `--restart-max-delay` (seconds): the box's first backoff wait and cap; absent: the monitor's (1 and 60). */
  restart_delay_secs: Schema.optional(Schema.Number),
  restart_max_delay_secs: Schema.optional(Schema.Number),
  /** `run --log-max-size` (bytes) / `--log-max-files`: its console log's cap (see LogLimits); absent: 10 MiB × 3. */
  log_max_size: Schema.optional(Schema.Number),
  log_max_files: Schema.optional(Schema.Number)
}).annotations({ identifier: "BoxRecord", parseOptions: { onExcessProperty: "preserve" } })

export type BoxRecord = typeof BoxRecord.Type

export const DEFAULT_STOP_SIGNAL = "SIGTERM"
export const DEFAULT_STOP_TIMEOUT_SECS = 10

/** `running` and `paused` boxes are active (defined with the other status predicates). */
export { isActive } from "./BoxStatus.js"

/** Whether the box's health check is in force. */
export const hasHealthCheck = (box: Pick<BoxRecord, "health_check" | "healthcheck_disabled">): boolean =>
  box.health_check !== null && !box.healthcheck_disabled

export const stopSignal = (box: Pick<BoxRecord, "stop_signal">): string => box.stop_signal ?? DEFAULT_STOP_SIGNAL

export const stopTimeoutSecs = (box: Pick<BoxRecord, "stop_timeout">): number =>
  box.stop_timeout ?? DEFAULT_STOP_TIMEOUT_SECS

/** First 12 hex characters of the id without dashes. */
export const shortIdOf = (id: string): string => id.replaceAll("-", "").slice(0, 12)

export const noRestarts: RestartsByReason = { crash: 0, unhealthy: 0, manual: 0 }

/** The box's last exit, null when none was recorded (or the record is older than issue 14). */
export const lastExitOf = (box: Pick<BoxRecord, "last_exit">): LastExit | null => box.last_exit ?? null

/** The box's restarts by reason, zeros for a record that has none. */
export const restartsByReasonOf = (box: Pick<BoxRecord, "restarts_by_reason">): RestartsByReason =>
  box.restarts_by_reason ?? noRestarts

/** When a dead box's backoff wait ends (epoch ms), if the record says so and that is after `now`. */
export const nextRestartOf = (box: Pick<BoxRecord, "status" | "next_restart_at">, now: number): number | null => {
  if (box.status !== "dead" || box.next_restart_at === undefined) return null
  const at = Date.parse(box.next_restart_at)
  return Number.isFinite(at) && at > now ? at : null
}

/** The box's own backoff bounds (SPEC §5 defaults where it has none): see `Backoff.Bounds`. */
export const backoffBoundsOf = (
  box: Pick<BoxRecord, "restart_delay_secs" | "restart_max_delay_secs">
): { readonly base?: Duration.Duration; readonly cap?: Duration.Duration } | undefined =>
  box.restart_delay_secs === undefined && box.restart_max_delay_secs === undefined ? undefined : {
    ...(box.restart_delay_secs === undefined ? {} : { base: Duration.seconds(box.restart_delay_secs) }),
    ...(box.restart_max_delay_secs === undefined ? {} : { cap: Duration.seconds(box.restart_max_delay_secs) })
  }

/** The record without `next_restart_at` (a box no longer waiting out a backoff). */
export const withoutNextRestart = (box: BoxRecord): BoxRecord => {
  if (box.next_restart_at === undefined) return box
  const { next_restart_at: _, ...rest } = box
  return rest
}

/**
 * The record without its backoff position (`next_restart_at`, `backoff_failures`): a box its
 * user started, whose next crash is a new story (as `docker start` resets the restart delay).
 */
export const withoutBackoff = (box: BoxRecord): BoxRecord => {
  if (box.backoff_failures === undefined) return withoutNextRestart(box)
  const { backoff_failures: _, ...rest } = withoutNextRestart(box)
  return rest
}

/** One more restart for `reason` in the record's counts (`restart_count` is the caller's: manual restarts leave it). */
export const countRestart = (box: BoxRecord, reason: keyof RestartsByReason): RestartsByReason => {
  const counts = restartsByReasonOf(box)
  return { ...counts, [reason]: counts[reason] + 1 }
}

/** The `last_exit` of a death with this exit code, recorded at `at` (epoch ms). */
export const lastExit = (code: number | null, at: number): LastExit => ({
  code,
  signal: signalOfExitCode(code),
  at: new Date(at).toISOString()
})

/**
 * The state when the live process of an active box is found gone (SPEC §3). With `at` (epoch
 * ms: when the death is recorded) the record's `last_exit` is set too.
 */
export const markDead = (box: BoxRecord, exitCode: number | null, at?: number): BoxRecord => {
  const code = box.exit_code ?? exitCode
  const dead: BoxRecord = {
    ...box,
    status: "dead",
    pid: null,
    pid_start_time: null,
    health_status: "none",
    health_retries: 0,
    exit_code: code
  }
  return at === undefined ? dead : { ...dead, last_exit: lastExit(code, at) }
}
