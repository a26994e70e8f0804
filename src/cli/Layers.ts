import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The services the box commands run on: Node's file system and paths, the local-process box
 * runtime, and the state store and event journal (EventJournal) of a home. Built only when a box command's handler runs
 * (`Command.provide`), and their modules (state store, runtime, file locks) loaded only then
 * (LiveLayers.ts, imported dynamically): `--help` and other commands pay nothing for them.
 */

const stacks = Effect.promise(() => import("./LiveLayers.js"))

/** The stack on an explicit home (tests, embedders). */
export const onHome = (home: string) => Layer.unwrapEffect(Effect.map(stacks, (stack) => stack.onHome(home)))

/** The stack on the home named by `$A3S_HOME` (default `~/.a3s`). */
export const live = Layer.unwrapEffect(Effect.map(stacks, (stack) => stack.live))
