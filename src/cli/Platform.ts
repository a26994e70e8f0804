import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Layer from "effect/Layer"

/**
 * What the CLI itself runs on (`Cli.main`): the file system, paths and the terminal @effect/cli
 * needs. Not `NodeContext.layer`, whose command executor and worker manager cost every run
 * their modules' start-up: the commands that run programs (`monitor install|uninstall|status`)
 * provide a command executor themselves.
 */
export const layer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)
