import * as Option from "effect/Option"
import { constants } from "node:os"

/** A POSIX signal by name (`SIGTERM`) and number on this platform. */
export interface Signal {
  readonly name: NodeJS.Signals
  readonly number: number
}

const byName: ReadonlyMap<string, Signal> = new Map(
  Object.entries(constants.signals).map(([name, number]) => [name, { name: name as NodeJS.Signals, number }])
)
const byNumber: ReadonlyMap<number, Signal> = new Map(
  // Several names can share a number (SIGIOT = SIGABRT, SIGPOLL = SIGIO): the first one listed wins.
  [...byName.values()].reverse().map((signal) => [signal.number, signal])
)

/**
 * Parses a stop signal as users and the original a3s-box write it: `SIGTERM`, `TERM`,
 * `sigterm`, `15`. Returns none for anything this platform does not know.
 */
export const parseSignal = (input: string | number): Option.Option<Signal> => {
  const text = String(input).trim()
  if (/^\d+$/.test(text)) return Option.fromNullable(byNumber.get(Number(text)))
  const upper = text.toUpperCase()
  return Option.fromNullable(byName.get(upper.startsWith("SIG") ? upper : `SIG${upper}`))
}

/** The valid spellings, for error messages. */
export const signalHelp = "a signal name such as SIGTERM or TERM, or its number such as 15"

export const SIGKILL: Signal = { name: "SIGKILL", number: constants.signals.SIGKILL }
export const SIGTERM: Signal = { name: "SIGTERM", number: constants.signals.SIGTERM }
export const SIGCONT: Signal = { name: "SIGCONT", number: constants.signals.SIGCONT }

/** The name of signal `n` (`SIGKILL` for 9), or `signal n` when this platform has none. */
export const signalName = (n: number): string => byNumber.get(n)?.name ?? `signal ${n}`

/** Exit code convention for a death by signal: 128 + N. */
export const exitCodeOfSignal = (signal: Signal): number => 128 + signal.number
