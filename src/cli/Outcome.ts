import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/**
 * How a command run ends for the shell: the one place that sets the process exit code and
 * prints expected errors (`Error: <message>` on stderr, no stack trace).
 *
 * Exit codes: 0 success; 1 a domain error (bad flag value, unknown box, corrupt state file,
 * ...); 2 a usage error from @effect/cli (already printed by it); an attached `run` exits
 * with its box's exit code.
 */

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** Sets the exit code the process ends with (bin.ts's teardown honours it). */
export const setExitCode = (code: number): Effect.Effect<void> => Effect.sync(() => { process.exitCode = code })

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return String(error)
}

/** The stderr lines for an expected error: one per failed box for multi-box commands. */
export const errorLines = (error: unknown): ReadonlyArray<string> => {
  if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "BoxFailures" && "failures" in error) {
    return (error.failures as ReadonlyArray<unknown>).map((failure) => `Error: ${messageOf(failure)}`)
  }
  return messageOf(error).split("\n").map((line, index) => (index === 0 ? `Error: ${line}` : line))
}

const isUsageError = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "UnknownOption"

/** Prints an expected error and marks the run failed (exit 1; 2 for a usage error the commands found). */
export const report = (error: unknown): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.forEach(errorLines(error), (line) => Console.error(line), { discard: true }),
    setExitCode(isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE)
  )

/** Handles every expected failure of a command run: usage errors (already printed) exit 2, the rest are reported. */
export const handle = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  self.pipe(
    Effect.asVoid,
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error) ? setExitCode(EXIT_USAGE) : report(error)
    )
  )
