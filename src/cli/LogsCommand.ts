import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as BoxStatus from "../domain/BoxStatus.js"
import { BoxRuntime } from "../runtime/BoxRuntime.js"
import { StateStore } from "../state/StateStore.js"
import * as BoxRef from "./BoxRef.js"
import { InvalidFlag, rejectOptionLike } from "./CliErrors.js"
import * as LogStream from "./LogStream.js"

/** `a3s-box logs [-f] [--tail N] BOX`: print a box's console log. */

export const command = Command.make("logs", {
  follow: Options.boolean("follow").pipe(
    Options.withAlias("f"),
    Options.withDescription("Keep printing new output until the box's process ends (or Ctrl-C)")
  ),
  tail: Options.integer("tail").pipe(
    Options.withDescription("Only the last N lines (default: all)"),
    Options.optional
  ),
  box: Args.text({ name: "BOX" }).pipe(Args.withDescription("Box name, id, or unique id prefix"))
}, ({ box: ref, follow, tail }) =>
  Effect.gen(function*() {
    yield* rejectOptionLike("logs", [ref])
    if (Option.isSome(tail) && tail.value < 0) {
      return yield* new InvalidFlag({ flag: "--tail", value: String(tail.value), reason: "must be 0 or more lines" })
    }
    const store = yield* StateStore
    const runtime = yield* BoxRuntime
    // Read-only: logs never writes the state file.
    const box = yield* Effect.flatMap(store.snapshot, (records) => BoxRef.resolve(records, ref))
    const pid = box.pid
    const live = follow && pid !== null && (BoxStatus.isActive(box) || BoxStatus.isStopping(box))
    yield* LogStream.stream({
      path: box.console_log,
      tail: Option.getOrUndefined(tail),
      rotated: true,
      // Following ends when the process that was running when `logs` started is gone.
      until: live ? Effect.map(runtime.liveness([{ pid, startTime: box.pid_start_time }], true), ([alive]) => alive !== true) : undefined
    })
  })
).pipe(Command.withDescription("Print the console log of a box"))
