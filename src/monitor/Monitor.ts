import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EventHooks from "../events/EventHooks.js"
import { EventJournal } from "../events/EventJournal.js"
import * as HookRunner from "../events/HookRunner.js"
import * as NodeEventJournal from "../events/NodeEventJournal.js"
import * as LocalBoxRuntime from "../runtime/LocalBoxRuntime.js"
import type { BoxRuntime } from "../runtime/BoxRuntime.js"
import * as SyncFileSystem from "../platform/SyncFileSystem.js"
import * as NodeStateStore from "../state/NodeStateStore.js"
import type { StateStore } from "../state/StateStore.js"
import * as Home from "../state/Home.js"
import * as Heartbeat from "./Heartbeat.js"
import * as LogRotator from "./LogRotator.js"
import * as MonitorConfig from "./MonitorConfig.js"
import * as MonitorLease from "./MonitorLease.js"
import * as MonitorStats from "./MonitorStats.js"
import * as Supervisor from "./Supervisor.js"

/**
 * The `a3s-box monitor` program: flags -> `MonitorConfig` -> layers -> run until interrupted.
 * Everything but the entry point is reusable: `hostLayer` gives the services a supervisor
 * needs on this host, `layer` adds the supervisor itself.
 */

export interface MonitorOptions {
  /** Seconds between full poll cycles (>= 1). */
  readonly interval: number
  /** Milliseconds between cheap liveness checks; default 100. */
  readonly livenessTickMillis?: number | undefined
}

export const configFor = (home: string, options: MonitorOptions): MonitorConfig.MonitorConfigShape => ({
  ...MonitorConfig.defaults(home),
  interval: Duration.seconds(options.interval),
  ...(options.livenessTickMillis === undefined ? {} : { livenessTick: Duration.millis(options.livenessTickMillis) })
})

/** What a supervisor needs, on this host: the home's `boxes.json` and event journal, local processes, fresh stats, the config. */
export const hostLayer = (
  config: MonitorConfig.MonitorConfigShape
): Layer.Layer<
  StateStore | BoxRuntime | MonitorStats.MonitorStats | MonitorConfig.MonitorConfig | EventJournal,
  never,
  FileSystem.FileSystem
> =>
  Layer.mergeAll(
    NodeStateStore.layer(config.home).pipe(Layer.provide(SyncFileSystem.layer)),
    NodeEventJournal.layer(config.home),
    MonitorStats.layer,
    MonitorConfig.layer(config)
  ).pipe(
    Layer.provideMerge(LocalBoxRuntime.layer)
  )

/** The services of `hostLayer`, which whatever runs beside the supervisor may use. */
export type HostServices = StateStore | BoxRuntime | MonitorStats.MonitorStats | MonitorConfig.MonitorConfig | EventJournal

/**
 * The monitor's own life in the journal (issue 14): `takeover` (when the lease it took named a
 * previous holder) and `monitor-start` once it holds the home, `monitor-stop` when its scope
 * closes, after everything built over it (the supervisor's last cycle) has stopped.
 */
export const journalLife: Layer.Layer<never, never, EventJournal | MonitorLease.HeldLease> = Layer.scopedDiscard(
  Effect.gen(function*() {
    const journal = yield* EventJournal
    const held = yield* MonitorLease.HeldLease
    const pid = held.holder.pid
    yield* Effect.acquireRelease(
      journal.append([
        ...Option.match(held.previous, {
          onNone: () => [],
          onSome: (previous) => [{ type: "takeover" as const, pid, from_pid: previous.pid }]
        }),
        { type: "monitor-start", pid }
      ]),
      () => journal.append([{ type: "monitor-stop", pid }])
    )
  })
)

/**
 * The supervisor over `hostLayer`, exposing the host services too (to whatever runs beside it),
 * guarded as SPEC §11 requires: the home's lease is taken first (failing with
 * `MonitorAlreadyRunning` when another live monitor holds it, or waiting for it with
 * `standby`), then the heartbeat (`<home>/monitor.json`) starts, then the supervisor.
 *
 * `beside` (e.g. the metrics server) is built between the lease and the heartbeat: over the
 * host's services (the same MonitorStats and StateStore the supervisor uses), only once this
 * monitor holds the home, and before the supervisor starts, so that a failure to build it
 * (a port in use) stops the monitor before it supervises anything. It may provide the
 * heartbeat's `Heartbeat.MetricsEndpoint`. The event hooks (`config.hooks`, none: nothing runs)
 * start just before the supervisor, so they see its first events. The one composition root of the monitor's stack:
 * `a3s-box monitor` (src/cli/MonitorRun.ts) runs this layer.
 */
export const layer = <ROut = never, E = never>(
  config: MonitorConfig.MonitorConfigShape,
  options: {
    readonly standby?: boolean
    readonly beside?: Layer.Layer<ROut, E, HostServices | MonitorLease.HeldLease>
  } = {}
) => {
  const beside = (options.beside ?? Layer.empty) as Layer.Layer<ROut, E, HostServices | MonitorLease.HeldLease>
  return Supervisor.layer.pipe(
    Layer.provide(LogRotator.layer(Home.monitorLogPath(config.home))),
    Layer.provideMerge(EventHooks.layer(config.hooks).pipe(Layer.provide(HookRunner.layer))),
    Layer.provideMerge(Heartbeat.layer()),
    Layer.provideMerge(beside),
    Layer.provideMerge(journalLife),
    Layer.provideMerge(MonitorLease.layer({ standby: options.standby ?? false })),
    Layer.provideMerge(hostLayer(config))
  )
}

export const startedMessage = (config: Pick<MonitorConfig.MonitorConfigShape, "interval">): string =>
  `a3s-box monitor started (poll interval: ${Duration.toSeconds(config.interval)}s)`

/** Logged once the monitor has shut down (after its last cycle), whatever ended it. */
export const stoppedMessage = "a3s-box monitor stopped"

/**
 * Builds `services` (the supervisor and whatever runs beside it), logs the start line once they
 * run (so after the home's lease is held: a standby logs it when it takes over), then runs
 * until interrupted (SIGTERM/SIGINT under `NodeRuntime.runMain`) or until the lease is lost
 * to another monitor (`MonitorLeaseLost`). The cycle in progress completes before the scope
 * closes; then `stoppedMessage` is logged.
 */
export const run = <ROut, E, RIn>(
  config: MonitorConfig.MonitorConfigShape,
  services: Layer.Layer<ROut, E, RIn>
): Effect.Effect<never, E | MonitorLease.MonitorLeaseLost, RIn> =>
  Effect.suspend(() => {
    let started = false
    return Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(services)
      yield* Effect.logInfo(startedMessage(config)).pipe(
        Effect.annotateLogs({ event: "started", interval_secs: Duration.toSeconds(config.interval) })
      )
      started = true
      return yield* Option.match(Context.getOption(context as Context.Context<unknown>, MonitorLease.HeldLease), {
        onNone: () => Effect.never,
        onSome: (held) => held.lost
      })
    })).pipe(
      // After the scope closed: the cycle in progress has completed and the services are down.
      Effect.ensuring(Effect.suspend(() => (started ? Effect.logInfo(stoppedMessage) : Effect.void)))
    )
  })
