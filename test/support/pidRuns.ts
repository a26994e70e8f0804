import { readFileSync } from "node:fs"

/**
 * Whether `pid` runs: on Linux, a zombie (killed, not yet reaped by whoever inherited it, which
 * in a container can take a while) does not; elsewhere, whether it can be signalled.
 */
export const pidRuns = (pid: number): boolean => {
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
      return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
    } catch {
      return false
    }
  }
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
