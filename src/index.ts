/**
 * a3s-box as a library: the public API, as namespaces. It is what a host app needs to run the
 * supervisor inside its own Effect program: the services' tags, their Node and in-memory layers,
 * the schemas of the files, and the errors. How those are built (the lease's claim algorithm,
 * the heartbeat writer, the state file's lock and reconciliation, the supervisor's pure
 * decisions, the process probes, the exposition text) lives in `internal/` folders and modules
 * that are not exported here, so that it can change without breaking a host.
 *
 * See the README ("Embedding the supervisor", type-checked and run by test/PublicApi.test.ts).
 */

// domain: the records of the state file and their policies
export * as BoxRecord from "./domain/BoxRecord.js"
export * as BoxEvent from "./domain/BoxEvent.js"
export * as BoxStatus from "./domain/BoxStatus.js"
export * as HealthCheck from "./domain/HealthCheck.js"
export * as RestartPolicy from "./domain/RestartPolicy.js"
export * as StateFileCodec from "./domain/StateFileCodec.js"

// boxes: the records of a home as a command sees them (reconciled with the runtime)
export * as Boxes from "./boxes/Boxes.js"

// state: boxes.json
export * as Home from "./state/Home.js"
export * as InMemoryStateStore from "./state/InMemoryStateStore.js"
export * as NodeStateStore from "./state/NodeStateStore.js"
export * as StateStore from "./state/StateStore.js"
export * as SyncFileSystem from "./platform/SyncFileSystem.js"

// events: the event journal (events.jsonl) and the hooks run on its events
export * as EventHooks from "./events/EventHooks.js"
export * as EventHooksConfig from "./domain/EventHooksConfig.js"
export * as EventJournal from "./events/EventJournal.js"
export * as HookRunner from "./events/HookRunner.js"
export * as InMemoryEventJournal from "./events/InMemoryEventJournal.js"
export * as NodeEventJournal from "./events/NodeEventJournal.js"

// runtime: box processes
export * as BoxRuntime from "./runtime/BoxRuntime.js"
export * as InMemoryBoxRuntime from "./runtime/InMemoryBoxRuntime.js"
export * as LocalBoxRuntime from "./runtime/LocalBoxRuntime.js"
export * as Signal from "./runtime/Signal.js"

// monitor: the supervisor and what guards it
export * as Heartbeat from "./monitor/Heartbeat.js"
export * as Monitor from "./monitor/Monitor.js"
export * as MonitorConfig from "./monitor/MonitorConfig.js"
export * as MonitorLease from "./monitor/MonitorLease.js"
export * as MonitorStats from "./monitor/MonitorStats.js"
export * as Supervisor from "./monitor/Supervisor.js"

// metrics: /healthz and /metrics
export * as ListenAddress from "./metrics/ListenAddress.js"
export * as MetricsServer from "./metrics/MetricsServer.js"

// service: systemd --user and launchd units
export * as ServiceInstaller from "./service/ServiceInstaller.js"
export * as ServiceManager from "./service/ServiceManager.js"
export * as ServiceUnits from "./service/Units.js"

// cli: the command tree, to embed or extend
export * as Cli from "./cli/Cli.js"
