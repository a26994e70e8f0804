import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { BoxRecord } from "../domain/BoxRecord.js"

/** The box's process could not be started. */
export class BootFailed extends Data.TaggedError("BootFailed")<{
  readonly box: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot start box ${this.box}: ${this.reason}`
  }
}

/** The box's process could not be signalled. */
export class StopFailed extends Data.TaggedError("StopFailed")<{
  readonly box: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot stop box ${this.box}: ${this.reason}`
  }
}

/**
 * The runtime would not signal the process at the box's recorded pid: nothing it can read proves
 * that process is the box's (a record without `pid_start_time`, written by an older tool, whose
 * pid may have been reused by an unrelated process). Nothing was signalled.
 */
export class SignalRefused extends Data.TaggedError("SignalRefused")<{
  readonly box: string
  readonly pid: number
  readonly reason: string
}> {
  override get message(): string {
    return `not signalling process ${this.pid} of box ${this.box}: ${this.reason}. ` +
      `If it is the box's, stop it yourself (kill ${this.pid}); if not, \`a3s-box rm -f ${this.box}\` forgets the box without signalling it`
  }
}

/** A freshly started box process. */
export interface BootedBox {
  readonly pid: number
  /** Start-time identity of `pid` (Linux: field 22 of /proc/PID/stat), null where unknown. */
  readonly pidStartTime: number | null
  /**
   * Completes with the exit code (128+N for a death by signal N) when the process ends.
   * Only this process can observe it, as the box's parent: a monitor uses it to notice a
   * crash at once instead of at its next poll. Does not complete if this process is not
   * the box's parent any more.
   */
  readonly exited: Effect.Effect<number>
  /**
   * Present when booted with `gated` (and the runtime supports it): the box's command waits at
   * a gate until this runs. Absent: the command started at once.
   */
  readonly release?: Effect.Effect<void>
  /** With `release`: drops the gated process before its command runs (it exits with code 125). */
  readonly abandon?: Effect.Effect<void>
}

export interface BootOptions {
  /**
   * Start the box's process, but hold its command at a gate until `BootedBox.release` (default
   * false: the command starts at once). A gated box whose booting process dies before the
   * release (or that is `abandon`ed) never runs its command: its process exits with code 125.
   * The monitor records a restart in the state file before releasing the box, so a monitor
   * killed in between never leaves a box running that no record names (no box booted twice,
   * SPEC §11). A runtime without gates ignores the option.
   */
  readonly gated?: boolean
}

/** What a health check found (SPEC §6). */
export type ProbeResult = Data.TaggedEnum<{
  Healthy: {}
  Unhealthy: { readonly reason: string }
}>

export const ProbeResult = Data.taggedEnum<ProbeResult>()

/** Whether the end of a box's current run can be awaited (`BoxRuntimeShape.watchExit`). */
export type ExitWatch = Data.TaggedEnum<{
  /** `ended` completes once the run may have ended (its exit code was written): look at the box then. */
  Watching: { readonly ended: Effect.Effect<void> }
  /** It cannot be awaited (`reason`): its pid must be polled. */
  Unwatchable: { readonly reason: string }
}>

export const ExitWatch = Data.taggedEnum<ExitWatch>()

/** A process whose liveness is asked (`BoxRuntimeShape.liveness`): its pid and, when known, its start time. */
export interface LivenessTarget {
  readonly pid: number
  readonly startTime: number | null
}

export interface BoxRuntimeShape {
  /** Starts the box's `cmd` detached (own session and process group), output appended to `console_log`; its exit code lands in `<box_dir>/exit_code`. */
  readonly boot: (box: BoxRecord, options?: BootOptions) => Effect.Effect<BootedBox, BootFailed>
  /**
   * Stop signal to the box's process group, SIGKILL to the group after its stop timeout (the
   * stop ends when the whole group is gone). Returns the exit code when known. Never signals a
   * process that is not provably the box's (see `BoxProcess.decideTarget`): a pid whose start
   * time no longer matches is gone; one that cannot be told apart is `SignalRefused`.
   */
  readonly stop: (box: BoxRecord) => Effect.Effect<Option.Option<number>, StopFailed | SignalRefused>
  /**
   * SPEC §12: a box whose main process is found dead has the rest of its process group killed
   * (SIGKILL) before it is recorded dead or restarted, if that group is provably the box's
   * incarnation's (see `BoxProcess.decideRemains`). Called for the deaths a reconcile observes.
   * Optional: a runtime without process groups has nothing to do.
   */
  readonly killRemains?: (boxes: ReadonlyArray<BoxRecord>) => Effect.Effect<void>
  /**
   * Whether each target's process is alive, answered in order: the one way to ask about
   * liveness. With `verify`, SPEC §3's check: the pid exists, is not a zombie, and (when
   * `startTime` is known) still has that start time; a poll cycle asks this of every active box,
   * the CLI of one. Without `verify`, only whether each pid still exists (zombies included, start
   * time ignored): the monitor's short liveness tick asks this every 100 ms of the boxes it did
   * not boot, so it must cost about a microsecond per pid; the next cycle verifies identity.
   * The implementation picks its fast path (locally: `kill(pid, 0)` or one pass over /proc).
   */
  readonly liveness: (targets: ReadonlyArray<LivenessTarget>, verify: boolean) => Effect.Effect<ReadonlyArray<boolean>>
  /**
   * Awaits the end of the current run of a box this process did not boot (its parent is its
   * wrapper, not us: `BootedBox.exited` cannot see it), for as long as the scope is open, so the
   * monitor learns of it as of a child's exit instead of polling the pid (issue 13). Unwatchable
   * when nothing proves a wrapper of this box will report the end (no pid, the run already
   * ended, its parent is not its wrapper, no watch can be set up): poll it then. A watched box
   * whose wrapper is killed (SIGKILL: nothing reports) is found by the poll cycle's liveness
   * check, the safety net.
   */
  readonly watchExit: (box: BoxRecord) => Effect.Effect<ExitWatch, never, Scope.Scope>
  /** The exit code the box's last run left in `<box_dir>/exit_code`, if any. */
  readonly exitCode: (box: BoxRecord) => Effect.Effect<Option.Option<number>>
  /** Runs the health-check command with its hard timeout; a timed-out probe is killed. */
  readonly probe: (box: BoxRecord) => Effect.Effect<ProbeResult>
}

/** Boots, stops, probes and checks the liveness of box processes. */
export class BoxRuntime extends Context.Tag("a3s-box/BoxRuntime")<BoxRuntime, BoxRuntimeShape>() {}
