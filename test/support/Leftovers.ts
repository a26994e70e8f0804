import { afterEach } from "vitest"
import { removeDir } from "./removeDir.js"

/**
 * What a test file's tests leave behind, cleaned up after each test: the temp directories they
 * made and the processes they started (SIGKILLed by pid, never by name; one already gone is fine).
 * Call once at the top of the file.
 */
export const leftovers = (): { readonly dirs: Array<string>; readonly pids: Array<number> } => {
  const dirs: Array<string> = []
  const pids: Array<number> = []
  afterEach(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // gone, as it should be
      }
    }
    for (const dir of dirs.splice(0)) removeDir(dir)
  })
  return { dirs, pids }
}
