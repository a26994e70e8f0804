import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** A Console that records `log` (stdout) and `error` (stderr) lines; everything else is a no-op. */
export const capturedConsole = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const noop = () => Effect.void
  const unsafe = new Proxy({
    log: (...args: ReadonlyArray<unknown>) => { out.push(text(args)) },
    error: (...args: ReadonlyArray<unknown>) => { err.push(text(args)) }
  } as Record<string | symbol, unknown>, { get: (t, p) => t[p] ?? (() => {}) })
  const target: Record<string | symbol, unknown> = {
    [Console.TypeId]: Console.TypeId,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => { out.push(text(args)) }),
    error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => { err.push(text(args)) }),
    clear: Effect.void,
    groupEnd: Effect.void,
    unsafe
  }
  const console = new Proxy(target, { get: (t, p) => t[p] ?? noop }) as unknown as Console.Console
  return { out, err, console }
}
