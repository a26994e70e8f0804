import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** Errors of the box commands. Each `message` names the thing at fault and what to do. */

/** A flag value the command cannot accept (checked before anything is written). */
export class InvalidFlag extends Data.TaggedError("InvalidFlag")<{
  readonly flag: string
  readonly value: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid ${this.flag} '${this.value}': ${this.reason}`
  }
}

/** `run` was given no command. */
export class MissingCommand extends Data.TaggedError("MissingCommand")<{}> {
  override get message(): string {
    return "no command given: usage `a3s-box run [OPTIONS] -- CMD [ARG...]`"
  }
}

/** Another box already has this name. */
export class NameInUse extends Data.TaggedError("NameInUse")<{
  readonly name: string
  readonly holder: string
}> {
  override get message(): string {
    return `the name '${this.name}' is already in use by box ${this.holder}: remove that box (\`a3s-box rm ${this.name}\`) or choose another --name`
  }
}

/** The command needs the box not to be running (`rm` without `-f`). */
export class BoxIsActive extends Data.TaggedError("BoxIsActive")<{
  readonly box: string
  readonly status: string
}> {
  override get message(): string {
    return `box ${this.box} is ${this.status}: stop it first (\`a3s-box stop ${this.box}\`) or use \`a3s-box rm -f ${this.box}\``
  }
}

/** A `stop` of this box is in progress (or was interrupted): it cannot be started now. */
export class BoxBeingStopped extends Data.TaggedError("BoxBeingStopped")<{
  readonly box: string
}> {
  override get message(): string {
    return `box ${this.box} is being stopped; wait for that, or run \`a3s-box stop ${this.box}\` again, then start it`
  }
}

/** The box was removed by someone else while this command was working on it. */
export class BoxVanished extends Data.TaggedError("BoxVanished")<{
  readonly box: string
}> {
  override get message(): string {
    return `box ${this.box} was removed while this command was running`
  }
}

/** Reading or removing a box's files failed. */
export class BoxFileError extends Data.TaggedError("BoxFileError")<{
  readonly path: string
  readonly operation: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot ${this.operation} ${this.path}: ${this.reason}`
  }
}

/** Some of the boxes of a multi-box command failed; each failure is reported on its own line. */
export class BoxFailures extends Data.TaggedError("BoxFailures")<{
  readonly failures: ReadonlyArray<{ readonly message: string }>
}> {
  override get message(): string {
    return this.failures.map((failure) => failure.message).join("\n")
  }
}

/**
 * An option the command does not have. @effect/cli hands unknown options of commands with
 * positional arguments (`run CMD...`, `stop BOX...`) over as arguments; these are caught here.
 * A usage error: exit code 2.
 */
export class UnknownOption extends Data.TaggedError("UnknownOption")<{
  readonly command: string
  readonly option: string
}> {
  override get message(): string {
    return `unknown option '${this.option}' for \`a3s-box ${this.command}\` (see \`a3s-box ${this.command} --help\`)`
  }
}

/** The errors of a command's own checks of its command line: usage errors, exit 2 (Outcome.ts). */
export type CommandLineError = InvalidFlag | MissingCommand | UnknownOption

/** Fails with `UnknownOption` for the first argument that looks like an option (box names and ids never start with '-'). */
export const rejectOptionLike = (command: string, args: ReadonlyArray<string>) => {
  const option = args.find((arg) => arg.startsWith("-") && arg !== "-")
  return option === undefined ? Effect.void : Effect.fail(new UnknownOption({ command, option }))
}
