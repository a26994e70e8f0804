import { describe, expect, it } from "@effect/vitest"
import * as ProcessIdentity from "../../src/runtime/ProcessIdentity.js"

const BOOT = Date.parse("2026-01-01T00:00:00Z")
const boot = () => BOOT

describe("ProcessIdentity (records without pid_start_time)", () => {
  it("Linux start ticks are USER_HZ (100/s) after boot; elsewhere seconds since the epoch", () => {
    expect(ProcessIdentity.startedAtMillis({ startTime: 12_345 }, "linux", boot)).toBe(BOOT + 123_450)
    expect(ProcessIdentity.startedAtMillis({ startTime: 1_700_000_000 }, "darwin", boot)).toBe(1_700_000_000_000)
    expect(ProcessIdentity.startedAtMillis({ startTime: 1 }, "linux", () => null)).toBeNull()
  })

  it("a process that started more than the slack after the box's started_at is not the box's", () => {
    const at = (offsetMs: number) => new Date(BOOT + offsetMs).toISOString()
    expect(ProcessIdentity.startedAfterBox(BOOT + 60_000, at(0))).toBe(true)
    expect(ProcessIdentity.startedAfterBox(BOOT + ProcessIdentity.START_SLACK_MS + 1, at(0))).toBe(true)
    expect(ProcessIdentity.startedAfterBox(BOOT + ProcessIdentity.START_SLACK_MS, at(0))).toBe(false)
    // started before its record says: the usual case (boot, then record)
    expect(ProcessIdentity.startedAfterBox(BOOT - 50, at(0))).toBe(false)
    // unknown times prove nothing
    expect(ProcessIdentity.startedAfterBox(null, at(0))).toBe(false)
    expect(ProcessIdentity.startedAfterBox(BOOT + 60_000, null)).toBe(false)
    expect(ProcessIdentity.startedAfterBox(BOOT + 60_000, "yesterday")).toBe(false)
  })

  it("with a recorded start time only that decides; without one, started_at does", () => {
    const info = { startTime: 500 }
    expect(ProcessIdentity.isForeign(info, { pid_start_time: 500, started_at: "2000-01-01T00:00:00Z" })).toBe(false)
    expect(ProcessIdentity.isForeign(info, { pid_start_time: 501, started_at: null })).toBe(true)
    expect(ProcessIdentity.isForeign(info, { pid_start_time: null, started_at: "2000-01-01T00:00:00Z" })).toBe(true)
    expect(ProcessIdentity.isForeign(info, { pid_start_time: null, started_at: null })).toBe(false)
    expect(ProcessIdentity.isForeign(info, { pid_start_time: null, started_at: "2999-01-01T00:00:00Z" })).toBe(false)
  })
})
