import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as path from "node:path"
import type { NewBoxEvent } from "../../src/domain/BoxEvent.js"
import * as NodeEventJournal from "../../src/events/NodeEventJournal.js"
import { tempDirs } from "../state/support.js"

const dirs = tempDirs()
afterEach(() => dirs.cleanup())

const die = (name: string, exitCode = 1): NewBoxEvent => ({
  type: "die",
  time: "2020-01-01T00:00:00.000Z",
  box_id: `id-${name}`,
  box_name: name,
  exit_code: exitCode,
  signal: null
})

const eventsFile = (home: string) => path.join(home, "events.jsonl")
const seqsOf = (events: Chunk.Chunk<{ readonly seq: number }>) => Chunk.toReadonlyArray(events).map((event) => event.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("NodeEventJournal", () => {
  it.live("appends and reads back, oldest first, with seq and time assigned", () =>
    Effect.gen(function*() {
      const home = path.join(dirs.make(), "home")
      const journal = yield* NodeEventJournal.make(home)
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(journal.read({})))).toEqual([])
      yield* journal.append([die("b1", 137), { type: "monitor-start", pid: 42 }])
      yield* journal.append([die("b2")])
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(journal.read({})))
      expect(events.map((event) => [event.seq, event.type])).toEqual([[1, "die"], [2, "monitor-start"], [3, "die"]])
      expect(events[0]).toMatchObject({ box_name: "b1", exit_code: 137, signal: null, time: "2020-01-01T00:00:00.000Z" })
      // No time given: the journal's (the Clock's).
      expect(Number.isNaN(Date.parse(events[1]!.time))).toBe(false)
      // The time range is inclusive at both ends.
      const at = Date.parse("2020-01-01T00:00:00.000Z")
      expect(seqsOf(yield* Stream.runCollect(journal.read({ since: at, until: at })))).toEqual([1, 3])
      expect(seqsOf(yield* Stream.runCollect(journal.read({ since: at + 1 })))).toEqual([2])
      // Another journal of the same home (another process) goes on from the last seq.
      const other = yield* NodeEventJournal.make(home)
      yield* other.append([die("b3")])
      expect(seqsOf(yield* Stream.runCollect(journal.read({})))).toEqual([1, 2, 3, 4])
      expect(fs.statSync(eventsFile(home)).mode & 0o777).toBe(0o600)
    }))

  it.live("a torn last line is skipped, and the next append starts on a new line", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const journal = yield* NodeEventJournal.make(home)
      yield* journal.append([die("b1"), die("b2")])
      fs.appendFileSync(eventsFile(home), "{\"seq\":3,\"time\":\"2026-12-03T17:0")
      expect(seqsOf(yield* Stream.runCollect(journal.read({})))).toEqual([1, 2])
      yield* journal.append([die("b3")])
      const lines = fs.readFileSync(eventsFile(home), "utf8").split("\n")
      expect(lines[2]).toBe("{\"seq\":3,\"time\":\"2026-12-03T17:0")
      expect(JSON.parse(lines[3]!)).toMatchObject({ seq: 3, box_name: "b3" })
      expect(seqsOf(yield* Stream.runCollect(journal.read({})))).toEqual([1, 2, 3])
    }))

  it.live("a torn line that still parses (only its newline lost) keeps its seq: it is not given again", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const journal = yield* NodeEventJournal.make(home)
      yield* journal.append([die("b1")])
      const text = fs.readFileSync(eventsFile(home), "utf8")
      fs.writeFileSync(eventsFile(home), text + text.trim().replace("\"seq\":1", "\"seq\":2"))
      yield* journal.append([die("b2")])
      expect(seqsOf(yield* Stream.runCollect(journal.read({})))).toEqual([1, 2, 3])
    }))

  it.live("rotates by size, keeps `keep` files, and read covers them oldest first", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const journal = yield* NodeEventJournal.make(home, { maxBytes: 400, keep: 3 })
      for (let i = 1; i <= 30; i++) yield* journal.append([die(`b${i}`)])
      expect(fs.readdirSync(home).filter((name) => name.startsWith("events.jsonl") && !name.includes(".lk")).sort())
        .toEqual(["events.jsonl", "events.jsonl.1", "events.jsonl.2"])
      for (const name of ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]) {
        expect(fs.statSync(path.join(home, name)).size).toBeLessThanOrEqual(400)
      }
      const seqs = seqsOf(yield* Stream.runCollect(journal.read({})))
      const lines = ["events.jsonl.2", "events.jsonl.1", "events.jsonl"].flatMap((name) =>
        fs.readFileSync(path.join(home, name), "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { seq: number }).seq)
      )
      expect(seqs).toEqual(lines)
      expect(seqs.at(-1)).toBe(30)
      expect(seqs).toEqual(range(seqs[0]!, 30))
      // The numbering goes on from the rotated file when the current one is new.
      fs.renameSync(path.join(home, "events.jsonl.1"), path.join(home, "events.jsonl.3"))
      fs.renameSync(eventsFile(home), path.join(home, "events.jsonl.1"))
      yield* journal.append([die("b31")])
      expect(fs.readFileSync(eventsFile(home), "utf8")).toContain("\"seq\":31,")
    }))

  it.effect("follow: the history from `since`, then live appends, across rotations, none lost or repeated", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const journal = yield* NodeEventJournal.make(home, { maxBytes: 300, keep: 5 })
      yield* journal.append([{ ...die("old"), time: "2019-01-01T00:00:00.000Z" }])
      yield* journal.append([{ ...die("b0"), time: "2026-12-03T17:00:00.000Z" }])
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* journal.follow(Date.parse("2019-06-01T00:00:00.000Z")).pipe(
        Stream.runForEach((event) => Ref.update(seen, (seqs) => [...seqs, event.seq])),
        Effect.fork
      )
      yield* TestClock.adjust("200 millis")
      expect(yield* Ref.get(seen)).toEqual([2])
      // Several appends (and rotations) between two polls, then one at a time.
      for (let i = 3; i <= 12; i++) yield* journal.append([die(`b${i}`)])
      yield* TestClock.adjust("200 millis")
      for (let i = 13; i <= 20; i++) {
        yield* journal.append([die(`b${i}`)])
        yield* TestClock.adjust("200 millis")
      }
      yield* TestClock.adjust("200 millis")
      expect(yield* Ref.get(seen)).toEqual(range(2, 20))
      expect(fs.existsSync(path.join(home, "events.jsonl.3"))).toBe(true)
      yield* Fiber.interrupt(fiber)
    }))

  it.live("appended: what this process appends, as it appends", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      const journal = yield* NodeEventJournal.make(home)
      const fiber = yield* journal.appended.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* Effect.sleep("10 millis")
      yield* journal.append([die("b1"), die("b2")])
      expect(seqsOf(yield* Fiber.join(fiber))).toEqual([1, 2])
    }))

  it.live("a failing write is counted, logged once (throttled), and does not fail the append", () =>
    Effect.gen(function*() {
      const home = dirs.make()
      // The journal's path is a directory: every open for append fails (EISDIR).
      fs.mkdirSync(eventsFile(home))
      const warnings = yield* Ref.make<ReadonlyArray<string>>([])
      const logger = Logger.make(({ message }) => {
        Effect.runSync(Ref.update(warnings, (all) => [...all, String(message)]))
      })
      const before = (yield* Metric.value(NodeEventJournal.writeFailures)).count
      const journal = yield* NodeEventJournal.make(home)
      yield* Effect.provide(
        Effect.zipRight(journal.append([die("b1")]), journal.append([die("b2")])),
        Logger.replace(Logger.defaultLogger, logger)
      )
      expect((yield* Metric.value(NodeEventJournal.writeFailures)).count - before).toBe(2)
      const logged = yield* Ref.get(warnings)
      expect(logged).toHaveLength(1)
      expect(logged[0]).toContain("cannot append to the event journal")
      expect(HashSet.size(HashSet.fromIterable(logged))).toBe(1)
    }))
})
