/**
 * How a FileLock waiter waits: it watches the lock directory's parent (fs.watch) and tries
 * again as soon as the lock directory is removed, with jittered polling as the fallback.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"

/** Polling steps while no watch is available: 0.5-1 ms, 1-2 ms, then 2-4 ms (a lock is held for a few ms). */
export const jitteredDelay = (round: number): Duration.Duration => {
  const cap = Math.min(2 ** round, 4)
  return Duration.millis(cap / 2 + Math.random() * cap / 2)
}

/** With a watch, polling is only the fallback (missed events, stale locks): every 10-20 ms. */
export const fallbackDelay = (): Duration.Duration => Duration.millis(10 + Math.random() * 10)

/** Wakes a waiter as soon as the lock directory is removed (fs.watch on its parent). */
export interface LockWatch {
  readonly generation: () => number
  /** Completes once an event was seen after `generation` had the value `seen`. */
  readonly changedSince: (seen: number) => Effect.Effect<void>
  readonly close: () => void
}

export const watchLock = (lockPath: string): LockWatch | undefined => {
  const name = path.basename(lockPath)
  let generation = 0
  const waiters = new Set<() => void>()
  let watcher: fs.FSWatcher
  try {
    watcher = fs.watch(path.dirname(lockPath), { persistent: false }, (_event, filename) => {
      if (filename !== null && String(filename) !== name) return
      // Only a removal is worth an attempt; a creation means someone else just took it.
      if (fs.existsSync(lockPath)) return
      generation++
      for (const wake of waiters) wake()
      waiters.clear()
    })
  } catch {
    return undefined // polling only
  }
  watcher.on("error", () => {
    // polling goes on
  })
  return {
    generation: () => generation,
    changedSince: (seen) =>
      Effect.async<void>((resume) => {
        if (generation !== seen) return resume(Effect.void)
        const wake = () => resume(Effect.void)
        waiters.add(wake)
        return Effect.sync(() => {
          waiters.delete(wake)
        })
      }),
    close: () => watcher.close()
  }
}
