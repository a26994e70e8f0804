import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as GroupProcess from "../platform/GroupProcess.js"

/**
 * How an event hook's command is run: a small service so that the hook runner's tests inject a
 * fake (no processes, TestClock), while the monitor runs `sh -c CMD` for real.
 */
export interface HookRunnerShape {
  /**
   * Runs `command` by `sh -c`, with `stdin` on its stdin and `env` on top of the monitor's
   * environment. Never fails. Interrupted (its timeout), its whole process group gets SIGTERM,
   * then SIGKILL `TERM_GRACE_MILLIS` later if still there.
   */
  readonly run: (command: string, stdin: string, env: Record<string, string>) => Effect.Effect<GroupProcess.GroupRunResult>
}

export class HookRunner extends Context.Tag("a3s-box/HookRunner")<HookRunner, HookRunnerShape>() {}

/** How long a timed-out hook has between SIGTERM and SIGKILL. */
export const TERM_GRACE_MILLIS = 1_000

/** How much of a hook's output is kept, for the warning when it fails. */
const OUTPUT_TAIL = 512

/** The environment variables a hook is given (names; see EventHooks.hookEnvironment). */
export const HOOK_VARIABLES: ReadonlyArray<string> = [
  "A3S_EVENT",
  "A3S_EVENT_SEQ",
  "A3S_EVENT_TIME",
  "A3S_EVENT_COUNT",
  "A3S_BOX_ID",
  "A3S_BOX_NAME",
  "A3S_EXIT_CODE",
  "A3S_SIGNAL",
  "A3S_RESTART_REASON",
  "A3S_RESTART_ATTEMPT",
  "A3S_HEALTH_STATUS"
]

/**
 * The monitor's environment under `env`: the hook variables the monitor itself may have been
 * started with are dropped first, so a hook sees only those that apply to its event.
 */
export const environmentFor = (base: NodeJS.ProcessEnv, env: Record<string, string>): Record<string, string | undefined> => {
  const merged: Record<string, string | undefined> = { ...base }
  for (const name of HOOK_VARIABLES) delete merged[name]
  return { ...merged, ...env }
}

/** The real runner: `sh -c CMD` in its own process group (GroupProcess, as health checks run). */
export const layer: Layer.Layer<HookRunner> = Layer.succeed(HookRunner, {
  run: (command, stdin, env) =>
    GroupProcess.runInGroup({
      cmd: ["sh", "-c", command],
      env: environmentFor(process.env, env),
      stdin,
      outputTail: OUTPUT_TAIL,
      termGraceMillis: TERM_GRACE_MILLIS
    })
})
