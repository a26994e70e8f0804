import { describe, expect, it } from "vitest"
import * as Option from "effect/Option"
import * as BoxProcess from "../../src/runtime/BoxProcess.js"
import type { ProcessInfo } from "../../src/runtime/ProcessInfo.js"

const BOX_DIR = "/home/u/.a3s/boxes/b1"
const LOG = `${BOX_DIR}/console.log`
const STARTED_AT = "2026-12-03T10:00:00.000Z"
const STARTED_MS = Date.parse(STARTED_AT)

const box = (fields: Partial<Parameters<typeof BoxProcess.decideTarget>[0]> = {}) => ({
  name: "web",
  pid: 4242,
  pid_start_time: 5000 as number | null,
  started_at: STARTED_AT as string | null,
  console_log: LOG,
  box_dir: BOX_DIR,
  ...fields
})

const proc = (fields: Partial<ProcessInfo> = {}): ProcessInfo => ({
  pid: 4242,
  state: "S",
  ppid: 4200,
  pgid: 4242,
  startTime: 5000,
  ...fields
})

const wrapperArgv = ["/bin/bash", "--norc", "--noprofile", "-c", "SCRIPT", "a3s-box-wrapper", "1", "3", "4", `${BOX_DIR}/exit_code`, "/srv", "1", "sleep"]

const facts = (fields: Partial<BoxProcess.TargetFacts> = {}): BoxProcess.TargetFacts => ({
  process: Option.some(proc()),
  startedAtMillis: STARTED_MS - 100,
  parentArgv: [],
  stdout: null,
  ...fields
})

describe("BoxProcess.decideTarget: whether the process at a box's pid may be signalled", () => {
  const legacy = { pid_start_time: null }
  const table: ReadonlyArray<readonly [string, ReturnType<typeof box>, BoxProcess.TargetFacts, string]> = [
    ["no pid recorded", box({ pid: null }), facts(), "Gone"],
    ["pid 1 is never a box's", box({ pid: 1 }), facts(), "Gone"],
    ["no process at the pid", box(), facts({ process: Option.none() }), "Gone"],
    ["a zombie at the pid has exited", box(), facts({ process: Option.some(proc({ state: "Z" })) }), "Gone"],
    ["recorded start time matches", box(), facts(), "Box"],
    ["recorded start time differs: the pid was reused", box(), facts({ process: Option.some(proc({ startTime: 5001 })) }), "Gone"],
    ["no start time, process younger than the box: the pid was reused", box(legacy),
      facts({ startedAtMillis: STARTED_MS + 60_000, stdout: LOG, parentArgv: wrapperArgv }), "Gone"],
    ["no start time, its parent is this box's wrapper", box(legacy), facts({ parentArgv: wrapperArgv }), "Box"],
    ["no start time, its stdout is the box's console log", box(legacy), facts({ stdout: LOG }), "Box"],
    ["no start time, its stdout is the console log by another spelling", box(legacy), facts({ stdout: `${BOX_DIR}/./console.log` }), "Box"],
    ["no start time, nothing proves it: refused", box(legacy), facts(), "Refused"],
    ["no start time, no started_at either, nothing proves it: refused", box({ ...legacy, started_at: null }), facts({ startedAtMillis: null }), "Refused"],
    ["no start time, its parent is another box's wrapper: refused", box(legacy),
      facts({ parentArgv: wrapperArgv.map((a) => a.replace("/b1/", "/b2/")) }), "Refused"],
    ["no start time, its parent names the box's exit file but is no wrapper: refused", box(legacy),
      facts({ parentArgv: ["cat", `${BOX_DIR}/exit_code`] }), "Refused"],
    ["no start time, stdout elsewhere: refused", box(legacy), facts({ stdout: "/dev/pts/3" }), "Refused"]
  ]
  it.each(table)("%s", (_, b, f, expected) => {
    expect(BoxProcess.decideTarget(b, f)._tag).toBe(expected)
  })

  it("a refusal says what is missing", () => {
    const decided = BoxProcess.decideTarget(box(legacy), facts())
    expect(decided).toMatchObject({
      _tag: "Refused",
      reason: `the record has no pid_start_time, and nothing proves process 4242 is the box's (its parent is not the box's wrapper, its stdout is not ${LOG})`
    })
  })
})

describe("BoxProcess.decideRemains: whether what is left of a dead box's group may be killed", () => {
  const member = (fields: Partial<BoxProcess.Member> = {}): BoxProcess.Member => ({
    ...proc({ pid: 4300, ppid: 1, startTime: 5100 }),
    stdout: LOG,
    ...fields
  })
  /** Linux-like: a start time in ticks is ms/10 after the box's start. */
  const startedAtMillis = (info: ProcessInfo) => STARTED_MS + (info.startTime - 5000) * 10
  const group = (fields: Partial<BoxProcess.GroupFacts> = {}): BoxProcess.GroupFacts => ({
    leader: Option.none(),
    members: [member()],
    startedAtMillis,
    ...fields
  })
  const legacy = { pid_start_time: null }
  const table: ReadonlyArray<readonly [string, ReturnType<typeof box>, BoxProcess.GroupFacts, string]> = [
    ["nothing left", box(), group({ members: [] }), "None"],
    ["no pid recorded", box({ pid: null }), group(), "None"],
    ["leader gone, a child left", box(), group(), "Kill"],
    ["leader a zombie of the box, a child left", box(), group({ leader: Option.some(proc({ state: "Z" })) }), "Kill"],
    ["leader alive: the box is not dead", box(), group({ leader: Option.some(proc()) }), "None"],
    ["the pid belongs to another process now: its group is that process's", box(), group({ leader: Option.some(proc({ startTime: 9000 })) }), "None"],
    ["a member older than the box", box(), group({ members: [member(), member({ pid: 4301, startTime: 4999 })] }), "Refused"],
    ["a member that does not write to the console log (start time known)", box(), group({ members: [member({ stdout: null })] }), "Kill"],
    ["no start time: members younger than started_at, one writes to the console log", box(legacy),
      group({ members: [member({ stdout: null }), member({ pid: 4301 })] }), "Kill"],
    ["no start time: no member writes to the console log", box(legacy), group({ members: [member({ stdout: "/dev/null" })] }), "Refused"],
    ["no start time: a member much older than started_at", box(legacy),
      group({ members: [member(), member({ pid: 4301, startTime: 5000 - 1000 })] }), "Refused"],
    ["no start time, no started_at", box({ ...legacy, started_at: null }), group(), "Refused"]
  ]
  it.each(table)("%s", (_, b, f, expected) => {
    expect(BoxProcess.decideRemains(b, f)._tag).toBe(expected)
  })

  it("kills the group the box's pid led, naming the members", () => {
    expect(BoxProcess.decideRemains(box(), group({ members: [member(), member({ pid: 4301 })] })))
      .toMatchObject({ _tag: "Kill", pgid: 4242, pids: [4300, 4301] })
  })
})

describe("BoxProcess.parsePsListing", () => {
  it("reads one process per line, skipping what it cannot parse", () => {
    const text = [
      "  412 Ss       1   412 Wed Nov  5 10:33:12 2025",
      "  413 S      412   412 Wed Nov  5 10:33:13 2025",
      "garbage"
    ].join("\n")
    expect(BoxProcess.parsePsListing(text).map((p) => [p.pid, p.ppid, p.pgid])).toEqual([[412, 1, 412], [413, 412, 412]])
  })
})

describe("BoxProcess.isWrapperOf: whether a command line is the wrapper of this box", () => {
  const dirOf = (i: number) => `/home/u/.a3s/boxes/box-${i}`
  /** A launcher of a batch boot: `... a3s-box-wrapper N` then per box `GATE LOG EXIT_FILE CWD ARGC CMD...`. */
  const batch = (n: number, exitFile: (i: number) => string = (i) => `${dirOf(i)}/exit_code`) => {
    const argv = ["/bin/bash", "--norc", "--noprofile", "-c", "program", BoxProcess.WRAPPER_NAME, String(n)]
    for (let i = 0; i < n; i++) argv.push(String(3 + 2 * i), String(4 + 2 * i), exitFile(i), "/work", "2", "sleep", "100")
    return argv
  }

  it("names a box of its batch, wherever it is in it, and no other box", () => {
    const argv = batch(100)
    for (const i of [0, 57, 99]) expect(BoxProcess.isWrapperOf(argv, { box_dir: dirOf(i) })).toBe(true)
    expect(BoxProcess.isWrapperOf(argv, { box_dir: dirOf(100) })).toBe(false)
    expect(BoxProcess.isWrapperOf(argv, { box_dir: "/home/u/.a3s/boxes/box-1/sub" })).toBe(false)
  })

  it("the same file spelled another way counts; an empty argument or a command line without the wrapper's name does not", () => {
    expect(BoxProcess.isWrapperOf(batch(3, (i) => `${dirOf(i)}/./x/../exit_code`), { box_dir: dirOf(2) })).toBe(true)
    expect(BoxProcess.isWrapperOf(batch(3), { box_dir: `${dirOf(1)}/` })).toBe(true)
    expect(BoxProcess.isWrapperOf(batch(3).filter((arg) => arg !== BoxProcess.WRAPPER_NAME), { box_dir: dirOf(1) })).toBe(false)
    expect(BoxProcess.isWrapperOf(["bash", BoxProcess.WRAPPER_NAME, ""], { box_dir: process.cwd() })).toBe(false)
  })
})
