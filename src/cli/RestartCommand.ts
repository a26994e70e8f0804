import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { forEachBox } from "./EachBox.js"
import * as Lifecycle from "./Lifecycle.js"
import { boxesArg, timeFlag, validateTime } from "./StopCommand.js"

/** `a3s-box restart [-t S] BOX...`: stop (if running) then start; a manual restart (`restarts_by_reason.manual`). */

export const command = Command.make("restart", { time: timeFlag, boxes: boxesArg }, ({ boxes, time }) =>
  Effect.gen(function*() {
    const timeout = yield* validateTime(time)
    yield* forEachBox("restart", boxes, (box) =>
      Effect.gen(function*() {
        const stopped = yield* Lifecycle.stop(box, timeout)
        yield* Lifecycle.start(stopped, { manual: true })
      }))
  })
).pipe(Command.withDescription("Stop boxes (if running) and start them again"))
