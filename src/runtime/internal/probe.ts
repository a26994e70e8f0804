import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import { bootEnvironment } from "../../domain/BoxEnvironment.js"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import * as GroupProcess from "../../platform/GroupProcess.js"
import type { ProbeResult } from "../BoxRuntime.js"
import { httpProbe, tcpProbe } from "./netProbe.js"

/**
 * `BoxRuntime.probe` of the local runtime: the box's health-check command, run in the box's
 * environment and working directory under its hard timeout; a probe over its timeout has its
 * whole process group killed.
 */

const unhealthy = (reason: string): ProbeResult => ({ _tag: "Unhealthy", reason })
const healthy: ProbeResult = { _tag: "Healthy" }

/** The last bytes a probe printed, kept for the failure reason. Larger output is discarded as it arrives. */
const PROBE_OUTPUT_TAIL = 512

const runProbe = (
  cmd: ReadonlyArray<string>,
  env: Record<string, string>,
  cwd: string
): Effect.Effect<ProbeResult> =>
  // Interrupted (timeout): the probe's whole process group is killed (SIGKILL), then reaped.
  Effect.map(GroupProcess.runInGroup({ cmd, env, cwd, outputTail: PROBE_OUTPUT_TAIL }), ({ exit, tail }) =>
    GroupProcess.GroupExit.$match(exit, {
      Exited: ({ code }) => (code === 0 ? healthy : unhealthy(`health check exited with code ${code}${GroupProcess.outputSuffix(tail)}`)),
      Signalled: ({ signal }) => unhealthy(`health check was killed by ${signal}`),
      SpawnFailed: ({ reason }) => unhealthy(`cannot run health check ${cmd[0]!} (${reason})`)
    }))

/**
 * Runs the box's health check: its HTTP GET or TCP connect if it has one (netProbe.ts, no
 * process), else its command (healthy on exit 0); unhealthy, with the reason, on anything else.
 */
export const probe = (box: BoxRecord): Effect.Effect<ProbeResult> =>
  Effect.gen(function*() {
    const check = box.health_check
    if (check === null) return unhealthy("the box has no health_check")
    const seconds = Number.isFinite(check.timeout_secs) ? Math.max(1, check.timeout_secs) : 1
    const timed = Effect.timeoutTo({
      duration: Duration.seconds(seconds),
      onSuccess: (result: ProbeResult): ProbeResult => result,
      onTimeout: (): ProbeResult => unhealthy(`health check timed out after ${seconds}s`)
    })
    if (check.http !== undefined) return yield* timed(httpProbe(check.http))
    if (check.tcp !== undefined) return yield* timed(tcpProbe(check.tcp))
    if (check.cmd.length === 0 || check.cmd[0] === "") return unhealthy("its health_check.cmd is empty")
    const cwd = box.workdir ?? box.box_dir
    const cwdOk = yield* Effect.promise(() => fsp.stat(cwd).then((s) => s.isDirectory(), () => false))
    if (!cwdOk) return unhealthy(`its working directory ${cwd} does not exist`)
    return yield* timed(runProbe(check.cmd, bootEnvironment(box, process.env), cwd))
  }).pipe(Effect.withSpan("LocalBoxRuntime.probe"))
