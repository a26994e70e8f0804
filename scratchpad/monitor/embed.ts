// README example: the supervisor inside another Effect program.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as MonitorConfig from "../../src/monitor/MonitorConfig.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as Supervisor from "../../src/monitor/Supervisor.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"

const home = process.env.A3S_HOME ?? "/tmp/my-app-boxes"
const config = { ...MonitorConfig.defaults(home), interval: Duration.seconds(2) }

// What the supervisor needs: StateStore, BoxRuntime, MonitorConfig, MonitorStats (+ the Clock).
const Services = Layer.mergeAll(NodeStateStore.layer(home), MonitorStats.layer, MonitorConfig.layer(config)).pipe(
  Layer.provideMerge(LocalBoxRuntime.layer), // the store's reconcile uses the runtime too
  Layer.provideMerge(NodeContext.layer)
)

// The app's own work, beside the supervisor: here, report when the last cycle completed.
const Report = Layer.scopedDiscard(Effect.forkScoped(Effect.repeat(
  Effect.gen(function*() {
    const stats = yield* MonitorStats.MonitorStats
    const snapshot = yield* stats.snapshot
    yield* Effect.log(`last cycle: ${snapshot.lastCycleCompletedAt._tag}, restarts: ${snapshot.restarts.size}`)
  }),
  Schedule.spaced("1 second")
)))

const App = Layer.mergeAll(Supervisor.layer, Report).pipe(Layer.provideMerge(Services))

Layer.launch(App).pipe(Effect.timeout("3 seconds"), Effect.ignore, NodeRuntime.runMain)
