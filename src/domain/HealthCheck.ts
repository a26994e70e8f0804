import * as Schema from "effect/Schema"

/** A box's health check (Docker HEALTHCHECK semantics, SPEC §6). Unknown keys are preserved. */
export const HealthCheck = Schema.Struct({
  cmd: Schema.Array(Schema.String),
  interval_secs: Schema.optionalWith(Schema.Number, { default: () => 30 }),
  timeout_secs: Schema.optionalWith(Schema.Number, { default: () => 5 }),
  retries: Schema.optionalWith(Schema.Number, { default: () => 3 }),
  start_period_secs: Schema.optionalWith(Schema.Number, { default: () => 0 })
}).annotations({ identifier: "HealthCheck", parseOptions: { onExcessProperty: "preserve" } })

export type HealthCheck = typeof HealthCheck.Type

export const HealthStatus = Schema.Literal("none", "starting", "healthy", "unhealthy")
export type HealthStatus = typeof HealthStatus.Type
