import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./cli/Cli.js"
import * as Platform from "./cli/Platform.js"

// A closed stdout (`a3s-box logs BOX | head`) is not a crash: writers notice and stop.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
})

// Cli.main reports expected failures itself and sets process.exitCode (Outcome.ts); the
// teardown keeps that code, also when a signal (Ctrl-C) ended the run. Anything left in the
// exit is a defect: runMain logs it and the process exits 1.
Cli.main(process.argv).pipe(
  Effect.provide(Platform.layer),
  NodeRuntime.runMain({
    disableErrorReporting: false,
    teardown: (exit, onExit) => {
      if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) return onExit(1)
      onExit(typeof process.exitCode === "number" ? process.exitCode : 0)
    }
  })
)
