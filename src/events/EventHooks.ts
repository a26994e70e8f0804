import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as FiberStatus from "effect/FiberStatus"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BoxEvent } from "../domain/BoxEvent.js"
import * as EventHooksConfig from "../domain/EventHooksConfig.js"
import * as GroupProcess from "../platform/GroupProcess.js"
import * as ThrottledLog from "../platform/ThrottledLog.js"
import { EventJournal } from "./EventJournal.js"
import * as HookCoalescing from "./HookCoalescing.js"
import { HookRunner } from "./HookRunner.js"

/**
 * The monitor's event hooks (`monitor --on-event CMD`, issue 14): for each event this process
 * appends to the journal (`EventJournal.appended`) that passes the filter, every hook command
 * runs with the event as one JSON line on its stdin and its main fields in `A3S_*` variables.
 *
 * Supervision never waits on a hook: the journal's stream feeds this runner in a fiber of its
 * own; bursts are coalesced (HookCoalescing.ts, 3 s windows); deliveries go to a bounded queue
 * (the oldest dropped, and logged, when it overflows) that `concurrency` worker fibers drain;
 * each run has its timeout, after which its process group is killed. A hook's failure is a
 * warning, never fatal. The contract is in docs/behaviour.md ("Event hooks").
 */

/** Events of one type for one box within this window of the first are delivered as one. */
export const COALESCE_WINDOW = Duration.seconds(3)

/** Hook runs waiting for a free worker; beyond this the oldest are dropped. */
export const QUEUE_CAPACITY = 256

/** One hook run to do: a command, and the (possibly coalesced) event it is for. */
interface Job {
  readonly command: string
  readonly delivery: HookCoalescing.Delivery
}

/** The event's JSON on the hook's stdin: the (last) event, plus `count`, on one line. */
export const hookInput = (delivery: HookCoalescing.Delivery): string =>
  `${JSON.stringify({ ...delivery.event, count: delivery.count })}\n`

/** The `A3S_*` variables of a delivery: only those that apply to its event. */
export const hookEnvironment = (delivery: HookCoalescing.Delivery): Record<string, string> => {
  const event = delivery.event
  const env: Record<string, string> = {
    A3S_EVENT: event.type,
    A3S_EVENT_SEQ: String(event.seq),
    A3S_EVENT_TIME: event.time,
    A3S_EVENT_COUNT: String(delivery.count)
  }
  if ("box_id" in event) {
    env["A3S_BOX_ID"] = event.box_id
    env["A3S_BOX_NAME"] = event.box_name
  }
  switch (event.type) {
    case "die":
      if (event.exit_code !== null) env["A3S_EXIT_CODE"] = String(event.exit_code)
      if (event.signal !== null) env["A3S_SIGNAL"] = event.signal
      break
    case "stop":
      if (event.exit_code !== null) env["A3S_EXIT_CODE"] = String(event.exit_code)
      break
    case "restart":
      env["A3S_RESTART_REASON"] = event.reason
      env["A3S_RESTART_ATTEMPT"] = String(event.attempt)
      break
    case "health_status":
      env["A3S_HEALTH_STATUS"] = event.to
      break
  }
  return env
}

/** `die of box web (seq 12)`, `monitor-start (seq 1)`; `, 5 coalesced` for a burst. */
export const describeDelivery = (delivery: HookCoalescing.Delivery): string => {
  const event: BoxEvent = delivery.event
  const about = "box_name" in event ? ` of box ${event.box_name}` : ""
  const count = delivery.count > 1 ? `, ${delivery.count} coalesced` : ""
  return `${event.type}${about} (seq ${event.seq}${count})`
}

/** Why a hook run failed, or undefined when it succeeded (exit 0). */
export const failureOf = (result: Option.Option<GroupProcess.GroupRunResult>, timeout: Duration.Duration): string | undefined =>
  Option.match(result, {
    onNone: () => `timed out after ${Duration.format(timeout)}; its process group was killed`,
    onSome: ({ exit, tail }) =>
      GroupProcess.GroupExit.$match(exit, {
        Exited: ({ code }) => (code === 0 ? undefined : `exited with code ${code}${GroupProcess.outputSuffix(tail)}`),
        Signalled: ({ signal }) => `was killed by ${signal}${GroupProcess.outputSuffix(tail)}`,
        SpawnFailed: ({ reason }) => `could not be started (${reason})`
      })
  })

/**
 * Runs the hooks of `config` in the current scope, until it closes (which interrupts the hook
 * runs in progress: their groups are killed). Subscribed to `appended` when it returns, so no
 * event appended after that is missed.
 */
export const run = (
  config: EventHooksConfig.EventHooksConfig
): Effect.Effect<void, never, EventJournal | HookRunner | Scope.Scope> =>
  Effect.gen(function*() {
    if (config.commands.length === 0) return
    const journal = yield* EventJournal
    const runner = yield* HookRunner
    const dropLog = yield* ThrottledLog.make()

    const runJob = ({ command, delivery }: Job) =>
      runner.run(command, hookInput(delivery), hookEnvironment(delivery)).pipe(
        Effect.timeoutTo({ duration: config.timeout, onSuccess: Option.some, onTimeout: Option.none }),
        Effect.flatMap((result) => {
          const failure = failureOf(result, config.timeout)
          const event: BoxEvent = delivery.event
          const annotations = {
            hook: command,
            event_type: event.type,
            event_seq: event.seq,
            ...("box_id" in event ? { box: event.box_name, box_id: event.box_id } : {})
          }
          return failure === undefined
            ? Effect.logDebug(`monitor: event hook ran for ${describeDelivery(delivery)}: ${command}`).pipe(
              Effect.annotateLogs({ ...annotations, event: "hook_ran" })
            )
            : Effect.logWarning(`monitor: event hook ${failure}, for ${describeDelivery(delivery)}: ${command}`).pipe(
              Effect.annotateLogs({ ...annotations, event: "hook_failed" })
            )
        })
      )

    // The bounded queue: unbounded underneath, trimmed from its head (the oldest) under a lock,
    // so what is dropped is known and logged.
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Job>(), Queue.shutdown)
    const enqueueLock = yield* Effect.makeSemaphore(1)
    // Runs dropped since the last warning about it (the warning is throttled: once a minute).
    let droppedUnreported = 0
    const enqueue = (delivery: HookCoalescing.Delivery) =>
      enqueueLock.withPermits(1)(Effect.gen(function*() {
        yield* Queue.offerAll(queue, config.commands.map((command) => ({ command, delivery })))
        let last: Job | undefined
        while ((yield* Queue.size(queue)) > QUEUE_CAPACITY) {
          last = Option.getOrUndefined(yield* Queue.poll(queue))
          droppedUnreported++
        }
        if (last === undefined) return
        const logged = yield* dropLog.log(
          "dropped",
          Effect.logWarning(
            `monitor: event hooks are behind (${QUEUE_CAPACITY} runs queued): dropped the ${droppedUnreported} oldest run(s), the last for ${
              describeDelivery(last.delivery)
            }`
          )
        )
        if (logged) droppedUnreported = 0
      }))

    // The workers: at most `concurrency` hook runs at once.
    const workers = yield* FiberSet.make()
    for (let i = 0; i < config.concurrency; i++) {
      yield* FiberSet.run(
        workers,
        Effect.forever(Effect.flatMap(Queue.take(queue), (job) =>
          // The runner never fails; should it die, the worker logs it and goes on (the bound stays).
          runJob(job).pipe(Effect.catchAllDefect((defect) =>
            Effect.logWarning(`monitor: event hook could not run, for ${describeDelivery(job.delivery)}: ${job.command}`, defect)
          ))))
      )
    }

    // Coalescing: the pure state in a Ref, one timer fiber per open window.
    const coalescing = yield* Ref.make(HookCoalescing.empty)
    const windows = yield* FiberMap.make<string>()
    const endWindows = (key: string) =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(COALESCE_WINDOW)
          const closed = yield* Ref.modify(coalescing, (state) => {
            const c = HookCoalescing.close(state, key)
            return [c, c.state] as const
          })
          if (closed.deliver !== undefined) yield* enqueue(closed.deliver)
          if (!closed.reopened) return
        }
      })
    const onEvent = (event: BoxEvent) =>
      Effect.gen(function*() {
        if (!EventHooksConfig.matches(config.filter, event)) return
        const offered = yield* Ref.modify(coalescing, (state) => {
          const o = HookCoalescing.offer(state, event)
          return [o, o.state] as const
        })
        if (offered.opened !== undefined) yield* FiberMap.run(windows, offered.opened, endWindows(offered.opened))
        if (offered.deliver !== undefined) yield* enqueue(offered.deliver)
      })

    // `appended` subscribes when the stream starts, in the feeding fiber: `run` returns once that
    // fiber first waits (for the first event, so subscribed) or ends, so an event appended after
    // `run` returned is not missed (the supervisor starts after the hooks).
    const feeder = yield* Effect.forkScoped(Stream.runForEach(journal.appended, onEvent))
    yield* Effect.yieldNow().pipe(
      Effect.zipRight(Fiber.status(feeder)),
      Effect.repeat({ until: (status) => !FiberStatus.isRunning(status) })
    )
  })

/** The hooks as a scoped layer (`Monitor.layer` builds it when `--on-event` is given; none: nothing runs). */
export const layer = (config: EventHooksConfig.EventHooksConfig): Layer.Layer<never, never, EventJournal | HookRunner> =>
  Layer.scopedDiscard(run(config))
