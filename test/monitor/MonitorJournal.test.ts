import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { EventJournal } from "../../src/events/EventJournal.js"
import * as InMemoryEventJournal from "../../src/events/InMemoryEventJournal.js"
import * as Monitor from "../../src/monitor/Monitor.js"
import { HeldLease, type HeldLeaseShape } from "../../src/monitor/MonitorLease.js"

const holder = (pid: number) => ({ pid, pidStartTime: null, host: "here", acquiredAt: 0 })

const held = (previous: Option.Option<ReturnType<typeof holder>>): HeldLeaseShape => ({
  holder: holder(4242),
  previous,
  lost: Effect.never,
  isLost: Effect.succeed(false),
  verify: Effect.succeed(true)
})

/** Builds `Monitor.journalLife` over a lease like `lease` and closes it; the journal's events, without seq and time. */
const lifeOf = (lease: HeldLeaseShape) =>
  Effect.gen(function*() {
    const journal = yield* InMemoryEventJournal.make
    const during = yield* Effect.scoped(Effect.gen(function*() {
      yield* Layer.build(Monitor.journalLife.pipe(
        Layer.provide(Layer.merge(Layer.succeed(EventJournal, journal), Layer.succeed(HeldLease, lease)))
      ))
      return (yield* journal.events).map((e) => e.type)
    }))
    const after = (yield* journal.events).map(({ seq: _seq, time: _time, ...rest }) => rest)
    return { during, after }
  })

describe("Monitor.journalLife: the monitor's own life in the journal", () => {
  it.effect("monitor-start once it holds the home, monitor-stop when it closes", () =>
    Effect.gen(function*() {
      const { after, during } = yield* lifeOf(held(Option.none()))
      expect(during).toEqual(["monitor-start"])
      expect(after).toEqual([{ type: "monitor-start", pid: 4242 }, { type: "monitor-stop", pid: 4242 }])
    }))

  it.effect("a lease taken over from a monitor that is gone: takeover from its pid, first", () =>
    Effect.gen(function*() {
      const { after } = yield* lifeOf(held(Option.some(holder(77))))
      expect(after).toEqual([
        { type: "takeover", pid: 4242, from_pid: 77 },
        { type: "monitor-start", pid: 4242 },
        { type: "monitor-stop", pid: 4242 }
      ])
    }))
})
