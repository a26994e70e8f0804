import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { EventJournal } from "../events/EventJournal.js"
import * as EventQuery from "./EventQuery.js"

/**
 * `a3s-box events [--since T] [--until T] [--filter KEY=VALUE]... [--format text|json] [-f]`:
 * the home's event journal (issue 14), like `docker events`. Without `-f`: the history (all of
 * it, or from `--since` / to `--until`). With `-f`: the history from `--since` (none without
 * it), then every new event until Ctrl-C (or SIGTERM, or `--until`), exit 0. Reads only: works
 * with no monitor running and with no journal yet (prints nothing).
 */

export const command = Command.make("events", {
  since: Options.text("since").pipe(
    Options.withDescription("Only events at or after T: an RFC 3339 time or a duration ago (30s, 10m, 2h, 1d)"),
    Options.optional
  ),
  until: Options.text("until").pipe(
    Options.withDescription("Only events at or before T (same forms as --since); with -f, stop following then"),
    Options.optional
  ),
  filter: Options.text("filter").pipe(
    Options.withDescription("box=NAME|ID (repeat for several boxes) or event=TYPE[,TYPE...], e.g. event=die,restart"),
    Options.repeated
  ),
  format: Options.choice("format", ["text", "json"]).pipe(
    Options.withDescription("text: one readable line per event; json: each event as stored, one per line"),
    Options.withDefault("text" as const)
  ),
  follow: Options.boolean("follow").pipe(
    Options.withAlias("f"),
    Options.withDescription("Keep printing new events until Ctrl-C (history only from --since)")
  )
}, ({ filter, follow, format, since, until }) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const from = Option.isSome(since) ? yield* EventQuery.parseTime("--since", since.value, now) : undefined
    const to = Option.isSome(until) ? yield* EventQuery.parseTime("--until", until.value, now) : undefined
    const wanted = EventQuery.matches(yield* EventQuery.parseFilters(filter))
    const journal = yield* EventJournal
    // An --until already past leaves nothing to follow: the history up to it.
    const events = follow && (to === undefined || to > now)
      // Like docker: following shows no history unless --since asks for some.
      ? journal.follow(from ?? now).pipe(
        Stream.filter((event) => to === undefined || Date.parse(event.time) <= to),
        to === undefined ? (stream) => stream : Stream.interruptWhen(Effect.sleep(to - now))
      )
      : journal.read({ ...(from === undefined ? {} : { since: from }), ...(to === undefined ? {} : { until: to }) })
    yield* events.pipe(
      Stream.filter(wanted),
      Stream.runForEach((event) => Console.log(format === "json" ? JSON.stringify(event) : EventQuery.textLine(event)))
    )
  })
).pipe(Command.withDescription("Show the event journal of the home (box and monitor events), like docker events"))
