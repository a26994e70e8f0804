import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fsp from "node:fs/promises"
import { bootEnvironment } from "../../domain/BoxEnvironment.js"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import { errorText } from "../../platform/ErrorText.js"
import type { ProbeResult } from "../BoxRuntime.js"
import { killQuietly } from "./processCalls.js"

/**
 * `BoxRuntime.probe` of the local runtime: the box's health-check command, run in the box's
 * environment and working directory under its hard timeout; a probe over its timeout has its
 * whole process group killed.
 */

const unhealthy = (reason: string): ProbeResult => ({ _tag: "Unhealthy", reason })
const healthy: ProbeResult = { _tag: "Healthy" }

/** The last bytes a probe printed, kept for the failure reason. Larger output is discarded as it arrives. */
const PROBE_OUTPUT_TAIL = 512

/** `: LAST LINE` of a probe's output (its last 200 characters), or nothing when it printed nothing. */
export const outputSuffix = (tail: string): string => {
  const lines = tail.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const last = lines.at(-1)
  if (last === undefined) return ""
  return `: ${last.length > 200 ? `…${last.slice(-200)}` : last}`
}

const runProbe = (
  cmd: ReadonlyArray<string>,
  env: Record<string, string>,
  cwd: string
): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    const exe = cmd[0]!
    let child: ChildProcess
    try {
      child = spawn(exe, cmd.slice(1), { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    } catch (error) {
      resume(Effect.succeed(unhealthy(`cannot run health check ${exe} (${errorText(error)})`)))
      return
    }
    let tail = ""
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-PROBE_OUTPUT_TAIL)
    }
    child.stdout!.on("data", collect)
    child.stderr!.on("data", collect)
    let exited = false
    let settled = false
    const settle = (result: ProbeResult) => {
      child.stdout!.destroy()
      child.stderr!.destroy()
      if (settled) return
      settled = true
      resume(Effect.succeed(result))
    }
    child.once("error", (error) => {
      exited = true
      settle(unhealthy(`cannot run health check ${exe} (${error.message})`))
    })
    child.once("exit", (code, signal) => {
      exited = true
      if (code === 0) settle(healthy)
      else if (code !== null) settle(unhealthy(`health check exited with code ${code}${outputSuffix(tail)}`))
      else settle(unhealthy(`health check was killed by ${signal}`))
    })
    // Interrupted (timeout): kill the probe's whole process group, then wait until it is reaped.
    return Effect.async<void>((done) => {
      settled = true
      if (exited) return done(Effect.void)
      // The leader is our unreaped child: its pid (and so its group id) cannot have been reused.
      killQuietly(child.pid, "SIGKILL", true)
      const timer = setTimeout(() => done(Effect.void), 5_000)
      child.once("exit", () => {
        clearTimeout(timer)
        child.stdout!.destroy()
        child.stderr!.destroy()
        done(Effect.void)
      })
    })
  })

/** Runs the box's health check: healthy on exit 0; unhealthy, with the reason, on anything else. */
export const probe = (box: BoxRecord): Effect.Effect<ProbeResult> =>
  Effect.gen(function*() {
    const check = box.health_check
    if (check === null) return unhealthy("the box has no health_check")
    if (check.cmd.length === 0 || check.cmd[0] === "") return unhealthy("its health_check.cmd is empty")
    const cwd = box.workdir ?? box.box_dir
    const cwdOk = yield* Effect.promise(() => fsp.stat(cwd).then((s) => s.isDirectory(), () => false))
    if (!cwdOk) return unhealthy(`its working directory ${cwd} does not exist`)
    const seconds = Number.isFinite(check.timeout_secs) ? Math.max(1, check.timeout_secs) : 1
    return yield* runProbe(check.cmd, bootEnvironment(box, process.env), cwd).pipe(
      Effect.timeoutTo({
        duration: Duration.seconds(seconds),
        onSuccess: (result): ProbeResult => result,
        onTimeout: (): ProbeResult => unhealthy(`health check timed out after ${seconds}s`)
      })
    )
  }).pipe(Effect.withSpan("LocalBoxRuntime.probe"))
