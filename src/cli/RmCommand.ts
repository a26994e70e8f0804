import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { forEachBox } from "./EachBox.js"
import * as Lifecycle from "./Lifecycle.js"
import { boxesArg } from "./StopCommand.js"

/** `a3s-box rm [-f] BOX...`: remove boxes (record and box directory). */

export const command = Command.make("rm", {
  force: Options.boolean("force").pipe(
    Options.withAlias("f"),
    Options.withDescription("Stop a running box first (otherwise running boxes are refused)")
  ),
  boxes: boxesArg
}, ({ boxes, force }) => forEachBox("rm", boxes, (box) => Lifecycle.remove(box, force))).pipe(
  Command.withDescription("Remove boxes and their directories (console log, exit code)")
)
