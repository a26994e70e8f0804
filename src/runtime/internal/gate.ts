import type { Socket } from "node:net"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import { exitCodePath, WRAPPER_NAME } from "../BoxProcess.js"
import { WRAPPER_SCRIPT } from "./wrapperScript.js"

/**
 * What the booting process and a box's wrapper (wrapper.sh) say to each other: the launcher's
 * command line, the fields a spare launcher reads from its gate, and the lines a wrapper writes
 * on its gate (the job's pid, then `exit CODE`). Pure, except `listenToGate`.
 */

/** A box as its launcher needs it: the box, and where its command starts. */
export interface LaunchedBox {
  readonly box: BoxRecord
  readonly cwd: string
}

/** The argv (after bash itself) of a launcher: `--norc --noprofile -c WRAPPER_SCRIPT a3s-box-wrapper ARGS...`. */
export const launcherArgv = (args: ReadonlyArray<string>): Array<string> => [
  "--norc",
  "--noprofile",
  "-c",
  WRAPPER_SCRIPT,
  WRAPPER_NAME,
  ...args
]

/**
 * The arguments of a launcher of `boxes`: `N`, then per box `GATE_FD LOG_FD EXIT_FILE CWD ARGC CMD...`,
 * with box i's gate at fd 3+i and its console log at fd 3+N+i.
 */
export const launcherArgs = (boxes: ReadonlyArray<LaunchedBox>): Array<string> => {
  const n = boxes.length
  const args: Array<string> = [String(n)]
  for (const [i, { box, cwd }] of boxes.entries()) {
    args.push(String(3 + i), String(3 + n + i), exitCodePath(box), cwd, String(box.cmd.length), ...box.cmd)
  }
  return args
}

/** The arguments of a spare launcher: it reads its box from its gate (fd 3). */
export const SPARE_ARGS: ReadonlyArray<string> = ["spare"]

/** What a spare launcher reads from its gate: NUL-terminated `EXIT_FILE LOG CWD ARGC CMD...`. */
export const spareFields = ({ box, cwd }: LaunchedBox): string =>
  [exitCodePath(box), box.console_log, cwd, String(box.cmd.length), ...box.cmd].map((f) => `${f}\0`).join("")

/**
 * The launcher's environment: the box's, with BASH_ENV under another name (bash would source it
 * before the launcher runs; the job restores it for the command).
 */
export const launcherEnvironment = (env: Record<string, string>): Record<string, string> => {
  if (env["BASH_ENV"] === undefined) return { ...env }
  const moved: Record<string, string> = { ...env, A3S_BOX_BASH_ENV: env["BASH_ENV"] }
  delete moved["BASH_ENV"]
  return moved
}

/** Boxes whose launcher environments have the same key are started by one launcher. */
export const environmentKey = (env: Record<string, string>): string => JSON.stringify(Object.entries(env))

/** The job's pid in the wrapper's first line, if it is one (never 0 or 1). */
export const parsePidLine = (line: string): number | undefined => {
  const pid = Number(line)
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined
}

/** The box's exit code in a later `exit CODE` line, if it is one. */
export const parseExitLine = (line: string): number | undefined => {
  if (!line.startsWith("exit ")) return undefined
  const code = Number(line.slice(5))
  return Number.isSafeInteger(code) ? code : undefined
}

/** What a gate's listener is told, in this order: the pid line (or that the gate closed first), then the exit code. */
export interface GateEvents {
  /** The wrapper's first line: `pid` is undefined when it is not a pid (the gate is destroyed by then). */
  readonly reported: (pid: number | undefined, line: string) => void
  /** The gate closed before the first line. */
  readonly closedEarly: () => void
  /** The wrapper's `exit CODE` (the gate is destroyed by then). */
  readonly exited: (code: number) => void
}

/** Listens on a box's gate for its wrapper's lines. */
export const listenToGate = (gate: Socket, events: GateEvents): void => {
  // Writing to a wrapper that died raises EPIPE: handled where it matters.
  gate.on("error", () => {})
  let buffer = ""
  let reported = false
  gate.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("latin1")
    let newline: number
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (!reported) {
        reported = true
        const pid = parsePidLine(line)
        if (pid === undefined) gate.destroy()
        events.reported(pid, line)
        if (pid === undefined || gate.destroyed) return
      } else if (line.startsWith("exit ")) {
        const code = parseExitLine(line)
        if (code !== undefined) events.exited(code)
        gate.destroy()
        return
      }
    }
  })
  gate.once("close", () => {
    if (!reported) events.closedEarly()
  })
}
