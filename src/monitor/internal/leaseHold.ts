/**
 * Holding the lease for the lifetime of a scope: claim it (or, as a standby, wait for it), watch
 * that it stays ours, release it at the end.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as ThrottledLog from "../../platform/ThrottledLog.js"
import type { HeldLeaseShape, MonitorLeaseShape } from "../MonitorLease.js"
import { MonitorAlreadyRunning, MonitorLeaseLost, type MonitorLeaseUnavailable } from "./leaseErrors.js"
import { describeHolder, type LeaseHolder, sameHolder } from "./leaseFile.js"

export interface HoldOptions {
  /** Wait for the lease instead of failing when a live monitor holds it (`--standby`). */
  readonly standby: boolean
  /** How often a standby looks at the lease (default 1 s). */
  readonly poll?: Duration.DurationInput
  /** How often the holder checks the lease is still its own (default 5 s: the default interval). */
  readonly watch?: Duration.DurationInput
}

/** A standby looks at the lease this often, so that it takes over well within one poll interval. */
export const standbyPoll = (interval: Duration.DurationInput): Duration.Duration =>
  Duration.min(Duration.decode(interval), Duration.seconds(1))

/** Takes `lease` for the lifetime of the current scope (see `MonitorLease.hold`). */
export const holdLease = (
  lease: MonitorLeaseShape,
  options: HoldOptions
): Effect.Effect<HeldLeaseShape, MonitorAlreadyRunning | MonitorLeaseUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const poll = Duration.decode(options.poll ?? Duration.seconds(1))
    const watch = Duration.decode(options.watch ?? Duration.seconds(5))

    let waitingFor: LeaseHolder | undefined
    const claimErrors = yield* ThrottledLog.make()
    const claimed = yield* Effect.acquireRelease(
      Effect.gen(function*() {
        while (true) {
          const attempt = yield* Effect.either(lease.claim)
          if (Either.isRight(attempt)) {
            const result = attempt.right
            if (result._tag === "Claimed") return result
            const busy = result
            if (!options.standby) {
              return yield* new MonitorAlreadyRunning({ home: lease.home, holder: busy.holder, checkable: busy.checkable })
            }
            if (waitingFor === undefined || !sameHolder(waitingFor, busy.holder)) {
              yield* Effect.logInfo(
                `monitor: standby: ${describeHolder(busy.holder, lease.host)} is supervising ${lease.home}; this monitor takes over when it exits`
              )
            }
            waitingFor = busy.holder
          } else {
            if (!options.standby) return yield* attempt.left
            yield* claimErrors.log(attempt.left.message, Effect.logWarning(`monitor: standby: ${attempt.left.message} (retrying)`))
          }
          // Interruptible wait: Ctrl-C of a standby monitor ends it at once.
          yield* Effect.interruptible(Effect.sleep(poll))
        }
      }),
      // Removes the lease file only if it still names us: a lost lease is someone else's.
      (claimed) => lease.release(claimed.holder)
    )

    if (waitingFor !== undefined) {
      const was = Option.getOrElse(claimed.previous, () => waitingFor!)
      yield* Effect.logInfo(
        `monitor: standby: ${describeHolder(was, lease.host)} is gone; this monitor (pid ${claimed.holder.pid}) takes over supervision of ${lease.home}`
      )
    } else if (Option.isSome(claimed.previous)) {
      yield* Effect.logInfo(
        `monitor: the previous monitor of ${lease.home} (${describeHolder(claimed.previous.value, lease.host)}) is gone; taking over its lease`
      )
    }

    const lostSignal = yield* Deferred.make<never, MonitorLeaseLost>()

    const watchErrors = yield* ThrottledLog.make()
    const checking = yield* Effect.makeSemaphore(1)
    const check = checking.withPermits(1)(Effect.gen(function*() {
      if (yield* Deferred.isDone(lostSignal)) return false
      const result = yield* Effect.either(lease.confirm(claimed.holder))
      if (Either.isLeft(result)) {
        yield* watchErrors.log(result.left.message, Effect.logWarning(`monitor: ${result.left.message}`))
        return true
      }
      yield* watchErrors.clear
      const confirmation = result.right
      switch (confirmation._tag) {
        case "Held":
          return true
        case "Rewritten":
          yield* Effect.logWarning(`monitor: ${confirmation.reason}; wrote the lease ${lease.path} again`)
          return true
        case "Lost": {
          const error = new MonitorLeaseLost({ home: lease.home, holder: confirmation.holder })
          yield* Effect.logError(`monitor: ${error.message}`)
          yield* Deferred.fail(lostSignal, error)
          return false
        }
      }
    }))
    yield* Effect.forkScoped(
      Effect.repeat(Effect.delay(check, watch), Schedule.recurWhile((keepGoing: boolean) => keepGoing))
    )

    return {
      holder: claimed.holder,
      previous: claimed.previous,
      lost: Deferred.await(lostSignal),
      isLost: Deferred.isDone(lostSignal),
      verify: check
    }
  })
