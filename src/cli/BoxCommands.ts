import * as Command from "@effect/cli/Command"
import * as EventsCommand from "./EventsCommand.js"
import * as InspectCommand from "./InspectCommand.js"
import * as Layers from "./Layers.js"
import * as LogsCommand from "./LogsCommand.js"
import * as PsCommand from "./PsCommand.js"
import * as RestartCommand from "./RestartCommand.js"
import * as RmCommand from "./RmCommand.js"
import * as RunCommand from "./RunCommand.js"
import * as StartCommand from "./StartCommand.js"
import * as StopCommand from "./StopCommand.js"

/** The docker-like box commands, each running on the live layer stack (see Layers.ts). */

const onLiveLayers = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, Layers.live)

export const commands = [
  onLiveLayers(RunCommand.command),
  onLiveLayers(PsCommand.command),
  onLiveLayers(StopCommand.command),
  onLiveLayers(StartCommand.command),
  onLiveLayers(RestartCommand.command),
  onLiveLayers(RmCommand.command),
  onLiveLayers(LogsCommand.command),
  onLiveLayers(InspectCommand.command),
  onLiveLayers(EventsCommand.command)
] as const
