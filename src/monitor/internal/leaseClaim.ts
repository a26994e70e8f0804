/**
 * The lease algorithm, once for every layer: claim, confirm, release and "who holds it" over
 * small ports (`LeaseParts`: read the lease, tell whether a holder is live, write or remove it,
 * all under a lock against other claimants), with the claim decision a pure function.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MonitorLeaseShape } from "../MonitorLease.js"
import type { MonitorLeaseUnavailable } from "./leaseErrors.js"
import { type LeaseHolder, LeaseState, sameHolder } from "./leaseFile.js"

/** What one claim did. */
export type ClaimResult = Data.TaggedEnum<{
  Claimed: {
    readonly holder: LeaseHolder
    /** The previous holder named by the lease, no longer running. */
    readonly previous: Option.Option<LeaseHolder>
  }
  /** A live process holds the lease; `checkable` is false when it runs on another host. */
  Busy: { readonly holder: LeaseHolder; readonly checkable: boolean }
}>

export const ClaimResult = Data.taggedEnum<ClaimResult>()

/** What the holder's check of its lease found. */
export type Confirmation = Data.TaggedEnum<{
  Held: {}
  /** The lease file was missing, unreadable, or named a process that is gone: written again. */
  Rewritten: { readonly reason: string }
  Lost: { readonly holder: LeaseHolder }
}>

export const Confirmation = Data.taggedEnum<Confirmation>()

/**
 * The claim decision, pure: given what the lease says and whether its holder is live, either
 * the lease is busy or `self` takes it (recording the previous holder, if there was one).
 */
export const decideClaim = (
  state: LeaseState,
  holderLive: boolean,
  self: LeaseHolder,
  localHost: string
): ClaimResult => {
  if (state._tag === "Found" && holderLive) {
    return ClaimResult.Busy({ holder: state.holder, checkable: state.holder.host === localHost })
  }
  return ClaimResult.Claimed({
    holder: self,
    previous: state._tag === "Found" && !sameHolder(state.holder, self) ? Option.some(state.holder) : Option.none()
  })
}

/** What a layer gives the algorithm. `verify` (from `locked`) fails once the lock is no longer ours. */
export interface LeaseParts {
  readonly home: string
  readonly path: string
  readonly host: string
  readonly identity: Effect.Effect<Omit<LeaseHolder, "acquiredAt">>
  readonly read: Effect.Effect<LeaseState, MonitorLeaseUnavailable>
  readonly live: (holder: LeaseHolder) => Effect.Effect<boolean>
  readonly write: (holder: LeaseHolder, verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<void, MonitorLeaseUnavailable>
  readonly remove: (verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<void, MonitorLeaseUnavailable>
  readonly locked: <A, E>(
    use: (verify: Effect.Effect<void, MonitorLeaseUnavailable>) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | MonitorLeaseUnavailable>
}

/** The lease of one home over `parts`. */
export const makeWith = (parts: LeaseParts): MonitorLeaseShape => {
  const self = Effect.gen(function*() {
    const identity = yield* parts.identity
    return { ...identity, acquiredAt: yield* Clock.currentTimeMillis }
  })
  const liveHolder = (state: LeaseState): Effect.Effect<boolean> =>
    state._tag === "Found" ? parts.live(state.holder) : Effect.succeed(false)

  const claim = parts.locked((verify) =>
    Effect.gen(function*() {
      const state = yield* parts.read
      const me = yield* self
      const decision = decideClaim(state, yield* liveHolder(state), me, parts.host)
      if (decision._tag === "Claimed") yield* parts.write(decision.holder, verify)
      return decision
    })
  )

  const confirm = (me: LeaseHolder): Effect.Effect<Confirmation, MonitorLeaseUnavailable> =>
    Effect.gen(function*() {
      // The common case needs no mutex: the file still names us.
      const seen = yield* parts.read
      if (seen._tag === "Found" && sameHolder(seen.holder, me)) return Confirmation.Held()
      return yield* parts.locked((verify) =>
        Effect.gen(function*() {
          const state = yield* parts.read
          if (state._tag === "Found" && sameHolder(state.holder, me)) return Confirmation.Held()
          if (state._tag === "Found" && (yield* parts.live(state.holder))) {
            return Confirmation.Lost({ holder: state.holder })
          }
          yield* parts.write(me, verify)
          const reason = LeaseState.$match(state, {
            Missing: () => "the lease file was missing",
            Corrupt: ({ detail }) => `the lease file was unreadable (${detail})`,
            Found: ({ holder }) => `the lease file named pid ${holder.pid}, which is not running`
          })
          return Confirmation.Rewritten({ reason })
        })
      )
    })

  const release = (me: LeaseHolder): Effect.Effect<void> =>
    parts.locked((verify) =>
      Effect.gen(function*() {
        const state = yield* parts.read
        if (state._tag === "Found" && sameHolder(state.holder, me)) yield* parts.remove(verify)
      })
    ).pipe(Effect.catchAll((error) => Effect.logWarning(`monitor: could not release the lease: ${error.message}`)))

  const holder = Effect.gen(function*() {
    const state = yield* parts.read
    return state._tag === "Found" && (yield* parts.live(state.holder)) ? Option.some(state.holder) : Option.none()
  })

  return { home: parts.home, path: parts.path, host: parts.host, self, holder, claim, confirm, release }
}
