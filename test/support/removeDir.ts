import { rmSync } from "node:fs"

/**
 * Removes `dir` recursively, for a temp home whose boxes were just killed. A killed box's wrapper
 * writes its exit code a moment later, possibly into a directory this removal has already
 * emptied; its rmdir then fails with ENOTEMPTY, and `rmSync`'s own retries only retry that
 * rmdir. So the whole removal is tried again (for up to ~2 s).
 */
export const removeDir = (dir: string): void => {
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true })
      return
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ENOTEMPTY" || attempt >= 40) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
    }
  }
}
