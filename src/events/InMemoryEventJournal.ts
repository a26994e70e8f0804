import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { BoxEvent, NewBoxEvent } from "../domain/BoxEvent.js"
import { EventJournal, type EventJournalShape, type EventRange, isInRange } from "./EventJournal.js"

/** An event journal kept in memory (tests, embedders): `events` is everything appended, in order. */
export interface InMemoryEventJournal extends EventJournalShape {
  readonly events: Effect.Effect<ReadonlyArray<BoxEvent>>
}

export const make: Effect.Effect<InMemoryEventJournal> = Effect.gen(function*() {
  const log = yield* Ref.make<ReadonlyArray<BoxEvent>>([])
  const hub = yield* PubSub.unbounded<BoxEvent>()
  const append = (events: ReadonlyArray<NewBoxEvent>) =>
    Effect.gen(function*() {
      if (events.length === 0) return
      const now = new Date(yield* Clock.currentTimeMillis).toISOString()
      const added = yield* Ref.modify(log, (current) => {
        const stamped = events.map((event, i) => ({ ...event, seq: current.length + i + 1, time: event.time ?? now }) as BoxEvent)
        return [stamped, [...current, ...stamped]] as const
      })
      yield* PubSub.publishAll(hub, added)
    })
  const read = (range: EventRange) =>
    Stream.unwrap(Effect.map(Ref.get(log), (events) => Stream.fromIterable(events.filter(isInRange(range)))))
  const follow = (since?: number) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const subscription = yield* PubSub.subscribe(hub)
      const all = yield* Ref.get(log)
      const history = all.filter(isInRange(since === undefined ? {} : { since }))
      // Subscribed before the history was read: what both hold is dropped from the live part.
      const seen = all.length
      return Stream.concat(
        Stream.fromIterable(history),
        Stream.filter(Stream.fromQueue(subscription), (event) => event.seq > seen)
      )
    }))
  return {
    append,
    read,
    follow,
    appended: Stream.fromPubSub(hub),
    events: Ref.get(log)
  }
})

export const layer: Layer.Layer<EventJournal> = Layer.effect(EventJournal, make)
