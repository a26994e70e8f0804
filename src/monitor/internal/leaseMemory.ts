/** The lease in memory: one simulated host with processes that can be killed (tests, embedders' tests). */
import * as Effect from "effect/Effect"
import type { MonitorLeaseShape } from "../MonitorLease.js"
import { makeWith } from "./leaseClaim.js"
import { LeaseState } from "./leaseFile.js"

/** A simulated host for tests: a lease "file", processes (pids) that live until killed. */
export interface MemoryHost {
  /** The lease of one process (`pid`) of this host; the process is alive until `kill(pid)`. */
  readonly make: (pid: number) => Effect.Effect<MonitorLeaseShape>
  /** The process dies (SIGKILL): the lease it holds, if any, stays in the "file" but is no longer live. */
  readonly kill: (pid: number) => Effect.Effect<void>
  /** What the "file" says now. */
  readonly file: Effect.Effect<LeaseState>
  /** Replaces the "file", as a hand edit would (`Missing` deletes it). */
  readonly setFile: (state: LeaseState) => Effect.Effect<void>
  /** How many times the "file" was written. */
  readonly writes: Effect.Effect<number>
}

export const MEMORY_HOST = "memory-host"

/** A fresh simulated host: no lease file, no processes. */
export const makeMemoryHost: Effect.Effect<MemoryHost> = Effect.sync(() => {
  let file: LeaseState = LeaseState.Missing()
  let writes = 0
  const alive = new Set<number>()
  const mutex = Effect.unsafeMakeSemaphore(1)
  const make = (pid: number) =>
    Effect.sync(() => {
      alive.add(pid)
      return makeWith({
        home: "memory",
        path: "memory:monitor.lease",
        host: MEMORY_HOST,
        identity: Effect.succeed({ pid, pidStartTime: null, host: MEMORY_HOST }),
        read: Effect.sync(() => file),
        live: (holder) => Effect.sync(() => holder.host !== MEMORY_HOST || alive.has(holder.pid)),
        write: (holder, verify) =>
          Effect.zipRight(verify, Effect.sync(() => {
            file = LeaseState.Found({ holder })
            writes++
          })),
        remove: (verify) => Effect.zipRight(verify, Effect.sync(() => (file = LeaseState.Missing()))),
        locked: (use) => mutex.withPermits(1)(use(Effect.void))
      })
    })
  return {
    make,
    kill: (pid) => Effect.sync(() => alive.delete(pid)),
    file: Effect.sync(() => file),
    setFile: (state) => Effect.sync(() => (file = state)),
    writes: Effect.sync(() => writes)
  }
})
