import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { shortIdOf } from "../../src/domain/BoxRecord.js"
import type { HealthCheck } from "../../src/domain/HealthCheck.js"

let counter = 0

/** A box record as `run -d` would write it; override what the test is about. */
export const makeBox = (overrides: Partial<BoxRecord> & { readonly name?: string } = {}): BoxRecord => {
  counter++
  const id = overrides.id ?? `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`
  const name = overrides.name ?? `box${counter}`
  return {
    id,
    short_id: shortIdOf(id),
    name,
    status: "running",
    pid: null,
    pid_start_time: null,
    cmd: ["sleep", "1000"],
    env: {},
    base_env: null,
    box_dir: `/tmp/a3s-test/boxes/${id}`,
    console_log: `/tmp/a3s-test/boxes/${id}/console.log`,
    workdir: null,
    created_at: "1970-01-01T00:00:00.000Z",
    started_at: "1970-01-01T00:00:00.000Z",
    auto_remove: false,
    restart_policy: "always",
    max_restart_count: 0,
    restart_count: 0,
    stopped_by_user: false,
    exit_code: null,
    health_check: null,
    healthcheck_disabled: false,
    health_status: "none",
    health_retries: 0,
    health_last_check: null,
    stop_signal: null,
    stop_timeout: null,
    ...overrides
  }
}

export const healthCheck = (overrides: Partial<HealthCheck> = {}): HealthCheck => ({
  cmd: ["true"],
  interval_secs: 30,
  timeout_secs: 5,
  retries: 3,
  start_period_secs: 0,
  ...overrides
})
