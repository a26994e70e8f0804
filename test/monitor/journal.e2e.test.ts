import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { requireBuild, waitFor, World } from "./e2e.js"

/**
 * Issue 14 end to end: the built CLI, a real box killed with SIGKILL, a real monitor with an
 * `--on-event` hook. What happened must be in `a3s-box events` (read back from events.jsonl)
 * and must have reached the hook.
 */

let world: World

beforeAll(() => requireBuild())

afterEach(async () => {
  await world.cleanup()
})

type Event = Record<string, unknown> & { readonly seq: number; readonly type: string }

const events = (w: World, ...args: ReadonlyArray<string>): ReadonlyArray<Event> => {
  const result = w.cli("events", "--since", "1m", "--format", "json", ...args)
  expect(result.stderr).toBe("")
  expect(result.status).toBe(0)
  return result.stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Event)
}

describe("the event journal and hooks (end to end)", () => {
  it("a box killed with SIGKILL: die (signal) and restart crash in `events`, and the hook got both", async () => {
    const w = (world = new World())
    // One file per hook run: die and restart run concurrently (up to 4 hooks at once), so their
    // output must not share a file, or the lines interleave.
    const hookDir = path.join(w.home, "hook-out")
    fs.mkdirSync(hookDir)
    const run = w.cli("run", "-d", "--name", "web", "--restart", "always", "--", "sleep", "1000")
    expect(run.status).toBe(0)
    const before = w.box("web")!
    await w.startMonitor(
      "--interval",
      "5",
      "--on-event",
      `{ printf '%s %s %s %s ' "$A3S_EVENT" "$A3S_BOX_NAME" "$A3S_BOX_ID" "$A3S_EXIT_CODE"; cat; } > '${hookDir}'/"$A3S_EVENT_SEQ".tmp && mv '${hookDir}'/"$A3S_EVENT_SEQ".tmp '${hookDir}'/"$A3S_EVENT_SEQ".out`
    )
    process.kill(before.pid!, "SIGKILL")
    await waitFor("the box to be restarted", () => {
      const box = w.box("web")
      return box !== undefined && box.status === "running" && box.pid !== before.pid ? box : undefined
    })

    const journal = await waitFor("die and restart in the journal", () => {
      const all = events(w)
      return all.some((e) => e.type === "restart") ? all : undefined
    })
    const types = journal.map((e) => e.type)
    expect(types[0]).toBe("create")
    expect(types).toContain("monitor-start")
    const die = journal.find((e) => e.type === "die")!
    expect(die).toMatchObject({ box_id: before.id, box_name: "web", exit_code: 137, signal: "SIGKILL" })
    const restart = journal.find((e) => e.type === "restart")!
    expect(restart).toMatchObject({ box_id: before.id, box_name: "web", reason: "crash", attempt: 1 })
    expect(restart.seq).toBeGreaterThan(die.seq)
    // Sequence numbers from the CLI and the monitor: unique and increasing.
    const seqs = journal.map((e) => e.seq)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    expect(new Set(seqs).size).toBe(seqs.length)
    // The filters select the same events.
    expect(events(w, "--filter", "event=die,restart", "--filter", "box=web").map((e) => e.seq)).toEqual([die.seq, restart.seq])

    // The hook ran for both (die and restart are in the default filter), with the event on stdin.
    const lines = await waitFor("the hook's output for die and restart", () => {
      const got = fs.readdirSync(hookDir).filter((name) => name.endsWith(".out")).map((name) =>
        fs.readFileSync(path.join(hookDir, name), "utf8").trim()
      )
      return got.some((l) => l.startsWith("die ")) && got.some((l) => l.startsWith("restart ")) ? got : undefined
    })
    const dieLine = lines.find((l) => l.startsWith("die "))!
    expect(dieLine.startsWith(`die web ${before.id} 137 {`)).toBe(true)
    expect(JSON.parse(dieLine.slice(dieLine.indexOf("{")))).toMatchObject({ seq: die.seq, type: "die", signal: "SIGKILL" })
    const restartLine = lines.find((l) => l.startsWith("restart "))!
    expect(JSON.parse(restartLine.slice(restartLine.indexOf("{")))).toMatchObject({ seq: restart.seq, reason: "crash" })
  })

  it("no monitor: the `ps` that finds a box dead journals its death", async () => {
    const w = (world = new World())
    expect(w.cli("run", "-d", "--name", "lone", "--", "sleep", "1000").status).toBe(0)
    const box = w.box("lone")!
    process.kill(box.pid!, "SIGKILL")
    // The wrapper reaps it and writes its exit code: wait for that, or ps would record it unknown.
    const exitFile = path.join(box.box_dir, "exit_code")
    await waitFor("the box's exit code", () => fs.existsSync(exitFile) && fs.readFileSync(exitFile, "utf8").trim() === "137")
    const ps = w.cli("ps", "-a")
    expect(ps.stdout).toContain("dead (Killed: SIGKILL)")
    const died = events(w, "--filter", "event=die")
    expect(died).toHaveLength(1)
    expect(died[0]).toMatchObject({ box_id: box.id, box_name: "lone", exit_code: 137, signal: "SIGKILL" })
    // The next ps finds nothing new.
    w.cli("ps", "-a")
    expect(events(w, "--filter", "event=die")).toHaveLength(1)
  })
})
