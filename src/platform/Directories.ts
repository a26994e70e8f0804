import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { errnoCode, isNotFound } from "./ErrorText.js"

/** Modes of what only its user may read: the home, each box's directory and its files (a box's output may hold secrets). */
export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

/**
 * `mkdir -p DIR` that always terminates. Node 20's `mkdir(…, { recursive: true })` loops
 * forever at full CPU when a parent that exists refuses new entries with ENOENT (any path
 * under /proc, for one), so a bad `A3S_HOME` hung every command. This walks up to the first
 * existing ancestor and creates the rest one level at a time; `mode` applies to the
 * directories it creates, whatever the umask.
 */
export const makeDirectories = async (dir: string, mode?: number): Promise<void> => {
  const missing: Array<string> = []
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      const info = await fsp.stat(current)
      if (!info.isDirectory()) throw Object.assign(new Error(`${current} exists and is not a directory`), { code: "ENOTDIR" })
      break
    } catch (error) {
      if (!isNotFound(error)) throw error
      missing.push(current)
      if (path.dirname(current) === current) break
    }
  }
  for (const directory of missing.reverse()) {
    try {
      await fsp.mkdir(directory, mode === undefined ? {} : { mode })
    } catch (error) {
      // Created meanwhile by a concurrent command: fine.
      if (errnoCode(error) !== "EEXIST") throw error
      continue
    }
    // mkdir's mode passes through the umask: the mode asked for is the mode it gets.
    if (mode !== undefined) await fsp.chmod(directory, mode)
  }
}

/** `makeDirectories` as an Effect; fails with the OS error (its message names the path). */
export const ensureDirectories = (dir: string, mode?: number): Effect.Effect<void, Error> =>
  Effect.tryPromise({
    try: () => makeDirectories(dir, mode),
    catch: (error) => (error instanceof Error ? error : new Error(String(error)))
  })
