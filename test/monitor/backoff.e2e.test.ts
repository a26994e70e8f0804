import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { requireBuild, waitFor, World } from "./e2e.js"

/**
 * Issue 15 end to end: the built CLI, a real crash-looping box, a real monitor SIGKILLed in the
 * middle of the box's backoff wait and started again. The new monitor must wait out the wait the
 * first one recorded, not restart the box at once.
 */

let world: World

beforeAll(() => requireBuild())

afterEach(async () => {
  await world.cleanup()
})

describe("a backoff that survives the monitor (end to end)", () => {
  it("a crash-looping box whose monitor is SIGKILLed and started again is not restarted before its recorded wait ends", async () => {
    const w = (world = new World())
    // Dies 0.5 s after each start: the monitor restarts the first death at once; the second,
    // within 30 s of that restart, is a failure: a 10 s wait (its --restart-delay).
    const run = w.cli("run", "-d", "--name", "loop", "--restart", "always", "--restart-delay", "10", "--", "sh", "-c", "sleep 0.5; exit 3")
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    await w.startMonitor("--interval", "5")
    const waiting = await waitFor("the first monitor to record a wait", () => {
      const box = w.box("loop")
      return box !== undefined && box.status === "dead" && box.restart_count === 1 && box.next_restart_at !== undefined
        ? box
        : undefined
    })
    expect(waiting.backoff_failures).toBe(1)
    const until = Date.parse(waiting.next_restart_at!)
    expect(until - Date.now()).toBeGreaterThan(5_000)

    await w.stopMonitor("SIGKILL")
    const firstMonitorLines = w.logs.length
    await w.startMonitor("--interval", "5")
    // The new monitor says it continues the wait, and restarts the box only once it is over.
    await waitFor("the new monitor's backing-off line", () =>
      w.logs.slice(firstMonitorLines).some((l) => l.message.includes("backing off")))
    expect(w.box("loop")!.restart_count).toBe(1)
    const restarted = await waitFor("the restart after the wait", () => {
      const box = w.box("loop")
      return box !== undefined && box.restart_count === 2 ? box : undefined
    }, 20_000)
    expect(Date.parse(restarted.started_at!)).toBeGreaterThanOrEqual(until)
    // Its position carried over: one failure behind it.
    expect(restarted.backoff_failures).toBe(1)
  }, 40_000)
})
