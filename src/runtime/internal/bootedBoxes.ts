import type * as Deferred from "effect/Deferred"
import type { Socket } from "node:net"

/**
 * The boxes this runtime instance booted and that have not exited yet, by pid: their wrapper's
 * gate stays open until it reports the box's exit code, so `stop` can take the code straight from
 * there instead of waiting for the exit_code file. Written by `boot`, read by `stop`.
 */
export class BootedBoxes {
  private readonly byPid = new Map<number, { readonly startTime: number | null; readonly exit: Deferred.Deferred<number> }>()

  /** Remembers the box at `pid` until its gate closes (after its `exit CODE`, or when it is dropped). */
  remember(pid: number, startTime: number | null, exit: Deferred.Deferred<number>, gate: Socket): void {
    this.byPid.set(pid, { startTime, exit })
    gate.once("close", () => {
      if (this.byPid.get(pid)?.exit === exit) this.byPid.delete(pid)
    })
  }

  /** The exit of the box this instance booted at `pid` with that start time, if it is one. */
  exitOf(pid: number, startTime: number | null): Deferred.Deferred<number> | undefined {
    const ours = this.byPid.get(pid)
    return ours !== undefined && ours.startTime === startTime ? ours.exit : undefined
  }
}
