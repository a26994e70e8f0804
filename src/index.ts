/**
 * a3s-box as a library: every piece the CLI is made of, as namespaces. A larger Effect program
 * composes the layers it needs, e.g. the supervisor over its own state store and runtime:
 *
 *   Supervisor.layer.pipe(Layer.provide(MonitorStats.layer), Layer.provide(MonitorConfig.layer(cfg)),
 *     Layer.provide(NodeStateStore.layer(home)), Layer.provide(LocalBoxRuntime.layer), ...)
 *
 * See the README ("Using the pieces as a library").
 */

// domain: pure data and decisions
export * as Backoff from "./domain/Backoff.js"
export * as BoxEnvironment from "./domain/BoxEnvironment.js"
export * as BoxRecord from "./domain/BoxRecord.js"
export * as HealthCheck from "./domain/HealthCheck.js"
export * as Reconcile from "./domain/Reconcile.js"
export * as RestartPolicy from "./domain/RestartPolicy.js"
export * as Supervision from "./domain/Supervision.js"

// state: boxes.json
export * as FileLock from "./state/FileLock.js"
export * as Home from "./state/Home.js"
export * as InMemoryStateStore from "./state/InMemoryStateStore.js"
export * as NodeStateStore from "./state/NodeStateStore.js"
export * as StateStore from "./state/StateStore.js"

// runtime: box processes
export * as BoxProcess from "./runtime/BoxProcess.js"
export * as BoxRuntime from "./runtime/BoxRuntime.js"
export * as InMemoryBoxRuntime from "./runtime/InMemoryBoxRuntime.js"
export * as LocalBoxRuntime from "./runtime/LocalBoxRuntime.js"
export * as ProcessInfo from "./runtime/ProcessInfo.js"
export * as Signal from "./runtime/Signal.js"

// monitor: the supervisor and what guards it
export * as Heartbeat from "./monitor/Heartbeat.js"
export * as Monitor from "./monitor/Monitor.js"
export * as MonitorConfig from "./monitor/MonitorConfig.js"
export * as MonitorLease from "./monitor/MonitorLease.js"
export * as MonitorStats from "./monitor/MonitorStats.js"
export * as Supervisor from "./monitor/Supervisor.js"

// metrics: /healthz and /metrics
export * as Exposition from "./metrics/Exposition.js"
export * as ListenAddress from "./metrics/ListenAddress.js"
export * as MetricsServer from "./metrics/MetricsServer.js"

// service: systemd --user and launchd units
export * as ServiceInstaller from "./service/ServiceInstaller.js"
export * as ServiceManager from "./service/ServiceManager.js"
export * as ServiceUnits from "./service/Units.js"

// cli: the command tree, to embed or extend
export * as Cli from "./cli/Cli.js"
