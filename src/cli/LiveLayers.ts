import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Layer from "effect/Layer"
import * as NodeEventJournal from "../events/NodeEventJournal.js"
import * as LocalBoxRuntime from "../runtime/LocalBoxRuntime.js"
import * as SyncFileSystem from "../platform/SyncFileSystem.js"
import * as NodeStateStore from "../state/NodeStateStore.js"

/**
 * The layer stacks of Layers.ts, loaded only when a box command runs (Layers.ts imports this
 * module dynamically): the local-process box runtime, the state store and the event journal of
 * a home, and the Node file system and paths they work with.
 */

const platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

// The state store on the synchronous file system (platform/SyncFileSystem: its small, frequent
// writes pay no thread-pool round trips); the rest of the commands on Node's.
export const onHome = (home: string) =>
  NodeStateStore.layer(home).pipe(
    Layer.provide(SyncFileSystem.layer),
    Layer.provideMerge(NodeEventJournal.layer(home)),
    Layer.provideMerge(LocalBoxRuntime.layer),
    Layer.provideMerge(platform)
  )

export const live = NodeStateStore.layerFromEnv.pipe(
  Layer.provide(SyncFileSystem.layer),
  Layer.provideMerge(NodeEventJournal.layerFromEnv()),
  Layer.provideMerge(LocalBoxRuntime.layer),
  Layer.provideMerge(platform)
)
