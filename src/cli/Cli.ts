import * as Command from "@effect/cli/Command"
import packageJson from "../../package.json" with { type: "json" }
import * as BoxCommands from "./BoxCommands.js"
import * as MonitorCommand from "./MonitorCommand.js"
import * as Outcome from "./Outcome.js"
import * as UsageErrors from "./UsageErrors.js"

/**
 * The root command: `a3s-box`. Each command group lives in its own module; add a group by
 * appending its command to `subcommands`.
 */
export const subcommands = [
  ...BoxCommands.commands,
  MonitorCommand.command
] as const

export const rootCommand = Command.make("a3s-box").pipe(
  Command.withDescription("Run detached boxes and keep them alive (daemonless; see `a3s-box monitor`)."),
  Command.withSubcommands(subcommands)
)

export const run = Command.run(rootCommand, {
  name: "a3s-box",
  version: packageJson.version
})

/**
 * Runs the CLI on `argv` (process.argv shape) with every expected failure handled in one place
 * (see Outcome.ts): usage errors exit 2, domain errors print `Error: <message>` and exit 1.
 */
export const main = (argv: ReadonlyArray<string>) => Outcome.handle(UsageErrors.rewritten(run(argv), argv.slice(2)))
