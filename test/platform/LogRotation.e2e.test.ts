/**
 * Log rotation on real files (platform/LogRotation.ts: copytruncate of a log its writer holds
 * with O_APPEND), and `logs` reading across the rotated files (cli/LogStream.ts): in order, its
 * `--tail` across files, and a follower carried on through rotations.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Terminal from "@effect/platform/Terminal"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LogStream from "../../src/cli/LogStream.js"
import * as LogLimits from "../../src/domain/LogLimits.js"
import * as LogRotation from "../../src/platform/LogRotation.js"

const temps: Array<string> = []
const tempLog = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-logrot-"))
  temps.push(dir)
  return path.join(dir, "console.log")
}
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

const lines = (from: number, to: number) => {
  let text = ""
  for (let i = from; i < to; i++) text += `line ${String(i).padStart(6, "0")}\n`
  return text
}
const LINE = lines(0, 1).length
const read = (file: string) => fs.readFileSync(file, "utf8")
const onDisk = (log: string) =>
  fs.readdirSync(path.dirname(log)).filter((name) => name.startsWith("console.log") && !name.endsWith(".rotation"))
    .reduce((sum, name) => sum + fs.statSync(path.join(path.dirname(log), name)).size, 0)

/** Runs `LogStream.stream` with a terminal that collects what it displays. */
const collecting = () => {
  let out = ""
  const terminal = Terminal.Terminal.of({
    columns: Effect.succeed(80),
    rows: Effect.succeed(24),
    isTTY: Effect.succeed(false),
    readInput: Effect.die("no input"),
    readLine: Effect.die("no input"),
    display: (text: string) => Effect.sync(() => { out += text })
  } as unknown as Terminal.Terminal)
  const run = (options: LogStream.StreamOptions) =>
    LogStream.stream(options).pipe(Effect.provide(NodeFileSystem.layer), Effect.provideService(Terminal.Terminal, terminal))
  return { run, output: () => out }
}

describe("LogRotation.rotateIfOver", () => {
  it("leaves a log at or under its size alone, and reports a missing one", () => {
    const log = tempLog()
    expect(LogRotation.rotateIfOver(log, LogLimits.defaultLimits)._tag).toBe("Missing")
    fs.writeFileSync(log, lines(0, 10))
    expect(LogRotation.rotateIfOver(log, { maxSize: 10 * LINE, maxFiles: 3 })).toEqual({ _tag: "NotDue", size: 10 * LINE })
    expect(fs.readdirSync(path.dirname(log))).toEqual(["console.log"])
    fs.writeFileSync(log, lines(0, 1000))
    expect(LogRotation.rotateIfOver(log, { maxSize: 0, maxFiles: 3 })._tag).toBe("NotDue")
  })

  it("moves the newest size bytes, from a line start, to .1 and cuts the live file, which its O_APPEND writer refills from 0", () => {
    const log = tempLog()
    const writer = fs.openSync(log, "a")
    fs.writeSync(writer, lines(0, 100))
    const outcome = LogRotation.rotateIfOver(log, { maxSize: 10 * LINE + 3, maxFiles: 3 })
    expect(outcome).toEqual({ _tag: "Rotated", kept: 10 * LINE, dropped: 90 * LINE, cut: 100 * LINE })
    expect(read(`${log}.1`)).toBe(lines(90, 100))
    expect(fs.statSync(log).size).toBe(0)
    expect(LogRotation.readRotation(log)).toEqual({ rotations: 1, from: 90 * LINE, cut: 100 * LINE })
    fs.writeSync(writer, lines(100, 101))
    fs.closeSync(writer)
    expect(read(log)).toBe(lines(100, 101))
    expect((fs.statSync(`${log}.1`).mode & 0o777).toString(8)).toBe("600")
    expect(fs.readdirSync(path.dirname(log)).filter((name) => name.endsWith(".tmp"))).toEqual([])
  })

  it("keeps files - 1 rotated files, newest first, and never more than size x files on disk", () => {
    const log = tempLog()
    const limits = { maxSize: 20 * LINE, maxFiles: 3 }
    for (let round = 0; round < 6; round++) {
      fs.appendFileSync(log, lines(round * 25, round * 25 + 25))
      expect(LogRotation.rotateIfOver(log, limits)._tag).toBe("Rotated")
      expect(onDisk(log)).toBeLessThanOrEqual(limits.maxSize * limits.maxFiles)
    }
    expect(read(`${log}.1`)).toBe(lines(130, 150))
    expect(read(`${log}.2`)).toBe(lines(105, 125))
    expect(fs.existsSync(`${log}.3`)).toBe(false)
    expect(LogRotation.readRotation(log)?.rotations).toBe(6)
    // A lowered count: the file above it goes at the next rotation.
    fs.appendFileSync(log, lines(150, 175))
    LogRotation.rotateIfOver(log, { maxSize: 20 * LINE, maxFiles: 2 })
    expect(read(`${log}.1`)).toBe(lines(155, 175))
    expect(fs.existsSync(`${log}.2`)).toBe(false)
  })

  it("with one file, cuts the live file back and keeps nothing", () => {
    const log = tempLog()
    fs.writeFileSync(log, lines(0, 50))
    expect(LogRotation.rotateIfOver(log, { maxSize: 10 * LINE, maxFiles: 1 })).toEqual({
      _tag: "Rotated",
      kept: 0,
      dropped: 50 * LINE,
      cut: 50 * LINE
    })
    expect(fs.readdirSync(path.dirname(log)).sort()).toEqual(["console.log", "console.log.rotation"])
    expect(fs.statSync(log).size).toBe(0)
  })

  it("holds a rotated file within an eighth over its size while a writer keeps appending as fast as it can", async () => {
    const log = tempLog()
    fs.writeFileSync(log, "")
    const limits = { maxSize: 64 * 1024, maxFiles: 2 }
    // `yes` appends (O_APPEND, as a box's stdout) far faster than one copy round: the file grows
    // between the copy's size check and its reads.
    const writer = spawn("sh", ["-c", `exec yes 0123456789abcdef >> "$0"`, log], { stdio: "ignore" })
    try {
      let rotations = 0
      while (rotations < 40) {
        const outcome = LogRotation.rotateIfOver(log, limits)
        if (outcome._tag !== "Rotated") continue
        rotations++
        expect(fs.statSync(LogLimits.rotatedPath(log, 1)).size).toBeLessThanOrEqual(limits.maxSize + limits.maxSize / 8)
      }
    } finally {
      writer.kill("SIGKILL")
      await new Promise((resolve) => writer.once("exit", resolve))
    }
  })

  it("lists the files oldest first, stopping at the first gap", () => {
    const log = tempLog()
    for (const n of [1, 2, 4]) fs.writeFileSync(`${log}.${n}`, "")
    expect(LogRotation.filesOf(log, fs.existsSync)).toEqual([`${log}.2`, `${log}.1`, log])
  })
})

describe("LogStream over rotated files", () => {
  it.effect("prints the rotated files then the live one, in order, and --tail counts across them", () =>
    Effect.gen(function*() {
      const log = tempLog()
      fs.writeFileSync(`${log}.2`, lines(0, 3))
      fs.writeFileSync(`${log}.1`, lines(3, 6))
      fs.writeFileSync(log, lines(6, 8))
      const all = collecting()
      yield* all.run({ path: log, rotated: true })
      expect(all.output()).toBe(lines(0, 8))
      for (const n of [0, 1, 2, 3, 5, 6, 8, 20]) {
        const tail = collecting()
        yield* tail.run({ path: log, rotated: true, tail: n })
        expect(tail.output()).toBe(lines(Math.max(0, 8 - n), 8))
      }
      // An empty live file: the last newline of .1 ends the stream.
      fs.writeFileSync(log, "")
      const tail = collecting()
      yield* tail.run({ path: log, rotated: true, tail: 2 })
      expect(tail.output()).toBe(lines(4, 6))
      // Not asked for (the attached run's copy): the live file only.
      const live = collecting()
      yield* live.run({ path: log })
      expect(live.output()).toBe("")
    }))

  it.live("a follower started before rotations sees every line after them, once and in order", () =>
    Effect.gen(function*() {
      const log = tempLog()
      const writer = fs.openSync(log, "a")
      fs.writeSync(writer, lines(0, 5))
      let stop = false
      const follower = collecting()
      const fiber = yield* Effect.fork(follower.run({
        path: log,
        rotated: true,
        pollInterval: "5 millis",
        until: Effect.sync(() => stop)
      }))
      // Each round's first line is dropped from .1 (the size is one byte short of the round): the
      // follower has read it, and is somewhere in the rest when the rotation cuts the file.
      const limits = { maxSize: 40 * LINE - 1, maxFiles: 3 }
      for (let round = 0; round < 8; round++) {
        const first = round * 40 + 5
        while (follower.output().length < first * LINE) yield* Effect.sleep("2 millis")
        fs.writeSync(writer, lines(first, first + 1))
        while (follower.output().length < (first + 1) * LINE) yield* Effect.sleep("2 millis")
        fs.writeSync(writer, lines(first + 1, first + 40))
        if (round % 2 === 1) yield* Effect.sleep("1 millis")
        expect(LogRotation.rotateIfOver(log, limits)).toMatchObject({ _tag: "Rotated", kept: 39 * LINE })
      }
      fs.writeSync(writer, lines(325, 330))
      fs.closeSync(writer)
      while (follower.output().length < 330 * LINE) yield* Effect.sleep("2 millis")
      stop = true
      yield* Fiber.join(fiber)
      expect(follower.output()).toBe(lines(0, 330))
    }), 20_000)
})
