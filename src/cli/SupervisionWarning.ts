/**
 * No silent loss of supervision (SPEC §11): `a3s-box ps`, `run -d` and `start` print one
 * warning line on stderr when boxes rely on a monitor (a restart policy that could restart
 * them, or a health check) and no live monitor supervises their home. Never on stdout, never
 * a change of exit code; `--quiet` or `A3S_NO_MONITOR_WARNING=1` silences it.
 */
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { type BoxRecord, hasHealthCheck } from "../domain/BoxRecord.js"
import * as BoxStatus from "../domain/BoxStatus.js"
import * as RestartPolicy from "../domain/RestartPolicy.js"
import { policyAllowsUnhealthyRestart } from "../domain/Supervision.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import { StateStore } from "../state/StateStore.js"

export const ENV_VAR = "A3S_NO_MONITOR_WARNING"

/**
 * Whether a box relies on a running monitor:
 * - an active box (running or paused) whose restart policy would restart it if it died now
 *   (`no`, a reached cap, or `--rm` would not), or a running box with a health check in force
 *   (only the monitor probes it: without one its health stays `starting` forever);
 * - a dead box that its restart policy says to restart (it waits for a monitor to do it).
 * Created and stopped boxes, and dead boxes their policy leaves dead, need nothing.
 */
export const needsSupervision = (box: BoxRecord): boolean => {
  if (BoxStatus.isDead(box)) return RestartPolicy.shouldRestart(box)
  if (!BoxStatus.isActive(box)) return false
  return policyAllowsUnhealthyRestart(box) || (BoxStatus.isRunning(box) && hasHealthCheck(box))
}

export const countNeedingSupervision = (records: ReadonlyArray<BoxRecord>): number =>
  records.reduce((n, box) => (needsSupervision(box) ? n + 1 : n), 0)

/** `A3S_NO_MONITOR_WARNING` silences the warning when set to 1, true or yes (any case). */
export const silencedBy = (value: string | undefined): boolean =>
  value !== undefined && ["1", "true", "yes"].includes(value.trim().toLowerCase())

const secs = (s: number) => `${Math.floor(s)}s`

/** The warning, one line (no trailing newline). */
export const warningLine = (count: number, verdict: Heartbeat.Verdict, home: string): string => {
  const boxes = count === 1
    ? "1 box with a restart policy or health check is"
    : `${count} boxes with a restart policy or health check are`
  const why = verdict._tag === "Stale"
    ? `the a3s-box monitor for ${home} (pid ${verdict.heartbeat.pid}) is not responding (${
      verdict.polled ? "no poll cycle completed" : "no poll cycle completed since it started"
    } for ${secs(verdict.secondsSinceLastCycle)})`
    : `no a3s-box monitor is running for ${home}`
  return `Warning: ${boxes} not supervised: ${why}. Run \`a3s-box monitor\`, or install it as a service with \`a3s-box monitor --install\` (--quiet or ${ENV_VAR}=1 hides this warning).`
}

/** The whole decision, pure: the line to print, if any. */
export const decide = (input: {
  readonly quiet: boolean
  readonly env: string | undefined
  readonly verdict: Heartbeat.Verdict
  readonly records: ReadonlyArray<BoxRecord>
  readonly home: string
}): Option.Option<string> => {
  if (input.quiet || silencedBy(input.env) || Heartbeat.isSupervising(input.verdict)) return Option.none()
  const count = countNeedingSupervision(input.records)
  return count === 0 ? Option.none() : Option.some(warningLine(count, input.verdict, input.home))
}

/** `--quiet`, for the commands that may warn. */
export const quietOption = Options.boolean("quiet").pipe(
  Options.withDescription(
    `Do not warn (on stderr) when boxes with a restart policy or health check have no running monitor (also ${ENV_VAR}=1), or when other users can read the home`
  )
)

const envValue: Effect.Effect<string | undefined> = Config.string(ENV_VAR).pipe(
  Config.option,
  Effect.map(Option.getOrUndefined),
  Effect.orElseSucceed(() => undefined)
)

/**
 * Prints the warning on stderr when it applies. Cheap when it does not: the environment and
 * `--quiet` are looked at first, then the heartbeat (one small file and one /proc read); the
 * state is read (a snapshot: no lock, no write) only when no live monitor was found, unless
 * the caller passes the records it already has. Never fails and never touches stdout.
 */
export const warnIfUnsupervised = (options: {
  readonly quiet: boolean
  readonly records?: ReadonlyArray<BoxRecord>
}): Effect.Effect<void, never, StateStore | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const env = yield* envValue
    if (options.quiet || silencedBy(env)) return
    const store = yield* StateStore
    const home = path.dirname(store.path)
    const verdict = yield* Heartbeat.inspect(home)
    if (Heartbeat.isSupervising(verdict)) return
    const records = options.records ?? (yield* store.snapshot)
    const line = decide({ quiet: options.quiet, env, verdict, records, home })
    if (Option.isSome(line)) yield* Console.error(line.value)
  }).pipe(Effect.catchAllCause(() => Effect.void))
