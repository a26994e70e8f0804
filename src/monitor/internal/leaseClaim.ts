/**
 * The lease algorithm, once for every layer: claim, confirm, release and "who holds it" over
 * small ports (`LeaseParts`: read the lease, tell whether a holder is live, write or remove it,
 * all under a lock against other claimants), with the claim decision a pure function.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MonitorLeaseShape } from "../MonitorLease.js"
import type { MonitorLeaseUnavailable } from "./leaseErrors.js"
import { type LeaseHolder, type LeaseState, sameHolder } from "./leaseFile.js"

export type ClaimResult =
  | {
    readonly _tag: "Claimed"
    readonly holder: LeaseHolder
    /** The previous holder named by the lease, no longer running. */
    readonly previous: Option.Option<LeaseHolder>
  }
  | { readonly _tag: "Busy"; readonly holder: LeaseHolder; readonly checkable: boolean }

export type Confirmation =
  | { readonly _tag: "Held" }
  /** The lease file was missing, unreadable, or named a process that is gone: written again. */
  | { readonly _tag: "Rewritten"; readonly reason: string }
  | { readonly _tag: "Lost"; readonly holder: LeaseHolder }

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
    return { _tag: "Busy", holder: state.holder, checkable: state.holder.host === localHost }
  }
  return {
    _tag: "Claimed",
    holder: self,
    previous: state._tag === "Found" && !sameHolder(state.holder, self) ? Option.some(state.holder) : Option.none()
  }
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
      if (seen._tag === "Found" && sameHolder(seen.holder, me)) return { _tag: "Held" } as const
      return yield* parts.locked((verify) =>
        Effect.gen(function*() {
          const state = yield* parts.read
          if (state._tag === "Found" && sameHolder(state.holder, me)) return { _tag: "Held" } as const
          if (state._tag === "Found" && (yield* parts.live(state.holder))) {
            return { _tag: "Lost", holder: state.holder } as const
          }
          yield* parts.write(me, verify)
          const reason = state._tag === "Missing"
            ? "the lease file was missing"
            : state._tag === "Corrupt"
            ? `the lease file was unreadable (${state.detail})`
            : `the lease file named pid ${state.holder.pid}, which is not running`
          return { _tag: "Rewritten", reason } as const
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
