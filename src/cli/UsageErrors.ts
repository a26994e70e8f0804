import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/**
 * Usage errors as @effect/cli prints them are terse and name nothing: `'abc' is not a integer`,
 * `Missing argument <BOX>`. This rewrites them, as they are printed, into the CLI's own form:
 * `Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)`. The
 * argv tells which flag and which command. Only @effect/cli's usage documents are touched: the
 * texts it prints for a bad value, a missing argument, an unknown choice or argument, and the
 * commands' own option checks (which start with the flag, `--interval must be ...`).
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

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

/** One printed usage document in the CLI's own words; undefined when it is not one of @effect/cli's. */
export const rewrite = (printed: string, args: ReadonlyArray<string>): string | undefined => {
  const text = printed.replace(ANSI, "").trim()
  if (text === "" || text.startsWith("Error:") || text.startsWith("Warning:")) return undefined
  const command = commandOf(args)
  const hint = ` (see \`${command} --help\`)`
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
    return given < 0
      ? `Error: invalid value: expected one of ${cases.join(", ")}${hint}`
      : `Error: invalid ${args[given - 1]} '${args[given]}': expected one of ${cases.join(", ")}${hint}`
  }
  const notAnOption = (option: string) =>
    `Error: '${option}' is not an option of \`${command}\`, or is missing its value${hint}`
  const unknown = /^Received unknown argument: '([\s\S]*)'$/.exec(text)
  if (unknown !== null) return unknown[1]!.startsWith("-") ? notAnOption(unknown[1]!) : `Error: unknown argument '${unknown[1]}'${hint}`
  const subcommand = /^Invalid subcommand for (\S+) - use one of (.*)$/.exec(text)
  if (subcommand !== null) {
    const choices = subcommand[2]!.split(",").map((c) => c.trim().replaceAll("'", ""))
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
    if (lastOption !== undefined) return notAnOption(lastOption)
    const extra = args[args.indexOf(given) + 1]
    return `Error: unknown argument${extra === undefined ? "" : ` '${extra}'`} for \`a3s-box ${given}\` (see \`a3s-box ${given} --help\`)`
  }
  // The commands' own option checks (`Options.filterMap` / `mapEffect`) name their flag first.
  if (text.startsWith("--")) return `Error: ${text.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" ")}${hint}`
  return undefined
}

/** Runs `self` (the CLI on `args`, without node and script) with @effect/cli's usage errors rewritten. */
export const rewritten = <A, E, R>(self: Effect.Effect<A, E, R>, args: ReadonlyArray<string>): Effect.Effect<A, E, R> =>
  Console.consoleWith((base) =>
    Effect.withConsole(self, {
      ...base,
      error: (...items: ReadonlyArray<unknown>) => {
        const better = items.length === 1 && typeof items[0] === "string" ? rewrite(items[0], args) : undefined
        return better === undefined ? base.error(...items) : base.error(better)
      }
    })
  )
