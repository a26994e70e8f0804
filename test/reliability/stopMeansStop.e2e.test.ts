/**
 * Stop means stop (issue 10): `stop` of a crash-looping box waiting out its backoff ends the
 * loop; a real monitor never boots it again. Also: the monitor logs that it stopped.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { labs, requireBuild, sleep, waitFor } from "./support.js"

beforeAll(requireBuild)

const homes = labs()
afterEach(() => homes.cleanupAll())

describe("stop means stop", () => {
  it("a crash-looping box stopped during its backoff wait is never booted again", { timeout: 90_000 }, async () => {
    const lab = homes.make()
    const monitor = await lab.startMonitor(["--interval", "1"])
    try {
      const box = await lab.runDetached("--quiet", "--name", "loop", "--restart", "always", "--", "sh", "-c", "exit 1")
      // Restarted at once, then after 1 s and 2 s: from the third death on it waits 4 s.
      const waiting = await waitFor("the box to wait out a backoff of 4 s or more", () => {
        const line = monitor.logs.find((l) => /^monitor: box loop \(\w+\) backing off \((\d+)s remaining\)$/.test(l.message) &&
          Number(/\((\d+)s remaining\)/.exec(l.message)![1]) >= 4)
        return line === undefined ? undefined : Number(/\((\d+)s remaining\)/.exec(line.message)![1])
      }, 40_000)
      // The cycle logs the wait before it writes the death it found.
      await waitFor("the death to be recorded", () => lab.box("loop")?.status === "dead", 5_000)
      const stopped = await lab.cli("stop", "loop")
      expect({ code: stopped.code, stdout: stopped.stdout.trim() }).toEqual({ code: 0, stdout: "loop" })
      const after = lab.box("loop")!
      expect(after).toMatchObject({ status: "stopped", stopped_by_user: true, pid: null })
      const logsAtStop = monitor.logs.length
      // Past the end of the wait it was in, and a few poll cycles more.
      await sleep(waiting * 1000 + 3_000)
      expect(lab.box("loop")).toMatchObject({ status: "stopped", stopped_by_user: true, restart_count: after.restart_count })
      const later = monitor.logs.slice(logsAtStop).map((l) => l.message)
      expect(later.filter((m) => m.includes(`box loop (${box.short_id}`))).toEqual([])
      // A second stop is a no-op that says so.
      const again = await lab.cli("stop", "loop")
      expect(again.code).toBe(0)
      expect(again.stderr).toContain("box loop is already stopped")
    } finally {
      const exit = await monitor.kill("SIGTERM")
      expect(exit.code).toBe(0)
    }
    expect(monitor.logs.at(-1)?.message).toBe("a3s-box monitor stopped")
  })
})
