/**
 * Box output and environments are secrets as often as not (`-e API_KEY=...`), so everything
 * under the home is its user's alone: the state file 0600, box dirs 0700, their files 0600.
 * A home the tool creates is 0700; one that already existed with group or other permission
 * bits (made by hand, or by an older version) exposes what older versions left readable in
 * it: `ps` and `run` say so once on stderr, with the `chmod` that fixes it. `--quiet` hides it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { StateStore } from "../state/StateStore.js"

/** `text` as one shell word. */
const shellQuoted = (text: string): string => (/^[A-Za-z0-9_./:@%+,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`)

/** The warning for a home with permission bits `mode`, if it gives the group or others any access. */
export const warningLine = (home: string, mode: number): Option.Option<string> => {
  if ((mode & 0o077) === 0) return Option.none()
  const octal = (mode & 0o777).toString(8).padStart(4, "0")
  return Option.some(
    `Warning: the a3s-box home ${home} is open to other users (mode ${octal}): box logs and environments under it may hold secrets. Run \`chmod go-rwx ${shellQuoted(home)}\` (--quiet hides this warning).`
  )
}

/** Prints the warning on stderr when the home of the state file in context is open to others. Never fails. */
export const warnIfShared = (options: { readonly quiet: boolean }): Effect.Effect<void, never, StateStore | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (options.quiet) return
    const home = path.dirname((yield* StateStore).path)
    const info = yield* (yield* FileSystem.FileSystem).stat(home)
    const line = warningLine(home, info.mode)
    if (Option.isSome(line)) yield* Console.error(line.value)
  }).pipe(Effect.catchAllCause(() => Effect.void))
