import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Clock from "effect/Clock"
const mode = process.argv[2]
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
const loop = mode === "repeat" ? Effect.repeat(Effect.void, Schedule.spaced("100 millis"))
  : mode === "forever-sleep" ? Effect.forever(Effect.sleep("100 millis"))
  : mode === "async-timer" ? Effect.forever(Effect.async<void>((resume) => { const t = setTimeout(() => resume(Effect.void), 100); return Effect.sync(() => clearTimeout(t)) }))
  : Effect.never
const prog = Effect.gen(function*() {
  yield* Effect.fork(loop)
  yield* Effect.sleep("2 seconds")
  const c0 = cpu()
  yield* Effect.sleep("10 seconds")
  console.log(mode, "ms CPU per second:", ((cpu() - c0) / 10).toFixed(2))
})
Effect.runPromise(prog)
