/**
 * A contract test with @effect/cli: each bad command line goes through the real parser and the
 * real command tree (Cli.parse), and the `ValidationError` it fails with is worded by
 * UsageErrors.message. A library upgrade that changes an error's tag or text fails here, not
 * in front of a user.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Cli from "../../src/cli/Cli.js"
import * as UsageErrors from "../../src/cli/UsageErrors.js"

const COMMANDS = "run, ps, stop, start, restart, rm, logs, inspect, events, monitor, completion"

/** The parser's error for `args`, with its tag, and the CLI's message for it. */
const usageError = (args: ReadonlyArray<string>) =>
  Cli.parse(args).pipe(
    Effect.flip,
    Effect.map((error) => ({ tag: error._tag, message: UsageErrors.message(error, args, Cli.commandNames) })),
    Effect.provide(NodeContext.layer)
  )

describe("UsageErrors.message: @effect/cli's usage errors, as the real parser raises them, in the CLI's own words", () => {
  it.each([
    [["run", "-d", "--stop-timeout", "abc", "--", "true"], "InvalidValue", "Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)"],
    [["run", "--stop-timeout=abc", "--", "sh", "-c", "abc"], "InvalidValue", "Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)"],
    [["monitor", "install", "--interval", "x"], "InvalidValue", "Error: invalid --interval 'x': expected an integer (see `a3s-box monitor install --help`)"],
    [["stop"], "MissingValue", "Error: missing argument BOX: `a3s-box stop BOX` (see `a3s-box stop --help`)"],
    [["ps", "--format", "yaml"], "InvalidValue", "Error: invalid --format 'yaml': expected one of table, json (see `a3s-box ps --help`)"],
    [["ps", "web"], "InvalidValue", "Error: unknown argument 'web' (see `a3s-box ps --help`)"],
    [["ps", "--format"], "InvalidValue", "Error: '--format' is not an option of `a3s-box ps`, or is missing its value (see `a3s-box ps --help`)"],
    [["monitor", "--interval"], "CommandMismatch", "Error: '--interval' is not an option of `a3s-box monitor`, or is missing its value (see `a3s-box monitor --help`)"],
    [["monitor", "--interval", "3", "--bogus"], "CommandMismatch", "Error: '--bogus' is not an option of `a3s-box monitor`, or is missing its value (see `a3s-box monitor --help`)"],
    [["frobnicate"], "CommandMismatch", `Error: unknown command 'frobnicate': use one of ${COMMANDS} (see \`a3s-box --help\`)`],
    [["--bogus"], "CommandMismatch", "Error: '--bogus' is not an option of `a3s-box` (see `a3s-box --help`)"],
    [["monitor", "frob"], "CommandMismatch", "Error: unknown argument 'frob' for `a3s-box monitor` (see `a3s-box monitor --help`)"],
    [["monitor", "--interval", "0"], "InvalidValue", "Error: --interval must be an integer >= 1 (seconds) (see `a3s-box monitor --help`)"],
    [["monitor", "--log-format", "xml"], "InvalidValue", "Error: invalid --log-format 'xml': expected one of text, json (see `a3s-box monitor --help`)"],
    [["monitor", "--on-event", "true", "--on-event-filter", "die,crash"], "InvalidValue", "Error: --on-event-filter: unknown event 'crash' (accepted: unhealthy, create, start, die, restart, backoff, health_status, stop, gave-up, destroy, monitor-start, monitor-stop, takeover, state-corrupt, state-recovered) (see `a3s-box monitor --help`)"],
    [["monitor", "--on-event-timeout", "0"], "InvalidValue", "Error: --on-event-timeout must be an integer >= 1 (seconds) (see `a3s-box monitor --help`)"],
    [["monitor", "--on-event-concurrency", "0"], "InvalidValue", "Error: --on-event-concurrency must be an integer >= 1 (see `a3s-box monitor --help`)"],
    [["completion", "fish"], "InvalidArgument", "Error: invalid argument 'fish': expected one of bash, zsh (see `a3s-box completion --help`)"]
  ])("a3s-box %j: %s", (args, tag, expected) =>
    Effect.gen(function*() {
      const error = yield* usageError(args)
      expect(error.tag).toBe(tag)
      expect(error.message).toBe(expected)
    }).pipe(Effect.runPromise))

  it("lists only the commands a user can type (no hidden ones) for an unknown command", () =>
    Effect.gen(function*() {
      const { message } = yield* usageError(["nope"])
      expect(message).not.toContain("__")
      expect(Cli.commandNames).not.toContain("__box-names")
    }).pipe(Effect.runPromise))

  it("parses a good command line without error", () =>
    Effect.gen(function*() {
      const directive = yield* Cli.parse(["ps", "-a", "--format", "json"]).pipe(Effect.provide(NodeContext.layer))
      expect(directive._tag).toBe("UserDefined")
    }).pipe(Effect.runPromise))
})
