import type * as Command from "@effect/cli/Command"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Option from "effect/Option"
import * as Colour from "./Colour.js"

/**
 * The CLI's help, docker-style (`Usage: a3s-box run [OPTIONS] ...`, one line per command or
 * flag, at most 100 columns), rendered from the @effect/cli command tree itself so that it can
 * never list a flag the parser does not take, or miss one. @effect/cli's own help repeats every
 * flag of a command on each usage line, pads the command list to ~300 columns and adds
 * boilerplate to every option ("A true or false value.", "This setting is optional."); its
 * CliConfig can hide the built-ins but not those. The tree's nodes are read by their `_tag`s
 * (@effect/cli's descriptor, options and args nodes); test/cli/Help.test.ts renders every command.
 */

export const WIDTH = 100

export interface FlagHelp {
  /** `-d`, `--detach`: short names first. */
  readonly names: ReadonlyArray<string>
  /** The value's placeholder (`string`, `int`, `table|json`), empty for a boolean flag. */
  readonly value: string
  readonly description: string
  /** The default the parser fills in, when it is a value (not "absent" and not `false`). */
  readonly default: string | undefined
}

export interface ArgHelp {
  readonly name: string
  readonly description: string
  readonly min: number
  readonly max: number
}

export interface CommandHelp {
  /** `["a3s-box", "monitor", "install"]`. */
  readonly path: ReadonlyArray<string>
  readonly description: string
  readonly flags: ReadonlyArray<FlagHelp>
  readonly args: ReadonlyArray<ArgHelp>
  readonly subcommands: ReadonlyArray<CommandHelp>
}

/** Commands whose name starts with `__` are for scripts (shell completion) and are not listed. */
export const isHidden = (name: string): boolean => name.startsWith("__")

// --- reading the tree --------------------------------------------------------------------------

type Node = Readonly<Record<string, unknown>>
const node = (value: unknown): Node => (typeof value === "object" && value !== null ? (value as Node) : {})
const optionValue = <A>(value: unknown, orElse: A): A | unknown =>
  Option.isOption(value) ? Option.getOrElse(value, () => orElse) : value

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** A help document as plain text: its paragraphs joined by a space. */
export const docText = (doc: HelpDoc.HelpDoc): string => {
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return spanText(doc.value)
    case "DescriptionList":
      return doc.definitions.map(([term, body]) => `${spanText(term)}: ${docText(body)}`).join(" ")
    case "Enumeration":
      return doc.elements.map(docText).join(" ")
    case "Sequence":
      return [docText(doc.left), docText(doc.right)].filter((text) => text !== "").join(" ")
  }
}

const describe = (value: unknown): string => {
  const doc = node(value)
  return typeof doc["_tag"] === "string" ? docText(doc as unknown as HelpDoc.HelpDoc) : ""
}

const placeholder = (single: Node): string => {
  const type = node(single["primitiveType"])
  switch (type["_tag"]) {
    case "Bool":
      return ""
    case "Choice":
      return (Array.isArray(type["alternatives"]) ? type["alternatives"] : []).map((choice) => String(node(choice)[0])).join("|")
    case "Integer":
      return "int"
    case "Float":
      return "float"
    default: {
      const pseudo = optionValue(single["pseudoName"], undefined)
      return typeof pseudo === "string" ? pseudo : "string"
    }
  }
}

const defaultText = (fallback: unknown): string | undefined =>
  Option.isOption(fallback) || fallback === false || fallback === undefined ? undefined : String(fallback)

const flagsOf = (options: unknown, fallback?: string): ReadonlyArray<FlagHelp> => {
  const o = node(options)
  switch (o["_tag"]) {
    case "Single": {
      const aliases = Array.isArray(o["aliases"]) ? o["aliases"].map(String) : []
      const names = [...aliases.map((alias) => (alias.length === 1 ? `-${alias}` : `--${alias}`)), String(o["fullName"])]
      return [{
        names: names.sort((a, b) => a.length - b.length),
        value: placeholder(o),
        description: describe(o["description"]),
        default: fallback
      }]
    }
    case "Map":
    case "WithFallback":
      return flagsOf(o["options"], fallback)
    case "WithDefault":
      return flagsOf(o["options"], defaultText(o["fallback"]))
    case "Both":
    case "OrElse":
      return [...flagsOf(o["left"]), ...flagsOf(o["right"])]
    case "Variadic":
    case "KeyValueMap":
      return flagsOf(o["argumentOption"], fallback)
    default:
      return []
  }
}

const argsOf = (args: unknown, min = 1, max = 1): ReadonlyArray<ArgHelp> => {
  const a = node(args)
  switch (a["_tag"]) {
    case "Single":
      return [{ name: String(a["name"]).replace(/^<(.*)>$/, "$1"), description: describe(a["description"]), min, max }]
    case "Map":
    case "WithFallbackConfig":
      return argsOf(a["args"], min, max)
    case "WithDefault":
      return argsOf(a["args"], 0, max)
    case "Both":
      return [...argsOf(a["left"]), ...argsOf(a["right"])]
    case "Variadic":
      return argsOf(a["args"], Number(optionValue(a["min"], 0)), Number(optionValue(a["max"], Infinity)))
    default:
      return []
  }
}

const commandOf = (descriptor: unknown, parent: ReadonlyArray<string>): CommandHelp => {
  const d = node(descriptor)
  switch (d["_tag"]) {
    case "Map":
      return commandOf(d["command"], parent)
    case "Subcommands": {
      const self = commandOf(d["parent"], parent)
      const children = Array.isArray(d["children"]) ? d["children"] : []
      return { ...self, subcommands: children.map((child) => commandOf(child, self.path)) }
    }
    default:
      return {
        path: [...parent, String(d["name"])],
        description: describe(d["description"]),
        flags: flagsOf(d["options"]),
        args: argsOf(d["args"]),
        subcommands: []
      }
  }
}

/** The help model of a command and everything under it. */
export const tree = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): CommandHelp =>
  commandOf(command.descriptor, [])

/** Every command of the tree, the root first, hidden ones left out. */
export const allCommands = (root: CommandHelp): ReadonlyArray<CommandHelp> => [
  root,
  ...root.subcommands.filter((command) => !isHidden(command.path.at(-1)!)).flatMap(allCommands)
]

/**
 * The command whose help argv asks for (`-h`/`--help` before any `--`), or undefined when it
 * asks for none, or names a command that does not exist (the parser reports that: exit 2).
 */
export const requested = (root: CommandHelp, args: ReadonlyArray<string>): CommandHelp | undefined => {
  const end = args.indexOf("--")
  const options = end < 0 ? args : args.slice(0, end)
  if (args.length > 0 && !options.some((arg) => arg === "-h" || arg === "--help")) return undefined
  let at = root
  for (const word of args) {
    if (word.startsWith("-")) break
    const sub = at.subcommands.find((command) => command.path.at(-1) === word)
    if (sub === undefined) {
      if (at === root) return undefined
      break
    }
    at = sub
  }
  return at
}

// --- rendering ---------------------------------------------------------------------------------

/** Words of `text` on lines of at most `width` columns (a longer word gets a line of its own). */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines
}

/** The first sentence of a description: what the command list shows. */
export const summary = (description: string): string => {
  const end = description.search(/\.(\s|$)/)
  return end < 0 ? description : description.slice(0, end)
}

const MAX_TERM = 30

/** `  TERM   description`, the description wrapped in its column (below the term if that is too long). */
const rows = (entries: ReadonlyArray<readonly [string, string]>): ReadonlyArray<string> => {
  const column = Math.min(MAX_TERM, Math.max(...entries.map(([term]) => term.length)))
  const indent = " ".repeat(2 + column + 2)
  return entries.flatMap(([term, description]) => {
    const body = wrap(description, WIDTH - indent.length)
    if (term.length > column) return [`  ${term}`, ...body.map((line) => indent + line)]
    const [first = "", ...rest] = body
    return [`  ${term.padEnd(column)}  ${first}`.trimEnd(), ...rest.map((line) => indent + line)]
  })
}

const flagTerm = (flag: FlagHelp): string => {
  const short = flag.names.find((name) => !name.startsWith("--"))
  const long = flag.names.filter((name) => name.startsWith("--")).join(", ")
  const names = short === undefined ? `    ${long}` : long === "" ? short : `${short}, ${long}`
  return flag.value === "" ? names : `${names} ${flag.value}`
}

const flagDescription = (flag: FlagHelp): string =>
  flag.default === undefined || /\bdefault\b/.test(flag.description)
    ? flag.description
    : `${flag.description} (default ${flag.default})`

const HELP_FLAG: FlagHelp = { names: ["-h", "--help"], value: "", description: "Show this help", default: undefined }
const VERSION_FLAG: FlagHelp = { names: ["--version"], value: "", description: "Print the version", default: undefined }

/** Usage forms that the tree alone does not say: `run` takes the box's command after `--`. */
const USAGE: Readonly<Record<string, string>> = {
  "a3s-box run": "a3s-box run [OPTIONS] [--] CMD [ARG...]"
}

const argUsage = (arg: ArgHelp): string => {
  if (arg.max > 1) return arg.min >= 1 ? `${arg.name} [${arg.name}...]` : `[${arg.name}...]`
  return arg.min >= 1 ? arg.name : `[${arg.name}]`
}

const usageLines = (command: CommandHelp): ReadonlyArray<string> => {
  const path = command.path.join(" ")
  if (USAGE[path] !== undefined) return [USAGE[path]]
  const isRoot = command.path.length === 1
  const own = [path, ...(command.flags.length > 0 ? ["[OPTIONS]"] : []), ...command.args.map(argUsage)].join(" ")
  if (command.subcommands.length === 0) return [own]
  return isRoot ? [`${path} [OPTIONS] COMMAND`] : [own, `${path} COMMAND [OPTIONS]`]
}

/** The help text of `command` (no trailing newline); `colour` makes the section headings bold. */
export const render = (command: CommandHelp, colour: boolean): string => {
  const heading = (text: string) => Colour.bold(colour, text)
  const [firstUsage, ...moreUsage] = usageLines(command)
  const out: Array<string> = [
    `${heading("Usage:")} ${firstUsage}`,
    ...moreUsage.map((line) => `       ${line}`),
    "",
    ...wrap(command.description, WIDTH)
  ]
  const subcommands = command.subcommands.filter((sub) => !isHidden(sub.path.at(-1)!))
  if (subcommands.length > 0) {
    out.push("", heading("Commands:"), ...rows(subcommands.map((sub) => [sub.path.at(-1)!, summary(sub.description)])))
  }
  const args = command.args.filter((arg) => arg.description !== "")
  if (args.length > 0) out.push("", heading("Arguments:"), ...rows(args.map((arg) => [arg.name, arg.description])))
  const flags = [...command.flags, HELP_FLAG, ...(command.path.length === 1 ? [VERSION_FLAG] : [])]
  out.push("", heading("Options:"), ...rows(flags.map((flag) => [flagTerm(flag), flagDescription(flag)])))
  if (subcommands.length > 0) {
    out.push("", `Run '${command.path.join(" ")} COMMAND --help' for more information on a command.`)
  }
  return out.join("\n")
}
