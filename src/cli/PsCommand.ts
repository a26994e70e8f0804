import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Boxes from "../boxes/Boxes.js"
import { StateStore } from "../state/StateStore.js"
import * as Format from "./Format.js"
import * as HomeWarning from "./HomeWarning.js"
import * as SupervisionWarning from "./SupervisionWarning.js"

/** `a3s-box ps [-a] [--format table|json]`: list boxes (after reconciling, so dead boxes show as dead). */

export const flags = {
  all: Options.boolean("all").pipe(
    Options.withAlias("a"),
    Options.withDescription("Show all boxes (default: only running and paused ones)")
  ),
  format: Options.choice("format", ["table", "json"]).pipe(
    Options.withDescription("Output format: table (default) or json (the records, for scripts)"),
    Options.withDefault("table" as const)
  ),
  quiet: SupervisionWarning.quietOption
} as const

export const command = Command.make("ps", flags, ({ all, format, quiet }) =>
  Effect.gen(function*() {
    const store = yield* StateStore
    const records = yield* Boxes.load
    const shown = all ? records : records.filter(Format.isListedByDefault)
    // Elements of the file that are not box records (SPEC §12): listed with -a, as `invalid`.
    const invalid = all ? yield* store.invalid : []
    if (format === "json") yield* Console.log(JSON.stringify([...shown, ...invalid.map(Format.invalidJson)], null, 2))
    else yield* Console.log(Format.psTable(shown, yield* Clock.currentTimeMillis, invalid))
    yield* SupervisionWarning.warnIfUnsupervised({ quiet, records })
    yield* HomeWarning.warnIfShared({ quiet })
  })
).pipe(Command.withDescription("List boxes"))
