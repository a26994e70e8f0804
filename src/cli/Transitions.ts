import * as path from "node:path"
import { type BoxRecord, hasHealthCheck, lastExit, shortIdOf, withoutBackoff } from "../domain/BoxRecord.js"
import type { BootedBox } from "../runtime/BoxRuntime.js"
import { boxesDir } from "../state/Home.js"
import type { RunSpec } from "./RunSpec.js"

/** Pure record transitions of the box commands: what `run`, `start` and `stop` write. */

/** A new record for `run`, status `created` until its process is booted. */
export const newRecord = (
  spec: RunSpec,
  identity: { readonly id: string; readonly name: string; readonly home: string; readonly now: string }
): BoxRecord => {
  const boxDir = path.join(boxesDir(identity.home), identity.id)
  return {
    id: identity.id,
    short_id: shortIdOf(identity.id),
    name: identity.name,
    status: "created",
    pid: null,
    pid_start_time: null,
    cmd: spec.cmd,
    env: spec.env,
    base_env: spec.baseEnv,
    box_dir: boxDir,
    console_log: path.join(boxDir, "console.log"),
    workdir: spec.workdir,
    created_at: identity.now,
    started_at: null,
    auto_remove: spec.autoRemove,
    restart_policy: spec.restartPolicy,
    max_restart_count: 0,
    restart_count: 0,
    stopped_by_user: false,
    exit_code: null,
    health_check: spec.healthCheck,
    healthcheck_disabled: false,
    health_status: spec.healthCheck === null ? "none" : "starting",
    health_retries: 0,
    health_last_check: null,
    stop_signal: spec.stopSignal,
    stop_timeout: spec.stopTimeout,
    ...(spec.restartDelay === null ? {} : { restart_delay_secs: spec.restartDelay }),
    ...(spec.restartMaxDelay === null ? {} : { restart_max_delay_secs: spec.restartMaxDelay }),
    ...(spec.logMaxSize === null ? {} : { log_max_size: spec.logMaxSize }),
    ...(spec.logMaxFiles === null ? {} : { log_max_files: spec.logMaxFiles })
  }
}

/**
 * The box's process was booted by the user (`run`, `start`): not an automatic restart, so
 * `restart_count` stays; its backoff is over (`withoutBackoff`).
 */
export const started = (box: BoxRecord, booted: Pick<BootedBox, "pid" | "pidStartTime">, now: string): BoxRecord => ({
  ...withoutBackoff(box),
  status: "running",
  pid: booted.pid,
  pid_start_time: booted.pidStartTime,
  started_at: now,
  stopped_by_user: false,
  exit_code: null,
  health_status: hasHealthCheck(box) ? "starting" : "none",
  health_retries: 0,
  health_last_check: null
})

/**
 * `stop` announces itself before signalling: a `stopping` box is not active, so neither the
 * monitor's reconcile nor its restart logic touches it while the graceful stop runs.
 */
export const stopping = (box: BoxRecord): BoxRecord => ({ ...box, status: "stopping", stopped_by_user: true })

/**
 * The process is gone after a user stop. With `at` (epoch ms: a process was stopped then, not a
 * dead or created box merely recorded stopped) its `last_exit` is set too.
 */
export const stopped = (box: BoxRecord, exitCode: number | null, at?: number): BoxRecord => ({
  ...box,
  ...(at === undefined ? {} : { last_exit: lastExit(exitCode, at) }),
  status: "stopped",
  pid: null,
  pid_start_time: null,
  stopped_by_user: true,
  exit_code: exitCode,
  health_status: "none",
  health_retries: 0
})

/** An attached box's process ended by itself (at `at`, epoch ms): like the monitor's reconcile, it is dead. */
export const exited = (box: BoxRecord, exitCode: number, at?: number): BoxRecord => ({
  ...box,
  ...(at === undefined ? {} : { last_exit: lastExit(exitCode, at) }),
  status: "dead",
  pid: null,
  pid_start_time: null,
  exit_code: exitCode,
  health_status: "none",
  health_retries: 0
})

/** Whether two views of a box are the same run of it (same pid and start time). */
export const sameIncarnation = (a: Pick<BoxRecord, "pid" | "pid_start_time">, b: Pick<BoxRecord, "pid" | "pid_start_time">): boolean =>
  a.pid === b.pid && a.pid_start_time === b.pid_start_time

/** Replaces the record with the same id. */
export const replace = (records: ReadonlyArray<BoxRecord>, box: BoxRecord): ReadonlyArray<BoxRecord> =>
  records.map((existing) => (existing.id === box.id ? box : existing))

/** Drops the record with this id. */
export const without = (records: ReadonlyArray<BoxRecord>, id: string): ReadonlyArray<BoxRecord> =>
  records.filter((existing) => existing.id !== id)
