import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HomeEventJournal from "../events/HomeEventJournal.js"
import * as LocalBoxRuntime from "../runtime/LocalBoxRuntime.js"
import * as SyncFileSystem from "../platform/SyncFileSystem.js"
import * as Home from "../state/Home.js"
import * as NodeStateStore from "../state/NodeStateStore.js"

/**
 * The layer stacks of Layers.ts, loaded only when a box command runs (Layers.ts imports this
 * module dynamically): the local-process box runtime, the state store and event journal of a
 * home, and the Node file system and paths they work with.
 */

const platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

// The state store on the synchronous file system (platform/SyncFileSystem: its small, frequent
// writes pay no thread-pool round trips); the rest of the commands on Node's.
export const onHome = (home: string) =>
  NodeStateStore.layer(home).pipe(
    Layer.provide(SyncFileSystem.layer),
    Layer.provideMerge(HomeEventJournal.layer(home)),
    Layer.provideMerge(LocalBoxRuntime.layer),
    Layer.provideMerge(platform)
  )

export const live = NodeStateStore.layerFromEnv.pipe(
  Layer.provide(SyncFileSystem.layer),
  Layer.provideMerge(Layer.unwrapEffect(Effect.map(Home.home, HomeEventJournal.layer))),
  Layer.provideMerge(LocalBoxRuntime.layer),
  Layer.provideMerge(platform)
)
