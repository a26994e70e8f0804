import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { accessSync, chmodSync, constants as fsConstants, fchmodSync, fstatSync, openSync, readFileSync, statSync, unlinkSync } from "node:fs"
import * as path from "node:path"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import { makeDirectories, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../../platform/Directories.js"
import { errnoCode, errorText } from "../../platform/ErrorText.js"
import { exitCodePath } from "../BoxProcess.js"

/**
 * The files of a box that a boot prepares and a stop or reconcile reads: its directories, its
 * console log, its `exit_code`, and the checks made before its wrapper is spawned.
 *
 * They are synchronous node:fs calls: a boot is on the path of every restart, and as
 * asynchronous calls they were a dozen thread-pool round trips, each waiting for the event loop
 * to be scheduled again on a busy machine. They are stats and small files: microseconds each.
 *
 * A box's files are its user's alone, whatever the home's mode and the umask: its output may
 * hold the secrets it was given (`-e API_KEY=...`). Directories a boot creates are 0700, the
 * console log 0600 (the wrapper writes `exit_code` under umask 077).
 */

const ExitCodeFile = Schema.compose(Schema.Trim, Schema.NumberFromString).pipe(Schema.int())
const decodeExitCodeFile = Schema.decodeUnknownOption(ExitCodeFile)

/** Parses the content of an exit_code file: one integer, surrounding whitespace allowed. */
export const parseExitCodeFile = (text: string): Option.Option<number> => decodeExitCodeFile(text)

/** The exit code the box's last run left in `<box_dir>/exit_code`, if any. */
export const readExitCode = (box: BoxRecord): Effect.Effect<Option.Option<number>> =>
  Effect.sync(() => {
    try {
      return parseExitCodeFile(readFileSync(exitCodePath(box), "utf8"))
    } catch {
      return Option.none<number>()
    }
  })

/** Where the executable `name` would be found, as execvp would look for it. */
export const resolveExecutable = (name: string, cwd: string, pathVar: string): string | undefined => {
  const candidates = name.includes("/")
    ? [path.resolve(cwd, name)]
    : pathVar.split(":").map((dir) => path.resolve(cwd, dir === "" ? "." : dir, name))
  for (const candidate of candidates) {
    try {
      // Most PATH entries do not have it: no exception (and its stack trace) for those.
      if (statSync(candidate, { throwIfNoEntry: false })?.isFile() !== true) continue
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const ownUid = process.getuid?.()

/** Ours, and readable or writable by the group or others. */
const isShared = (info: { readonly mode: number; readonly uid: number }): boolean =>
  (info.mode & 0o077) !== 0 && (ownUid === undefined || info.uid === ownUid)

/**
 * The box's directories exist, or the problem creating them; synchronous when they already exist
 * (a restart). A box dir an older version left shared is made private: only one named after the
 * box (its id), never a shared directory a hand-written record might name (`/tmp`).
 */
export const ensureBoxDirectories = (box: BoxRecord): Effect.Effect<string | undefined> => {
  const missing: Array<string> = []
  for (const dir of [box.box_dir, path.dirname(box.console_log)]) {
    const info = statSync(dir, { throwIfNoEntry: false })
    if (info?.isDirectory() !== true) missing.push(dir)
    else if (dir === box.box_dir && path.basename(dir) === box.id && isShared(info)) {
      try {
        chmodSync(dir, PRIVATE_DIR_MODE)
      } catch {
        // best effort: the boot does not depend on it
      }
    }
  }
  if (missing.length === 0) return Effect.succeed(undefined)
  return Effect.promise(async () => {
    try {
      for (const dir of missing) await makeDirectories(dir, PRIVATE_DIR_MODE)
      return undefined
    } catch (error) {
      return `cannot create its directories (${errorText(error)})`
    }
  })
}

/** Everything else that can be checked before spawning (synchronous: stats and an unlink); returns the problem, if any. */
export const checkBoot = (box: BoxRecord, env: Record<string, string>, cwd: string): string | undefined => {
  const cwdStat = statSync(cwd, { throwIfNoEntry: false })
  if (cwdStat === undefined) return `its working directory ${cwd} does not exist: create it or fix the box's workdir`
  if (!cwdStat.isDirectory()) return `its working directory ${cwd} is not a directory`
  const exe = box.cmd[0]!
  if (resolveExecutable(exe, cwd, env["PATH"] ?? "") === undefined) {
    return exe.includes("/")
      ? `${exe} is not an executable file`
      : `executable ${exe} not found in PATH (${env["PATH"] ?? ""}): install it or use an absolute path`
  }
  try {
    unlinkSync(exitCodePath(box))
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") {
      return `cannot clear the stale exit code file ${exitCodePath(box)} (${errorText(error)})`
    }
  }
  return undefined
}

/** Opens the console log for appending: created 0600; one left shared (by an older version) made private. */
export const openConsoleLog = (file: string): number => {
  const fd = openSync(file, "a", PRIVATE_FILE_MODE)
  try {
    const info = fstatSync(fd)
    if (info.isFile() && isShared(info)) fchmodSync(fd, PRIVATE_FILE_MODE)
  } catch {
    // best effort: the boot does not depend on it
  }
  return fd
}
