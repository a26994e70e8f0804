import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EventHooksConfig from "./EventHooksConfig.js"
import type { ListenAddress } from "./ListenAddress.js"

export type { ListenAddress } from "./ListenAddress.js"

/*
 * The monitor's configuration, below both the monitor (which runs by it) and the metrics
 * server (which reads its home and its staleness threshold): a plain value and its tag.
 */

/** Everything the monitor is told from outside: flags and environment, gathered once. */
export interface MonitorConfigShape {
  /** The home whose `boxes.json` is supervised. */
  readonly home: string
  /** Spacing of full poll cycles (`--interval`, default 5 s, at least 1 s). */
  readonly interval: Duration.Duration
  /** Spacing of the cheap liveness check of active boxes between full cycles. */
  readonly livenessTick: Duration.Duration
  /** First backoff wait after a failed restart; doubles per failure. */
  readonly backoffBase: Duration.Duration
  /** Backoff waits never exceed this. */
  readonly backoffCap: Duration.Duration
  /** A box up this long has its backoff reset. */
  readonly backoffReset: Duration.Duration
  /** At most this many health probes run at once. */
  readonly probeConcurrency: number
  readonly metricsAddr: Option.Option<ListenAddress>
  /** The event hooks (`--on-event CMD`, ...); no commands: off. */
  readonly hooks: EventHooksConfig.EventHooksConfig
}

export class MonitorConfig extends Context.Tag("a3s-box/MonitorConfig")<MonitorConfig, MonitorConfigShape>() {}

export const defaults = (home: string): MonitorConfigShape => ({
  home,
  interval: Duration.seconds(5),
  livenessTick: Duration.millis(100),
  backoffBase: Duration.seconds(1),
  backoffCap: Duration.seconds(60),
  backoffReset: Duration.seconds(30),
  probeConcurrency: 16,
  metricsAddr: Option.none(),
  hooks: EventHooksConfig.defaults
})

/** `/healthz` staleness threshold: `max(3 × interval, 30 s)` (SPEC §8). */
export const stalenessThreshold = (config: Pick<MonitorConfigShape, "interval">): Duration.Duration =>
  Duration.max(Duration.times(config.interval, 3), Duration.seconds(30))

export const layer = (config: MonitorConfigShape): Layer.Layer<MonitorConfig> => Layer.succeed(MonitorConfig, config)
