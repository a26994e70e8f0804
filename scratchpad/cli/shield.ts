import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
const shielded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptible(Effect.flatMap(Effect.fork(Effect.interruptible(effect)), Fiber.join))
const shielded2 = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptible(Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), Fiber.join))
const work = (tag: string) => Effect.gen(function*() {
  yield* Effect.sleep("200 millis")
  console.log(tag, "work done")
}).pipe(Effect.onInterrupt(() => Effect.sync(() => console.log(tag, "child interrupted"))))
const main = (tag: string, s: typeof shielded) => Effect.gen(function*() {
  const f = yield* Effect.fork(s(work(tag)))
  yield* Effect.sleep("50 millis")
  yield* Fiber.interrupt(f)
  console.log(tag, "interrupt returned")
})
await Effect.runPromise(main("fork", shielded))
await Effect.runPromise(main("daemon", shielded2))
