import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { StateStore } from "../state/StateStore.js"
import * as Help from "./Help.js"
import * as Layers from "./Layers.js"

/**
 * `a3s-box completion bash|zsh`: a shell completion script for commands, their flags and, for
 * the commands that take boxes, the names of this home's boxes. The script asks
 * `a3s-box __box-names` (hidden; read-only: no lock, no reconcile, no warning) each time it
 * completes a box, so new boxes complete at once. Commands and flags come from the command tree
 * (Help.ts), so the script never offers a flag the parser does not take.
 */

export const SHELLS = ["bash", "zsh"] as const
export type Shell = (typeof SHELLS)[number]

/** The commands whose arguments are boxes. */
export const BOX_COMMANDS = ["stop", "start", "restart", "rm", "logs", "inspect"] as const

const flagWords = (command: Help.CommandHelp): ReadonlyArray<string> => [
  ...command.flags.flatMap((flag) => flag.names),
  "-h",
  "--help"
]

const visible = (root: Help.CommandHelp) => root.subcommands.filter((command) => !Help.isHidden(command.path.at(-1)!))

export const bashScript = (root: Help.CommandHelp): string => {
  const cases = visible(root).map((command) => {
    const name = command.path.at(-1)!
    const words = [...flagWords(command), ...command.subcommands.map((sub) => sub.path.at(-1)!)].join(" ")
    const boxes = (BOX_COMMANDS as ReadonlyArray<string>).includes(name)
    return `    ${name}) flags="${words}"; boxes=${boxes ? 1 : 0} ;;`
  })
  return `# a3s-box bash completion: source <(a3s-box completion bash), or save it as
# ~/.local/share/bash-completion/completions/a3s-box
_a3s_box() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" flags="" boxes=0
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${visible(root).map((command) => command.path.at(-1)!).join(" ")} --help --version" -- "$cur"))
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
  esac
  if [ "$boxes" = 1 ] && [[ "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$(a3s-box __box-names 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  fi
  return 0
}
complete -F _a3s_box a3s-box
`
}

/** A `_describe` entry, `'name:description'` (a colon in the description escaped), single-quoted for zsh. */
const zshEntry = (name: string, description: string): string =>
  `'${`${name}:${description.replaceAll(":", "\\:")}`.replaceAll("'", "'\\''")}'`

export const zshScript = (root: Help.CommandHelp): string => {
  const described = visible(root).map((command) => `    ${zshEntry(command.path.at(-1)!, Help.summary(command.description))}`)
  const cases = visible(root).map((command) => {
    const name = command.path.at(-1)!
    const words = [...flagWords(command), ...command.subcommands.map((sub) => sub.path.at(-1)!)].join(" ")
    const boxes = (BOX_COMMANDS as ReadonlyArray<string>).includes(name)
    return `    ${name}) flags=(${words}); boxes=${boxes ? 1 : 0} ;;`
  })
  return `#compdef a3s-box
# a3s-box zsh completion: source <(a3s-box completion zsh) after compinit, or save it as _a3s-box
# in a directory of your $fpath
_a3s_box() {
  local -a commands flags names
  local boxes=0
  commands=(
${described.join("\n")}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
${cases.join("\n")}
  esac
  if [[ $boxes == 1 && $PREFIX != -* ]]; then
    names=(\${(f)"$(a3s-box __box-names 2>/dev/null)"})
    compadd -a names
  else
    compadd -a flags
  fi
}
if (( $+functions[compdef] )); then compdef _a3s_box a3s-box; fi
`
}

/** `a3s-box completion SHELL`; `tree` is the whole command tree (this command is in it). */
export const command = (tree: () => Help.CommandHelp) =>
  Command.make("completion", {
    shell: Args.choice(SHELLS.map((shell) => [shell, shell] as const), { name: "SHELL" }).pipe(
      Args.withDescription("bash or zsh")
    )
  }, ({ shell }) => Console.log((shell === "bash" ? bashScript : zshScript)(tree()).trimEnd())).pipe(
    Command.withDescription("Print a shell completion script (bash or zsh) that also completes box names")
  )

/** `a3s-box __box-names`: the names of this home's boxes, one per line (for the completion scripts). */
export const namesCommand = Command.make("__box-names", {}, () =>
  Effect.gen(function*() {
    const store = yield* StateStore
    const records = yield* store.snapshot
    yield* Console.log(records.map((box) => box.name).join("\n"))
  })).pipe(Command.provide(Layers.live))
