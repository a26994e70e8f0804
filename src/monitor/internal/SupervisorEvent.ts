/**
 * What the supervisor's owner fiber is told, through its one queue: everything that may call for
 * a cycle, a probe or a change of its memory. Its workers, the liveness tick, the poll schedule
 * and the state file's watch only ever offer these; none of them touches the supervisor's state.
 */
import * as Data from "effect/Data"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import type { ProbeResult } from "../../runtime/BoxRuntime.js"

export type SupervisorEvent = Data.TaggedEnum<{
  /** The poll schedule (`Schedule.spaced(interval)`): a full cycle, checking every active box. */
  Poll: {}
  /** `Supervisor.wake`: a full cycle as soon as possible. */
  Wake: {}
  /** The state file may have changed (its watch said so, or the liveness tick saw its stamp move). */
  FileChanged: {}
  /** The state file is watched from now on: the liveness tick need not poll its stamp. */
  WatchStarted: {}
  /** The state file is not (or no longer) watched: the liveness tick polls its stamp. */
  WatchLost: { readonly reason: string }
  /** A box's run ended: the monitor booted it (its exit waiter saw it at `at`), or its end was watched (`BoxRuntime.watchExit`). */
  Exited: { readonly id: string; readonly pid: number; readonly at: number }
  /** The end of this box's run cannot be watched (`reason`): the liveness tick polls its pid. */
  ExitUnwatchable: { readonly id: string; readonly pid: number; readonly reason: string }
  /** The liveness tick found these boxes' pids gone. */
  Gone: { readonly ids: ReadonlyArray<string> }
  /** Deaths held back for their exit code: look at them again. */
  Recheck: { readonly ids: ReadonlyArray<string> }
  /** A health check of `box` (the record as it was when started) finished at `at`. */
  Probed: { readonly box: BoxRecord; readonly result: ProbeResult; readonly at: number }
  /**
   * An unhealthy restart's stop is over. `killedForHealth`: the box was marked dead (or found so)
   * and is restarted as decided; `stopFailed`: the stop itself failed, at `at` (the box backs off).
   */
  UnhealthyStopped: {
    readonly box: BoxRecord
    readonly killedForHealth: boolean
    readonly stopFailed: string | undefined
    readonly at: number
  }
}>

export const SupervisorEvent = Data.taggedEnum<SupervisorEvent>()
