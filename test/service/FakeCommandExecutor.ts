/**
 * A scripted `CommandExecutor` for the installer's flows: each command line gets a canned exit
 * code and output (or a spawn failure, as a missing binary gives), and every call is recorded.
 */
import type * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import { SystemError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"

export type Reply =
  | { readonly exitCode: number; readonly stdout?: string; readonly stderr?: string; readonly before?: () => void }
  | "NotFound"

export interface FakeExecutor {
  readonly calls: Array<ReadonlyArray<string>>
  readonly layer: Layer.Layer<CommandExecutor.CommandExecutor>
}

/** `script(argv)` answers each command; unknown commands exit 0 with no output. */
export const fakeExecutor = (script: (argv: ReadonlyArray<string>) => Reply | undefined): FakeExecutor => {
  const calls: Array<ReadonlyArray<string>> = []
  const encoder = new TextEncoder()
  const start = (command: Command.Command) =>
    Effect.suspend(() => {
      if (command._tag !== "StandardCommand") return Effect.die("piped commands are not scripted")
      const argv = [command.command, ...command.args]
      calls.push(argv)
      const reply = script(argv) ?? { exitCode: 0 }
      if (reply === "NotFound") {
        return Effect.fail(
          new SystemError({
            reason: "NotFound",
            module: "Command",
            method: "spawn",
            pathOrDescriptor: command.command,
            description: `spawn ${command.command} ENOENT`
          })
        )
      }
      reply.before?.()
      const process: CommandExecutor.Process = {
        [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
        pid: CommandExecutor.ProcessId(4242),
        exitCode: Effect.succeed(CommandExecutor.ExitCode(reply.exitCode)),
        isRunning: Effect.succeed(false),
        kill: () => Effect.void,
        stdout: Stream.make(encoder.encode(reply.stdout ?? "")),
        stderr: Stream.make(encoder.encode(reply.stderr ?? "")),
        stdin: Sink.drain,
        toJSON: () => ({ _id: "FakeProcess", argv }),
        toString: () => `FakeProcess(${argv.join(" ")})`,
        [Inspectable.NodeInspectSymbol]: () => ({ _id: "FakeProcess", argv })
      }
      return Effect.succeed(process)
    })
  return { calls, layer: Layer.succeed(CommandExecutor.CommandExecutor, CommandExecutor.makeExecutor(start)) }
}

/** What a user without a reachable manager sees (TESTING.md). */
export const BUS_DOWN = "Failed to connect to bus: No medium found\n"
