import type * as ValidationError from "@effect/cli/ValidationError"
import * as Help from "./Help.js"

/**
 * Usage errors in the CLI's own words. @effect/cli's are terse and name nothing (`'abc' is not a
 * integer`, `Missing argument <BOX>`); the parser's `ValidationError` says which kind of error it
 * is (its `_tag`) and the argv which flag and which command:
 * `Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)`.
 * test/cli/UsageErrors.test.ts runs the real parser on bad command lines (a contract test: a
 * library upgrade that changes a message fails it), and every message ends with the hint.
 */

/** The subcommand path of argv (`run`, `monitor install`): the leading words before any option or value. */
export const commandOf = (args: ReadonlyArray<string>): string => {
  const words: Array<string> = []
  for (const arg of args) {
    if (arg.startsWith("-") || !/^[a-z][a-z-]*$/.test(arg)) break
    words.push(arg)
    if (words.length === 2 || words[0] !== "monitor") break
  }
  return ["a3s-box", ...words].join(" ")
}

/** The option that `value` was given to in argv (`--flag value`, `-t value` or `--flag=value`). */
export const optionGiven = (args: ReadonlyArray<string>, value: string): string | undefined => {
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith("--") && arg.includes("=") && arg.slice(arg.indexOf("=") + 1) === value) return arg.slice(0, arg.indexOf("="))
    if (arg === value && i > 0 && args[i - 1]!.startsWith("-") && args[i - 1] !== "--") return args[i - 1]
  }
  return undefined
}

/** The text of an `InvalidValue`, `InvalidArgument` or `MissingValue` error in the CLI's words; undefined when it is none of those it knows. */
const rewriteValue = (text: string, args: ReadonlyArray<string>): string | undefined => {
  const command = commandOf(args)
  const hint = hintOf(args)
  const notA = /^'([\s\S]*)' is not a(?:n)? (integer|number|boolean|float)$/.exec(text)
  if (notA !== null) {
    const [, value, kind] = notA as unknown as [string, string, string]
    const option = optionGiven(args, value)
    const expected = kind === "integer" ? "an integer" : `a ${kind}`
    return option === undefined
      ? `Error: '${value}' is not ${expected}${hint}`
      : `Error: invalid ${option} '${value}': expected ${expected}${hint}`
  }
  const missing = /^Missing argument <([^>]+)>$/.exec(text)
  if (missing !== null) return `Error: missing argument ${missing[1]}: \`${command} ${missing[1]}\`${hint}`
  const choice = /^Expected one of the following cases: (.*)$/.exec(text)
  if (choice !== null) {
    const cases = choice[1]!.split(",").map((c) => c.trim())
    const given = args.findIndex((arg, i) => i > 0 && args[i - 1]!.startsWith("-") && !cases.includes(arg))
    if (given >= 0) return `Error: invalid ${args[given - 1]} '${args[given]}': expected one of ${cases.join(", ")}${hint}`
    // An argument (`completion fish`): the last word that is neither the command nor a choice.
    const words = command.split(" ").slice(1)
    const argument = args.filter((arg) => !arg.startsWith("-") && !cases.includes(arg) && !words.includes(arg)).at(-1)
    return argument === undefined
      ? `Error: invalid value: expected one of ${cases.join(", ")}${hint}`
      : `Error: invalid argument '${argument}': expected one of ${cases.join(", ")}${hint}`
  }
  const notAnOption = (option: string) =>
    `Error: '${option}' is not an option of \`${command}\`, or is missing its value${hint}`
  const unknown = /^Received unknown argument: '([\s\S]*)'$/.exec(text)
  if (unknown !== null) return unknown[1]!.startsWith("-") ? notAnOption(unknown[1]!) : `Error: unknown argument '${unknown[1]}'${hint}`
  // The commands' own option checks (`Options.filterMap` / `mapEffect`) name their flag first.
  if (text.startsWith("--")) return `Error: ${text.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" ")}${hint}`
  return undefined
}

/** An unknown command, or an unknown option or one missing its value where a command was expected: `CommandMismatch`. */
const rewriteMismatch = (choices: ReadonlyArray<string>, args: ReadonlyArray<string>): string => {
  const notAnOption = (option: string, command: string) =>
    `Error: '${option}' is not an option of \`${command}\`, or is missing its value (see \`${command} --help\`)`
  const given = args.find((arg) => !arg.startsWith("-"))
  const lastOption = args.filter((arg) => arg.startsWith("-")).at(-1)
  if (given === undefined && lastOption !== undefined) {
    return `Error: '${lastOption}' is not an option of \`a3s-box\` (see \`a3s-box --help\`)`
  }
  if (given === undefined || !choices.includes(given)) {
    return `Error: unknown command${given === undefined ? "" : ` '${given}'`}: use one of ${choices.join(", ")} (see \`a3s-box --help\`)\n`.trimEnd()
  }
  // A known command followed by an option it does not take, or one missing its value
  // (`monitor --bogus`, `monitor --interval`): @effect/cli reports neither by name.
  if (lastOption !== undefined) return notAnOption(lastOption, `a3s-box ${given}`)
  const extra = args[args.indexOf(given) + 1]
  return `Error: unknown argument${extra === undefined ? "" : ` '${extra}'`} for \`a3s-box ${given}\` (see \`a3s-box ${given} --help\`)`
}

/**
 * The one-line message for a usage error of the parser on `args` (argv without node and
 * script); `commands` are the commands `a3s-box` offers (for an unknown one).
 */
export const message = (
  error: ValidationError.ValidationError,
  args: ReadonlyArray<string>,
  commands: ReadonlyArray<string>
): string => {
  const text = Help.docText(error.error).trim()
  switch (error._tag) {
    case "CommandMismatch":
      return rewriteMismatch(commands, args)
    case "InvalidArgument":
    case "InvalidValue":
    case "MissingValue":
      return rewriteValue(text, args) ?? `Error: ${text}${hintOf(args)}`
    default:
      // MissingFlag, CorrectedFlag ("did you mean"), MultipleValuesDetected, ...: the library's words are clear enough.
      return `Error: ${text}${hintOf(args)}`
  }
}

const hintOf = (args: ReadonlyArray<string>) => ` (see \`${commandOf(args)} --help\`)`
