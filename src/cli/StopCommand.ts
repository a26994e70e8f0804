import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as BoxStatus from "../domain/BoxStatus.js"
import { InvalidFlag } from "./CliErrors.js"
import { forEachBox } from "./EachBox.js"
import * as Lifecycle from "./Lifecycle.js"

/** `a3s-box stop [-t S] BOX...`: stop boxes gracefully (their stop signal, SIGKILL after the timeout). */

export const boxesArg = Args.text({ name: "BOX" }).pipe(
  Args.withDescription("Box name, id, or unique id prefix"),
  Args.atLeast(1)
)

export const timeFlag = Options.integer("time").pipe(
  Options.withAlias("t"),
  Options.withDescription("Seconds to wait before killing the box (default: its --stop-timeout, else 10)"),
  Options.optional
)

/** `-t` must not be negative; checked before any box is touched. */
export const validateTime = (time: Option.Option<number>): Effect.Effect<Option.Option<number>, InvalidFlag> =>
  Option.isSome(time) && time.value < 0
    ? Effect.fail(new InvalidFlag({ flag: "-t/--time", value: String(time.value), reason: "must be 0 or more seconds" }))
    : Effect.succeed(time)

export const command = Command.make("stop", { time: timeFlag, boxes: boxesArg }, ({ boxes, time }) =>
  Effect.gen(function*() {
    const timeout = yield* validateTime(time)
    yield* forEachBox("stop", boxes, (box) =>
      Effect.gen(function*() {
        const { already, box: stopped } = yield* Lifecycle.stopWithOutcome(box, timeout)
        if (already) yield* Console.error(`box ${stopped.name} is already stopped`)
        // Like docker, a box run with --rm is removed once it stops.
        if (stopped.auto_remove && BoxStatus.isStopped(stopped)) yield* Lifecycle.forget(stopped)
      }))
  })
).pipe(Command.withDescription("Stop boxes, running or crash-looping (no restart policy brings them back)"))
