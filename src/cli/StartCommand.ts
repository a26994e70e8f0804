import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { forEachBox } from "./EachBox.js"
import * as Lifecycle from "./Lifecycle.js"
import { boxesArg } from "./StopCommand.js"
import * as SupervisionWarning from "./SupervisionWarning.js"

/** `a3s-box start BOX...`: boot created, stopped or dead boxes again. */

export const command = Command.make("start", { quiet: SupervisionWarning.quietOption, boxes: boxesArg }, ({ boxes, quiet }) =>
  forEachBox("start", boxes, (box) => Effect.asVoid(Lifecycle.start(box))).pipe(
    // Also when some box failed: the ones that started may still need a monitor.
    Effect.ensuring(SupervisionWarning.warnIfUnsupervised({ quiet }))
  )
).pipe(Command.withDescription("Start stopped, dead or created boxes (a running box is left as it is)"))
