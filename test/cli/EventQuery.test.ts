import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { BoxEvent } from "../../src/domain/BoxEvent.js"
import * as EventQuery from "../../src/cli/EventQuery.js"

const NOW = Date.parse("2026-12-03T17:00:00.000Z")

const die: BoxEvent = {
  seq: 7,
  time: "2026-12-03T17:01:02.123Z",
  type: "die",
  box_id: "abc123de-f456-7890-abcd-ef0123456789",
  box_name: "b1",
  exit_code: 137,
  signal: "SIGKILL"
}
const restart: BoxEvent = { ...die, seq: 8, type: "restart", reason: "crash", attempt: 1 } as BoxEvent
const other: BoxEvent = { ...die, seq: 9, box_id: "ffff0000-0000-0000-0000-000000000000", box_name: "web" }
const monitorStart: BoxEvent = { seq: 10, time: "2026-12-03T17:05:00.000Z", type: "monitor-start", pid: 4242 }

const filterOf = (...values: Array<string>) => Either.getOrThrow(EventQuery.parseFilters(values))
const errorOf = <A>(result: Either.Either<A, { readonly message: string; readonly _tag: string }>) => {
  if (Either.isRight(result)) throw new Error("expected an error")
  return result.left
}

describe("EventQuery.parseTime", () => {
  it.each([
    ["30s", NOW - 30_000],
    ["10m", NOW - 600_000],
    ["2h", NOW - 7_200_000],
    ["1d", NOW - 86_400_000],
    ["500ms", NOW - 500],
    ["1.5h", NOW - 5_400_000],
    ["2026-12-03T16:00:00Z", Date.parse("2026-12-03T16:00:00Z")],
    ["2026-12-03T16:00:00.250Z", Date.parse("2026-12-03T16:00:00.250Z")],
    ["2026-12-03T18:00:00+01:00", Date.parse("2026-12-03T17:00:00Z")],
    ["2026-12-03t16:00:00z", Date.parse("2026-12-03T16:00:00Z")]
  ])("%s", (value, expected) => {
    expect(EventQuery.parseTime("--since", value, NOW)).toEqual(Either.right(expected))
  })

  it.each(["", "10", "10x", "-5m", "yesterday", "2026-12-03", "2026-12-03T16:00:00", "2026-13-03T16:00:00Z", "1e3s"])(
    "%j is a usage error naming the value and the forms",
    (value) => {
      const error = errorOf(EventQuery.parseTime("--until", value, NOW))
      expect(error._tag).toBe("InvalidFlag")
      expect(error.message).toBe(
        `invalid --until '${value}': expected an RFC 3339 time (2026-12-03T17:00:00Z) or a duration ago (30s, 10m, 2h, 1d)`
      )
    }
  )
})

describe("EventQuery.parseFilters and matches", () => {
  it("no filter: everything", () => {
    const matches = EventQuery.matches(filterOf())
    expect([die, restart, other, monitorStart].every(matches)).toBe(true)
  })

  it("box= matches the name, the full id, an id prefix (dashed or not, any case), and OR together", () => {
    for (const ref of ["b1", die.box_id, "abc123", "abc123de-f4", "ABC123DEF456"]) {
      expect(EventQuery.matches(filterOf(`box=${ref}`))(die), ref).toBe(true)
      expect(EventQuery.matches(filterOf(`box=${ref}`))(other), ref).toBe(false)
    }
    const either = EventQuery.matches(filterOf("box=b1", "box=web"))
    expect([die, other, monitorStart].map(either)).toEqual([true, true, false])
    expect(EventQuery.matches(filterOf("box=b"))(die)).toBe(false)
  })

  it("event= takes a comma list and repeats; with box= both must match", () => {
    const types = EventQuery.matches(filterOf("event=die,monitor-start"))
    expect([die, restart, monitorStart].map(types)).toEqual([true, false, true])
    const repeated = EventQuery.matches(filterOf("event=die", "event=restart"))
    expect([die, restart, monitorStart].map(repeated)).toEqual([true, true, false])
    const both = EventQuery.matches(filterOf("event=restart", "box=b1"))
    expect([die, restart, other].map(both)).toEqual([false, true, false])
  })

  it.each([
    ["box", "expected box=NAME|ID or event=TYPE[,TYPE...]"],
    ["box=", "expected box=NAME|ID or event=TYPE[,TYPE...]"],
    ["name=b1", "expected box=NAME|ID or event=TYPE[,TYPE...]"],
    ["event=", "expected box=NAME|ID or event=TYPE[,TYPE...]"],
    ["event=die,dei", "unknown event type 'dei': expected one of create, start, die, restart"]
  ])("%j is a usage error", (value, reason) => {
    const error = errorOf(EventQuery.parseFilters(["box=b1", value]))
    expect(error._tag).toBe("InvalidFlag")
    expect(error.message.startsWith(`invalid --filter '${value}': ${reason}`)).toBe(true)
  })
})

describe("EventQuery.textLine", () => {
  it("a box event: time, scope, type, name (short id), then its fields", () => {
    expect(EventQuery.textLine(die)).toBe("2026-12-03T17:01:02.123Z box die b1 (abc123def456) exit_code=137 signal=SIGKILL")
    expect(EventQuery.textLine(restart)).toBe(
      "2026-12-03T17:01:02.123Z box restart b1 (abc123def456) exit_code=137 signal=SIGKILL reason=crash attempt=1"
    )
  })

  it("unknown (null) fields are left out; values with spaces, quotes or = and arrays are JSON", () => {
    expect(EventQuery.textLine({ ...die, exit_code: null, signal: "SIGTERM" })).toBe(
      "2026-12-03T17:01:02.123Z box die b1 (abc123def456) signal=SIGTERM"
    )
    const create = { seq: 1, time: die.time, type: "create", box_id: die.box_id, box_name: "b1", cmd: ["sh", "-c", "a=1"] } as const
    expect(EventQuery.textLine(create)).toBe("2026-12-03T17:01:02.123Z box create b1 (abc123def456) cmd=[\"sh\",\"-c\",\"a=1\"]")
    expect(EventQuery.textLine({ seq: 2, time: die.time, type: "state-corrupt", detail: "bad \"json\" at 3" })).toBe(
      "2026-12-03T17:01:02.123Z state state-corrupt detail=\"bad \\\"json\\\" at 3\""
    )
  })

  it("the monitor's events", () => {
    expect(EventQuery.textLine(monitorStart)).toBe("2026-12-03T17:05:00.000Z monitor monitor-start pid=4242")
    expect(EventQuery.textLine({ seq: 3, time: die.time, type: "takeover", pid: 5, from_pid: null })).toBe(
      "2026-12-03T17:01:02.123Z monitor takeover pid=5"
    )
  })
})
