import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import packageJson from "../../package.json" with { type: "json" }
import * as BoxCommands from "./BoxCommands.js"
import * as CliLogger from "./CliLogger.js"
import * as Colour from "./Colour.js"
import * as Completion from "./Completion.js"
import * as Help from "./Help.js"
import * as MonitorCommand from "./MonitorCommand.js"
import * as Outcome from "./Outcome.js"
import * as UsageErrors from "./UsageErrors.js"

/**
 * The root command: `a3s-box`. Each command group lives in its own module; add a group by
 * appending its command to `subcommands`.
 */
export const subcommands = [
  ...BoxCommands.commands,
  MonitorCommand.command,
  Completion.command(() => help),
  Completion.namesCommand
] as const

export const rootCommand = Command.make("a3s-box").pipe(
  Command.withDescription("Run detached boxes and keep them alive (daemonless; see `a3s-box monitor`)."),
  Command.withSubcommands(subcommands)
)

/** The help model of the whole tree (Help.ts). */
const help: Help.CommandHelp = Help.tree(rootCommand)

/** The commands `a3s-box` offers, as a usage error lists them. */
export const commandNames = help.subcommands.map((command) => command.path.at(-1)!).filter((name) => !Help.isHidden(name))

/** @effect/cli's own runner, only for its remaining built-ins (`--completions`, `--wizard`, `--log-level`). */
const libraryRun = Command.run(rootCommand, { name: "a3s-box", version: packageJson.version })

/**
 * Parses `args` (argv without node and script) with the command tree. A usage error fails with
 * the parser's `ValidationError`, unprinted (the CLI words it: UsageErrors.ts); so do arguments
 * left over after the command's own.
 */
export const parse = (args: ReadonlyArray<string>) =>
  Effect.flatMap(
    Descriptor.parse(rootCommand.descriptor, ["a3s-box", ...args], CliConfig.defaultConfig),
    (directive) =>
      directive._tag === "UserDefined" && directive.leftover.length > 0
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(`Received unknown argument: '${directive.leftover[0]}'`)))
        : Effect.succeed(directive)
  )

const execute = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const args = argv.slice(2)
    const end = args.indexOf("--")
    if ((end < 0 ? args : args.slice(0, end)).includes("--version")) return yield* Console.log(`a3s-box ${packageJson.version}`)
    const asked = Help.requested(help, args)
    if (asked !== undefined) return yield* Console.log(Help.render(asked, Colour.enabled(process.stdout, process.env)))
    const directive = yield* parse(args)
    if (directive._tag === "BuiltIn") return yield* libraryRun(argv)
    return yield* rootCommand.transform(rootCommand.handler(directive.value), directive.value)
  })

/**
 * Runs the CLI on `argv` (process.argv shape) with every expected failure handled in one place:
 * usage errors print `Error: <what is wrong> (see ...)` and exit 2, the rest are reported by
 * Outcome.ts (exit 1, or 2 for the bad flag values the commands find themselves).
 */
export const main = (argv: ReadonlyArray<string>) =>
  Outcome.handle(
    execute(argv).pipe(
      Effect.catchIf(ValidationError.isValidationError, (error) =>
        Outcome.usageError(UsageErrors.message(error, argv.slice(2), commandNames)))
    )
  ).pipe(Effect.provide(CliLogger.layer))
