import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "fast-check"
import * as Backoff from "../../src/domain/Backoff.js"

const seconds = (d: Duration.Duration) => Duration.toMillis(d) / 1000
const m = Backoff.machine()

/** Drives a box that dies the instant it is restarted; returns the times of its restart attempts. */
const crashLoop = (attempts: number, startAt = 0) => {
  let state: Backoff.Backoff | undefined
  let now = startAt
  const times: Array<number> = []
  while (times.length < attempts) {
    const decision = m.decide(state, now)
    if (decision._tag === "Wait") {
      state = decision.next
      now = decision.until
      continue
    }
    times.push(now)
    state = m.booted(decision.next, now)
  }
  return times
}

describe("Backoff", () => {
  it("the schedule gives 1, 2, 4, 8, 16, 32, then 60 s for ever", () => {
    expect(Backoff.delays(Backoff.defaultConfig, 10).map(seconds)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60])
  })

  it("a box with no backoff is restarted at once", () => {
    expect(m.decide(undefined, 123)._tag).toBe("RestartNow")
  })

  it("a crash-looping box is restarted immediately, then after 1, 2, 4, 8, 16, 32, 60, 60 s", () => {
    const times = crashLoop(9, 1_000_000)
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000)
    expect(times[0]).toBe(1_000_000)
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 60, 60])
  })

  it("failed boots back off the same way", () => {
    let state: Backoff.Backoff | undefined
    const waits: Array<number> = []
    for (let i = 0; i < 8; i++) {
      const { wait, next } = m.attemptFailed(state, i * 1000)
      waits.push(seconds(wait))
      state = next
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60])
  })

  it("a box up for 30 s has its backoff reset: its next crash is restarted at once", () => {
    let state: Backoff.Backoff | undefined = m.booted(undefined, 0)
    // crash loop a few times
    let d = m.decide(state, 100)
    expect(d._tag).toBe("Wait")
    state = m.booted(d.next, 1100)
    d = m.decide(state, 1200)
    expect(d._tag === "Wait" && seconds(d.remaining)).toBe(2)
    state = m.booted(d.next, 3200)
    // stays up 30 s
    expect(m.running(state, 3200 + 29_999)).toBe(state)
    expect(m.running(state, 3200 + 30_000)).toBeUndefined()
    // a crash right at 30 s of uptime is immediate even without the running note
    expect(m.decide(state, 3200 + 30_000)._tag).toBe("RestartNow")
    // and the sequence starts again at 1 s
    const afterReset = m.booted(undefined, 40_000)
    const again = m.decide(afterReset, 40_001)
    expect(again._tag === "Wait" && seconds(again.remaining)).toBeCloseTo(1, 5)
  })

  it("a wait is announced once, then counts down", () => {
    const state = m.booted(undefined, 0)
    const first = m.decide(state, 500)
    expect(first._tag === "Wait" && first.announce).toBe(true)
    const second = m.decide(first.next, 1000)
    expect(second._tag === "Wait" && second.announce).toBe(false)
    expect(second._tag === "Wait" && Backoff.formatSeconds(second.remaining)).toBe("1s")
    expect(m.decide(second.next, 1500)._tag).toBe("RestartNow")
  })

  it("waits never exceed the cap and never shrink while failing (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 120 }), (n, baseMs, capS) => {
        const config = { base: Duration.millis(baseMs), cap: Duration.seconds(capS), reset: "30 seconds" }
        const ds = Backoff.delays(config, n).map(Duration.toMillis)
        for (let i = 0; i < ds.length; i++) {
          expect(ds[i]).toBeLessThanOrEqual(capS * 1000)
          expect(ds[i]).toBe(Math.min(baseMs * 2 ** i, capS * 1000))
        }
      })
    )
  })

  it("formats remaining time in whole seconds, rounded up", () => {
    expect(Backoff.formatSeconds(Duration.millis(1))).toBe("1s")
    expect(Backoff.formatSeconds(Duration.millis(60_000))).toBe("60s")
    expect(Backoff.formatSeconds(Duration.zero)).toBe("0s")
  })
})
