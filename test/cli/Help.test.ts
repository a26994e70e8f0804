import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Cli from "../../src/cli/Cli.js"
import * as Colour from "../../src/cli/Colour.js"
import * as Help from "../../src/cli/Help.js"

const root = Help.tree(Cli.rootCommand)
const commands = Help.allCommands(root)

const BOILERPLATE = [
  "A true or false value",
  "A user-defined piece of text",
  "This setting is optional",
  "may be repeated",
  "One of the following",
  "--wizard",
  "--log-level",
  "--completions",
  "$ "
]

describe("Help: every command's help, rendered from the command tree", () => {
  it("covers the whole tree (root, box commands, monitor and its service subcommands, completion)", () => {
    expect(commands.map((command) => command.path.join(" "))).toEqual([
      "a3s-box",
      "a3s-box run",
      "a3s-box ps",
      "a3s-box stop",
      "a3s-box start",
      "a3s-box restart",
      "a3s-box rm",
      "a3s-box logs",
      "a3s-box inspect",
      "a3s-box events",
      "a3s-box monitor",
      "a3s-box monitor install",
      "a3s-box monitor uninstall",
      "a3s-box monitor status",
      "a3s-box completion"
    ])
  })

  it.each(commands.map((command) => [command.path.join(" "), command] as const))("%s", (name, command) => {
    const text = Help.render(command, false)
    const lines = text.split("\n")
    expect(lines[0]!.startsWith(`Usage: ${name}`)).toBe(true)
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(Help.WIDTH)
    for (const phrase of BOILERPLATE) expect(text).not.toContain(phrase)
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/\x1b/)
    expect(text).toContain(command.description.split(" ").slice(0, 4).join(" "))
    // Every flag the parser takes, each on its own line, with -h/--help.
    const terms = lines.filter((line) => /^ {2}-/.test(line) || /^ {6}--/.test(line)).map((line) =>
      line.trim().split(/ {2,}/)[0]!.split(/[ ,]+/)
    )
    for (const flag of command.flags) {
      for (const flagName of flag.names) expect(terms.filter((term) => term.includes(flagName)), flagName).toHaveLength(1)
      // The default, in the description's own words or appended.
      if (flag.default !== undefined && !flag.description.includes("default")) expect(text).toContain(`(default ${flag.default})`)
    }
    expect(lines.filter((line) => /^ {2}-h, --help +Show this help$/.test(line))).toHaveLength(1)
    expect(text.includes("--version")).toBe(command.path.length === 1)
    for (const sub of command.subcommands.filter((s) => !Help.isHidden(s.path.at(-1)!))) {
      expect(lines.filter((line) => line.startsWith(`  ${sub.path.at(-1)!} `))).toHaveLength(1)
    }
  })

  it("lists each command of a3s-box once, on one line, with a one-sentence description", () => {
    const lines = Help.render(root, false).split("\n")
    const start = lines.indexOf("Commands:")
    const list = lines.slice(start + 1, lines.indexOf("", start))
    expect(list.map((line) => line.trim().split(/\s+/)[0])).toEqual(Cli.commandNames)
    for (const line of list) {
      expect(line).toMatch(/^ {2}[a-z]+ +[A-Z]/)
      expect(line).not.toMatch(/\.\s/)
    }
    expect(Cli.commandNames).not.toContain("__box-names")
  })

  it("bolds the section headings only when asked to", () => {
    expect(Help.render(root, true)).toContain("\x1b[1mUsage:\x1b[0m a3s-box")
    expect(Help.render(root, false)).toMatch(/^Usage: a3s-box/)
  })

  it.each([
    [[], "a3s-box"],
    [["--help"], "a3s-box"],
    [["-h"], "a3s-box"],
    [["run", "--help"], "a3s-box run"],
    [["run", "-d", "-h", "--", "true"], "a3s-box run"],
    [["monitor", "status", "--help"], "a3s-box monitor status"],
    [["logs", "web", "-h"], "a3s-box logs"]
  ])("a3s-box %j asks for the help of %s", (args, name) => {
    expect(Help.requested(root, args)?.path.join(" ")).toBe(name)
  })

  it.each([[["ps"]], [["run", "--", "ls", "--help"]], [["frobnicate", "--help"]]])("a3s-box %j asks for no help", (args) => {
    expect(Help.requested(root, args)).toBeUndefined()
  })

  it("wraps text at word boundaries", () => {
    expect(Help.wrap("aa bb cc dd", 5)).toEqual(["aa bb", "cc dd"])
    expect(Help.wrap("averyveryverylongword x", 5)).toEqual(["averyveryverylongword", "x"])
  })
})

describe("Colour.enabled", () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [undefined, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [true, { NO_COLOR: "" }, false],
    [true, { TERM: "dumb" }, false],
    [false, { FORCE_COLOR: "1" }, true],
    [true, { NO_COLOR: "1", FORCE_COLOR: "1" }, true],
    [true, { FORCE_COLOR: "0" }, true],
    [false, { FORCE_COLOR: "0" }, false]
  ])("isTTY %s, env %j: %s", (isTTY, env, expected) => {
    expect(Colour.enabled({ isTTY }, env)).toBe(expected)
  })
})

/**
 * The README's CLI reference and the help never drift: every `a3s-box ...` command line the
 * README shows names a real command and only flags that command takes, and every command and
 * flag of the help is documented in the README.
 */
describe("the README's CLI reference against the help", () => {
  const readme = readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8")
  const flagsOf = (command: Help.CommandHelp) => new Set(command.flags.flatMap((flag) => flag.names).concat(["-h", "--help"]))
  const resolve = (words: ReadonlyArray<string>): [Help.CommandHelp, ReadonlyArray<string>] => {
    let at = root
    let i = 0
    for (; i < words.length; i++) {
      const sub = at.subcommands.find((command) => command.path.at(-1) === words[i])
      if (sub === undefined) break
      at = sub
    }
    return [at, words.slice(i)]
  }
  /** Every `a3s-box ...` command line in the README: in code spans and in code blocks. */
  const commandLines = [
    ...[...readme.matchAll(/`(a3s-box [^`]*)`/g)].map((match) => match[1]!),
    ...readme.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("a3s-box ")).map((line) => line.split("#")[0]!)
  ]

  it("links only to files of the repository (a fresh clone has nothing beside it)", () => {
    for (const file of ["README.md", "docs/behaviour.md"]) {
      const text = readFileSync(path.join(__dirname, "..", "..", file), "utf8")
      for (const [, target] of text.matchAll(/\]\(([^)]+)\)/g)) {
        const local = target!.split("#")[0]!
        expect(target, `${file}: ${target}`).not.toMatch(/^[a-z]+:/)
        const resolved = path.resolve(path.dirname(path.join(__dirname, "..", "..", file)), local)
        expect(resolved.startsWith(path.resolve(__dirname, "..", "..") + path.sep), `${file}: ${target}`).toBe(true)
        expect(existsSync(resolved), `${file}: ${target}`).toBe(true)
      }
    }
  })

  it("finds the README's command lines", () => {
    expect(commandLines.length).toBeGreaterThan(20)
  })

  it.each(commandLines.map((line) => [line]))("`%s` uses a real command and only its flags", (line) => {
    const words = line.replace(/\\\|/g, "|").split(/\s+/).filter((word) => word !== "")
    const [command, rest] = resolve(words.slice(1))
    const end = rest.indexOf("--")
    const flags = flagsOf(command)
    for (const word of (end < 0 ? rest : rest.slice(0, end))) {
      const flag = /^(--?[a-z][a-z-]*)/.exec(word.replace(/^\[/, ""))?.[1]
      if (flag === undefined || flag === "--version" && command === root || flag === "-") continue
      expect(flags.has(flag), `${flag} in \`${line}\``).toBe(true)
    }
    if (command === root && words.length > 1 && /^[a-z]/.test(words[1]!)) {
      expect(Cli.commandNames, `\`${line}\``).toContain(words[1])
    }
  })

  it.each(commands.slice(1).map((command) => [command.path.join(" "), command] as const))("documents `%s` and its flags", (name, command) => {
    const reference = readme.slice(readme.indexOf("## CLI reference"))
    expect(reference).toContain(`\`${name}`)
    for (const flag of command.flags) {
      const long = flag.names.find((flagName) => flagName.startsWith("--"))!
      expect(reference, `${name} ${long}`).toMatch(new RegExp(`${long}\\b`))
    }
  })
})
