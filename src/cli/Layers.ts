import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Layer from "effect/Layer"
import * as LocalBoxRuntime from "../runtime/LocalBoxRuntime.js"
import * as NodeStateStore from "../state/NodeStateStore.js"

/**
 * The services the box commands run on: Node's platform services, the local-process box
 * runtime, and the state store of a home. Built only when a box command's handler runs
 * (`Command.provide`), so `--help` and other commands pay nothing for them.
 */

/** The stack on an explicit home (tests, embedders). */
export const onHome = (home: string) =>
  NodeStateStore.layer(home).pipe(
    Layer.provideMerge(LocalBoxRuntime.layer),
    Layer.provideMerge(NodeContext.layer)
  )

/** The stack on the home named by `$A3S_HOME` (default `~/.a3s`). */
export const live = NodeStateStore.layerFromEnv.pipe(
  Layer.provideMerge(LocalBoxRuntime.layer),
  Layer.provideMerge(NodeContext.layer)
)
