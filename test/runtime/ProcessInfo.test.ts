import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import { isAliveGiven, isGoneState, isStoppedState, parseProcStat, parsePsOutput } from "../../src/runtime/ProcessInfo.js"

/** A /proc/PID/stat line as Linux 6.x writes it (52 fields), with the given comm, state and start time. */
const statLine = (pid: number, comm: string, state = "S", startTime = 64944) =>
  `${pid} (${comm}) ${state} 6793 ${pid} 6793 0 -1 4194368 57 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 4169728 443 ` +
  "18446744073709551615 94721899556864 94721900346269 140734839637184 0 0 0 0 0 65536 1 0 0 17 1 0 0 0 0 0 " +
  "94721900579568 94721900627812 94722707603456 140734839639450 140734839639866 140734839639866 140734839640046 0\n"

describe("parseProcStat", () => {
  it("reads state (3), ppid (4), pgrp (5) and starttime (22)", () => {
    expect(parseProcStat(statLine(6887, "bash"))).toEqual(
      Option.some({ pid: 6887, state: "S", ppid: 6793, pgid: 6887, startTime: 64944 })
    )
  })

  it.each([
    ["spaces", "my worker"],
    ["a closing parenthesis and fake fields", "x) Z 1 1 1"],
    ["nested parentheses", "(a) b (c)"],
    ["an empty name", ""],
    ["only parentheses", ")))"]
  ])("finds the comm's end at the last ')' when it contains %s", (_, comm) => {
    const info = parseProcStat(statLine(42, comm, "R", 123456))
    expect(Option.map(info, (i) => [i.pid, i.state, i.ppid, i.pgid, i.startTime])).toEqual(
      Option.some([42, "R", 6793, 42, 123456])
    )
  })

  it("keeps the zombie state", () => {
    expect(Option.map(parseProcStat(statLine(7, "defunct", "Z")), (i) => i.state)).toEqual(Option.some("Z"))
  })

  it.each([
    ["empty", ""],
    ["no comm", "123 S 1 2 3"],
    ["truncated", "123 (sleep) S 1 123"],
    ["a bad pid", "abc (sleep) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0"],
    ["a bad state", statLine(5, "x", "?")],
    ["a non-numeric start time", statLine(5, "x").replace(" 64944 ", " soon ")]
  ])("rejects %s input", (_, text) => {
    expect(parseProcStat(text)).toEqual(Option.none())
  })
})

describe("parsePsOutput", () => {
  it("reads `ps -o stat=,ppid=,pgid=,lstart=` as procps prints it", () => {
    expect(parsePsOutput(2548, "Ss    2547  2548 Thu Nov 26 10:34:31 2026\n")).toEqual(
      Option.some({ pid: 2548, state: "Ss", ppid: 2547, pgid: 2548, startTime: Date.UTC(2026, 10, 26, 10, 34, 31) / 1000 })
    )
  })

  it("reads macOS output: padded day, state flags, leading blanks", () => {
    const info = parsePsOutput(501, "  S+       1   501 Wed Nov  5 09:03:07 2025   \n")
    expect(info).toEqual(
      Option.some({ pid: 501, state: "S+", ppid: 1, pgid: 501, startTime: Date.UTC(2025, 10, 5, 9, 3, 7) / 1000 })
    )
  })

  it("keeps the zombie state", () => {
    const info = parsePsOutput(9, "Z    1 9 Mon Jan  1 00:00:00 2024")
    expect(Option.map(info, (i) => isGoneState(i.state))).toEqual(Option.some(true))
  })

  it.each([
    ["nothing (no such process)", ""],
    ["only the header", "STAT PPID PGID STARTED\n"],
    ["a month it does not know", "S 1 2 Mon Foo  1 00:00:00 2024"],
    ["a missing year", "S 1 2 Mon Jan  1 00:00:00"]
  ])("rejects %s", (_, text) => {
    expect(parsePsOutput(1, text)).toEqual(Option.none())
  })
})

describe("isAliveGiven (SPEC §3)", () => {
  const info = (state: string, startTime = 100) => Option.some({ pid: 5, state, ppid: 1, pgid: 5, startTime })

  it("is alive when the process exists, is no zombie, and has the recorded start time", () => {
    expect(isAliveGiven(info("S"), 100)).toBe(true)
    expect(isAliveGiven(info("T"), 100)).toBe(true) // paused boxes are alive
    expect(isAliveGiven(info("R"), null)).toBe(true) // no start time recorded: existence is enough
  })

  it("is dead when the pid is gone, a zombie, or was reused (another start time)", () => {
    expect(isAliveGiven(Option.none(), null)).toBe(false)
    expect(isAliveGiven(info("Z"), 100)).toBe(false)
    expect(isAliveGiven(info("Z"), null)).toBe(false)
    expect(isAliveGiven(info("X"), null)).toBe(false)
    expect(isAliveGiven(info("S", 101), 100)).toBe(false)
  })

  it("tells stopped states", () => {
    expect(isStoppedState("T")).toBe(true)
    expect(isStoppedState("T+")).toBe(true)
    expect(isStoppedState("S")).toBe(false)
  })
})
