import { describe, expect, it } from "@effect/vitest"
import type { BoxEvent } from "../../src/domain/BoxEvent.js"
import * as HookCoalescing from "../../src/events/HookCoalescing.js"

const die = (seq: number, box = "a"): BoxEvent => ({
  seq,
  time: "2026-01-01T00:00:00.000Z",
  type: "die",
  box_id: `id-${box}`,
  box_name: box,
  exit_code: seq,
  signal: null
})

describe("HookCoalescing", () => {
  it("delivers the first of a key at once and opens its window; the rest are held, the last kept", () => {
    const first = HookCoalescing.offer(HookCoalescing.empty, die(1))
    expect(first.deliver).toEqual({ event: die(1), count: 1 })
    expect(first.opened).toBe(HookCoalescing.keyOf(die(1)))
    const second = HookCoalescing.offer(first.state, die(2))
    const third = HookCoalescing.offer(second.state, die(3))
    expect([second.deliver, second.opened, third.deliver, third.opened]).toEqual([undefined, undefined, undefined, undefined])
    const closed = HookCoalescing.close(third.state, first.opened!)
    expect(closed.deliver).toEqual({ event: die(3), count: 2 })
    expect(closed.reopened).toBe(true)
    // the new window held nothing: the key closes, and its next event is delivered at once again
    const quiet = HookCoalescing.close(closed.state, first.opened!)
    expect(quiet).toMatchObject({ deliver: undefined, reopened: false })
    expect(quiet.state.size).toBe(0)
    expect(HookCoalescing.offer(quiet.state, die(4)).deliver).toEqual({ event: die(4), count: 1 })
  })

  it("keys by type and box: another box or another type is not held", () => {
    const a = HookCoalescing.offer(HookCoalescing.empty, die(1, "a"))
    const b = HookCoalescing.offer(a.state, die(2, "b"))
    expect(b.deliver?.event.seq).toBe(2)
    const restart: BoxEvent = { seq: 3, time: "t", type: "restart", box_id: "id-a", box_name: "a", reason: "crash", attempt: 1 }
    expect(HookCoalescing.offer(b.state, restart).deliver?.event.seq).toBe(3)
    // monitor events (no box) key by their type alone
    const start: BoxEvent = { seq: 4, time: "t", type: "monitor-start", pid: 9 }
    const s1 = HookCoalescing.offer(HookCoalescing.empty, start)
    expect(HookCoalescing.offer(s1.state, { ...start, seq: 5 }).deliver).toBeUndefined()
  })

  it("closing a key without a window changes nothing", () => {
    expect(HookCoalescing.close(HookCoalescing.empty, "x")).toEqual({ state: HookCoalescing.empty, deliver: undefined, reopened: false })
  })
})
