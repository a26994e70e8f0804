import * as Command from "@effect/cli/Command"
import packageJson from "../../package.json" with { type: "json" }

/** The root command: `a3s-box`. Each command group lives in its own module. */
export const rootCommand = Command.make("a3s-box").pipe(
  Command.withDescription("Run detached boxes and keep them alive (daemonless; see `a3s-box monitor`).")
)

export const run = Command.run(rootCommand, {
  name: "a3s-box",
  version: packageJson.version
})
