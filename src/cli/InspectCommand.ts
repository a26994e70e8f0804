import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Boxes from "../boxes/Boxes.js"
import type { BoxRecord } from "../domain/BoxRecord.js"
import * as BoxRef from "./BoxRef.js"
import * as Format from "./Format.js"
import { BoxFailures, rejectOptionLike } from "./CliErrors.js"

/** `a3s-box inspect BOX...`: the records, as pretty JSON (an array, like docker). */

export const command = Command.make("inspect", {
  boxes: Args.text({ name: "BOX" }).pipe(Args.withDescription("Box name, id, or unique id prefix"), Args.atLeast(1))
}, ({ boxes }) =>
  Effect.gen(function*() {
    yield* rejectOptionLike("inspect", boxes)
    const records = yield* Boxes.load
    const found: Array<BoxRecord> = []
    const failures: Array<BoxRef.BoxRefError> = []
    for (const ref of boxes) {
      const resolved = BoxRef.resolve(records, ref)
      if (resolved._tag === "Right") found.push(resolved.right)
      else failures.push(resolved.left)
    }
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(JSON.stringify(found.map((box) => Format.inspectJson(box, now)), null, 2))
    if (failures.length > 0) return yield* new BoxFailures({ failures })
  })
).pipe(Command.withDescription("Show the full records of boxes as JSON"))
