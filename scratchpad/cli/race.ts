import * as Effect from "effect/Effect"
const r = Effect.raceFirst(Effect.sleep("10 millis"), Effect.never)
const t = (name: string, e: Effect.Effect<void>) => Effect.runPromise(e.pipe(Effect.timeoutFail({ duration: "1 second", onTimeout: () => "TIMEOUT" }), Effect.either)).then((x) => console.log(name, x._tag))
// timeoutFail itself can't interrupt the uninterruptible region; run with a side timer instead
const probe = (name: string, e: Effect.Effect<void>) => {
  let done = false
  Effect.runPromise(e).then(() => { done = true })
  setTimeout(() => console.log(name, done ? "completed" : "HUNG"), 500)
}
probe("interruptible", r)
probe("uninterruptible", Effect.uninterruptible(r))
setTimeout(() => process.exit(0), 700)
