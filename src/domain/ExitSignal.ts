import * as Option from "effect/Option"
import { parseSignal } from "../runtime/Signal.js"

/**
 * Which signal killed a box, as its exit code says. The box's wrapper
 * (src/runtime/internal/wrapper.sh) writes `128 + N` to the exit-code file when the command was
 * killed by signal N (the shell's convention; LocalBoxRuntime.stop records the same for a
 * stop), so the rule is: a code `128 + N`, N from 1 to 64, that names a signal this platform
 * knows, is a death by that signal. A command that itself exits 137 reads the same (the shell
 * cannot tell them apart either); codes up to 128, and unknown ones, are plain exits.
 */
export const signalOfExitCode = (code: number | null): string | null => {
  if (code === null || !Number.isInteger(code) || code <= 128 || code > 128 + 64) return null
  return Option.match(parseSignal(code - 128), { onNone: () => null, onSome: (signal) => signal.name })
}
