import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "./cli/Cli.js"

// @effect/cli has already printed a usage error; runMain would log it a second time.
Cli.run(process.argv).pipe(
  Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => { process.exitCode = 2 })),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
