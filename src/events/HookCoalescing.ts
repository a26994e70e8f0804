import type { BoxEvent } from "../domain/BoxEvent.js"

/**
 * The pure part of the hooks' coalescing (issue 14): a burst of the same event type for the same
 * box is delivered once per window, not once per event.
 *
 * The rule, chosen so that no event is delayed by more than one window and the first of a burst
 * is not delayed at all:
 * - an event whose key (type + box) has no open window is delivered at once (`count` 1) and
 *   opens a window for its key;
 * - events of that key while the window is open are held: only the last is kept, and how many;
 * - when the window ends, what was held (if anything) is delivered as one, with `count` = how
 *   many were held and the last one's fields, and a new window opens (so a burst that goes on
 *   is delivered at most once per window); if nothing was held, the key's window just closes.
 *
 * The runner (EventHooks.ts) keeps the clock: it calls `offer` for each event and `close` when a
 * key's window ends.
 */

/** What a hook run is given: an event, and how many events of its burst it stands for. */
export interface Delivery {
  readonly event: BoxEvent
  readonly count: number
}

/** Per key with an open window: what it holds (none yet: `undefined`). */
export type State = ReadonlyMap<string, Delivery | undefined>

export const empty: State = new Map()

/** The coalescing key: the event type, and the box for box events (monitor events: the type alone). */
export const keyOf = (event: BoxEvent): string => `${event.type}\u0000${"box_id" in event ? event.box_id : ""}`

export interface Offered {
  readonly state: State
  /** To deliver now. */
  readonly deliver: Delivery | undefined
  /** The key whose window this event opened: the caller ends it after the window. */
  readonly opened: string | undefined
}

/** An event arrives. */
export const offer = (state: State, event: BoxEvent): Offered => {
  const key = keyOf(event)
  if (!state.has(key)) {
    return { state: new Map(state).set(key, undefined), deliver: { event, count: 1 }, opened: key }
  }
  const held = state.get(key)
  return { state: new Map(state).set(key, { event, count: (held?.count ?? 0) + 1 }), deliver: undefined, opened: undefined }
}

export interface Closed {
  readonly state: State
  readonly deliver: Delivery | undefined
  /** Whether a new window opened for the key (it had held events): the caller ends it after the window too. */
  readonly reopened: boolean
}

/** The window of `key` ends. */
export const close = (state: State, key: string): Closed => {
  if (!state.has(key)) return { state, deliver: undefined, reopened: false }
  const held = state.get(key)
  const next = new Map(state)
  if (held === undefined) {
    next.delete(key)
    return { state: next, deliver: undefined, reopened: false }
  }
  return { state: next.set(key, undefined), deliver: held, reopened: true }
}
