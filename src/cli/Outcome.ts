import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { InvalidRestartPolicy } from "../domain/RestartPolicy.js"
import { errorText } from "../platform/ErrorText.js"
import type { CommandLineError } from "./CliErrors.js"

/**
 * How a command run ends for the shell: the one place that sets the process exit code and
 * prints expected errors (`Error: <message>` on stderr, no stack trace).
 *
 * Exit codes, one rule: 0 success; 2 anything wrong with the command line (unknown command
 * or flag, missing or malformed value, a value out of range or not one of the allowed forms,
 * missing argument), whether the parser finds it or the command's own checks do; 1 a failure
 * while doing the work (unknown box, corrupt state file, boot failure, port in use). An
 * attached `run` exits with its box's exit code.
 */

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** Sets the exit code the process ends with (bin.ts's teardown honours it). */
export const setExitCode = (code: number): Effect.Effect<void> => Effect.sync(() => { process.exitCode = code })

/**
 * Ends the run with `code` when it is a failure; a success leaves the exit code as it is
 * (0 unless something else already set it).
 */
export const exitWith = (code: number): Effect.Effect<void> => code === EXIT_OK ? Effect.void : setExitCode(code)

/** Prints lines on stderr. */
const printLines = (lines: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.forEach(lines, (line) => Console.error(line), { discard: true })

/** The stderr lines for an expected error: one per failed box for multi-box commands. */
export const errorLines = (error: unknown): ReadonlyArray<string> => {
  if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "BoxFailures" && "failures" in error) {
    return (error.failures as ReadonlyArray<unknown>).map((failure) => `Error: ${errorText(failure)}`)
  }
  return errorText(error).split("\n").map((line, index) => (index === 0 ? `Error: ${line}` : line))
}

/**
 * The errors of the commands' own checks of their command line: usage errors (exit 2). The
 * parser's are `ValidationError`s (`handle`).
 */
export const USAGE_ERROR_TAGS: ReadonlyArray<(CommandLineError | InvalidRestartPolicy)["_tag"]> = [
  "UnknownOption",
  "InvalidFlag",
  "MissingCommand",
  "InvalidRestartPolicy"
]

export const isUsageError = (error: unknown): boolean =>
  ValidationError.isValidationError(error) ||
  (typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" &&
    (USAGE_ERROR_TAGS as ReadonlyArray<string>).includes(error._tag))

/** Prints a usage error's message and exits 2. */
export const usageError = (message: string): Effect.Effect<void> =>
  Effect.zipRight(Console.error(message), setExitCode(EXIT_USAGE))

/** Prints an expected error and marks the run failed (exit 1; 2 for a usage error the commands found). */
export const report = (error: unknown): Effect.Effect<void> =>
  Effect.zipRight(printLines(errorLines(error)), setExitCode(isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE))

/** Prints an expected error and gives exit code 1, for commands that return their exit code. */
export const failure = (error: unknown): Effect.Effect<number> => Effect.as(printLines(errorLines(error)), EXIT_FAILURE)

/** Handles every expected failure of a command run: parser errors (already printed) exit 2, the rest are reported. */
export const handle = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  self.pipe(
    Effect.asVoid,
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error) ? setExitCode(EXIT_USAGE) : report(error)
    )
  )
