/** Runs `systemctl`, `launchctl` and `loginctl` through `CommandExecutor`, with a time limit. */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { isNotFound } from "../../platform/ErrorText.js"
import type { CommandFailure, FailedCommand } from "../Errors.js"

/** How long one `systemctl`/`launchctl`/`loginctl` may take before it counts as failed. */
export const COMMAND_TIMEOUT_SECONDS = 30

export interface CommandOutput {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const collect = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>) =>
  stream.pipe(Stream.decodeText(), Stream.mkString)

/** Runs a command to completion; a missing binary, a spawn error or a timeout is a `CommandFailure`. */
export const runCommand = (
  argv: ReadonlyArray<string>
): Effect.Effect<Either.Either<CommandOutput, CommandFailure>, never, CommandExecutor.CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function*() {
      const process = yield* Command.start(Command.make(argv[0]!, ...argv.slice(1)))
      const [stdout, stderr, exitCode] = yield* Effect.all(
        [collect(process.stdout), collect(process.stderr), process.exitCode],
        { concurrency: "unbounded" }
      )
      return { exitCode: Number(exitCode), stdout, stderr }
    })
  ).pipe(
    Effect.timeoutFail({
      duration: Duration.seconds(COMMAND_TIMEOUT_SECONDS),
      onTimeout: (): CommandFailure => ({ _tag: "TimedOut", seconds: COMMAND_TIMEOUT_SECONDS })
    }),
    Effect.mapError((error): CommandFailure =>
      "_tag" in error && error._tag === "TimedOut"
        ? error
        : isNotFound(error)
        ? { _tag: "NotFound" }
        : { _tag: "SpawnFailed", detail: "message" in error ? String(error.message) : String(error) }
    ),
    Effect.either
  )

/** Runs a command; a non-zero exit counts as a failure too. */
export const runChecked = (
  argv: ReadonlyArray<string>
): Effect.Effect<Either.Either<CommandOutput, FailedCommand>, never, CommandExecutor.CommandExecutor> =>
  Effect.map(
    runCommand(argv),
    Either.match({
      onLeft: (failure) => Either.left({ argv, failure }),
      onRight: (out) =>
        out.exitCode === 0
          ? Either.right(out)
          : Either.left({ argv, failure: { _tag: "ExitCode", exitCode: out.exitCode, stderr: out.stderr } })
    })
  )

/** A runner bound to one executor, for a layer that captured it. */
export const runnerOn = (executor: CommandExecutor.CommandExecutor) => ({
  run: (argv: ReadonlyArray<string>) => Effect.provideService(runCommand(argv), CommandExecutor.CommandExecutor, executor),
  checked: (argv: ReadonlyArray<string>) =>
    Effect.provideService(runChecked(argv), CommandExecutor.CommandExecutor, executor)
})
