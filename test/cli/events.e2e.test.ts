/**
 * `a3s-box events` (the built CLI) over a journal written with the real journal layer into a
 * temp home: the history as JSON and text, --since and --filter, an empty home, a usage error,
 * and -f printing an event appended after it started, until SIGINT (exit 0).
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import type { NewBoxEvent } from "../../src/domain/BoxEvent.js"
import * as NodeEventJournal from "../../src/events/NodeEventJournal.js"
import { CliHome, requireBuild, waitFor } from "../support/CliHome.js"

beforeAll(requireBuild)

let homes: Array<CliHome> = []
afterEach(async () => {
  const current = homes
  homes = []
  await Promise.all(current.map((home) => home.cleanup()))
})

const ID = "abc123de-f456-7890-abcd-ef0123456789"
const die = (name: string, id: string, time?: string): NewBoxEvent => ({
  type: "die",
  box_id: id,
  box_name: name,
  exit_code: 137,
  signal: "SIGKILL",
  ...(time === undefined ? {} : { time })
})

describe("a3s-box events", () => {
  it("history (json, text, --since, --filter), an empty home, a bad --since, and -f until SIGINT", async () => {
    const h = new CliHome()
    homes.push(h)
    // No journal yet: nothing, exit 0.
    const empty = await h.cli("events")
    expect(empty).toMatchObject({ code: 0, stdout: "", stderr: "" })

    const journal = await Effect.runPromise(NodeEventJournal.make(h.home))
    const append = (...events: Array<NewBoxEvent>) => Effect.runPromise(journal.append(events))
    await append(die("old", "0000aaaa-0000-0000-0000-000000000000", "2020-01-01T00:00:00.000Z"))
    await append(die("b1", ID), { type: "restart", box_id: ID, box_name: "b1", reason: "crash", attempt: 1 })
    await append(die("web", "ffff0000-0000-0000-0000-000000000000"), { type: "monitor-start", pid: 4242 })

    const all = await h.cli("events", "--format", "json")
    expect(all.code).toBe(0)
    const lines = all.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.map((event) => event["seq"])).toEqual([1, 2, 3, 4, 5])
    // Each event as stored.
    expect(all.stdout).toBe(readFileSync(path.join(h.home, "events.jsonl"), "utf8"))

    const recent = await h.cli("events", "--since", "1m", "--format", "json")
    expect(recent.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([2, 3, 4, 5])

    const filtered = await h.cli("events", "--filter", "box=abc123def456", "--filter", "box=web", "--filter", "event=die")
    expect(filtered.code).toBe(0)
    const text = filtered.stdout.trim().split("\n")
    expect(text).toHaveLength(2)
    expect(text[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z box die b1 \(abc123def456\) exit_code=137 signal=SIGKILL$/)
    expect(text[1]).toMatch(/ box die web \(ffff00000000\) /)

    const bad = await h.cli("events", "--since", "yesterday")
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("invalid --since 'yesterday': expected an RFC 3339 time")

    // -f: no history without --since; an event appended after it started is printed.
    const follower = h.spawn(["events", "-f", "--format", "json", "--filter", "box=b1"])
    const done = CliHome.finish(follower)
    // Until it prints, append every half second: the follower may not have started reading yet.
    let appendedAt = 0
    await waitFor("the follower to print the new event", () => {
      if (done.stdout().includes("\"attempt\":2")) return true
      if (Date.now() - appendedAt > 500) {
        appendedAt = Date.now()
        void append({ type: "restart", box_id: ID, box_name: "b1", reason: "crash", attempt: 2 })
      }
      return false
    }, 30_000)
    follower.kill("SIGINT")
    const result = await done
    expect(result.code).toBe(0)
    const followed = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { seq: number; type: string })
    expect(followed.every((event) => event.seq > 5 && event.type === "restart")).toBe(true)
  }, 90_000)
})
