import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { errnoCode } from "../platform/ErrorText.js"
import { BoxRuntime, type BoxRuntimeShape } from "./BoxRuntime.js"
import { makeBoot } from "./internal/boot.js"
import { watchExit } from "./internal/exitWatch.js"
import { BootedBoxes } from "./internal/bootedBoxes.js"
import { readExitCode } from "./internal/boxFiles.js"
import { makeLauncher } from "./internal/launcher.js"
import { probe } from "./internal/probe.js"
import { killRemains, makeStop } from "./internal/stop.js"
import * as ProcessInfo from "./ProcessInfo.js"

/**
 * The box runtime backed by real processes on this host. Its pieces are in `internal/`: the
 * wrapper program every box runs under (wrapper.sh, loaded as wrapperScript.ts), the launcher
 * that starts wrappers in batches and keeps a spare (launcher.ts, gate.ts), the boot
 * (boot.ts, over boxFiles.ts), the stop and the clean-up of a dead box's group (stop.ts), the
 * watch of the end of a run it did not boot (exitWatch.ts) and the health probe (probe.ts).
 */

/** `<box_dir>/exit_code` (the wrapper writes each run's exit code there) and the wrapper's argv[0]: see BoxProcess. */
export { exitCodePath, WRAPPER_NAME } from "./BoxProcess.js"
/** Parses the content of an exit_code file: one integer, surrounding whitespace allowed. */
export { parseExitCodeFile } from "./internal/boxFiles.js"
/** The box launcher and wrapper program: see internal/wrapper.sh. */
export { WRAPPER_SCRIPT } from "./internal/wrapperScript.js"

/** `kill(pid, 0)`: about a microsecond, no identity or zombie check. EPERM means it exists. */
export const pidExists = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errnoCode(error) === "EPERM"
  }
}

/**
 * Builds the local-process runtime. Boxes booted by this instance are remembered (by pid)
 * until they exit, so `stop` can take their exit code straight from the wrapper.
 */
export const make: Effect.Effect<BoxRuntimeShape> = Effect.sync(() => {
  const booted = new BootedBoxes()
  const boot = makeBoot(makeLauncher(), booted)
  const stop = makeStop(booted)

  // Real processes live in real time: stop timeouts, probe timeouts and boot deadlines use
  // the wall clock even when the caller runs under TestClock.
  const wallClock = Clock.make()
  return BoxRuntime.of({
    boot,
    stop: (box) => Effect.withClock(stop(box), wallClock),
    killRemains: (boxes) => Effect.withClock(killRemains(boxes), wallClock),
    liveness: (targets, verify) =>
      verify ? ProcessInfo.areAlive(targets) : Effect.sync(() => targets.map((target) => pidExists(target.pid))),
    watchExit,
    exitCode: readExitCode,
    probe: (box) => Effect.withClock(probe(box), wallClock)
  })
})

/** The box runtime backed by real processes on this host. */
export const layer: Layer.Layer<BoxRuntime> = Layer.effect(BoxRuntime, make)
