/** The unit file on disk: written atomically, read if it is there, and the paths it starts checked. */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as AtomicFile from "../../platform/AtomicFile.js"
import { ensureDirectories } from "../../platform/Directories.js"
import { isNotFound } from "../../platform/ErrorText.js"
import { UnitReadFailed, UnitWriteFailed } from "../Errors.js"
import type { MissingPath } from "../Model.js"
import type * as Units from "../Units.js"

/** Temp files of an install killed halfway are this old before another install removes them. */
const ORPHAN_AGE = Duration.minutes(1)

/**
 * Writes a unit atomically (AtomicFile), creating its directory. Mode 0644, as a unit written by
 * hand would be: it holds no secret, and the service manager reads it.
 */
export const write = (fs: FileSystem.FileSystem, file: string, content: string) =>
  Effect.gen(function*() {
    yield* ensureDirectories(path.dirname(file))
    const port = AtomicFile.fromFileSystem(fs)
    yield* AtomicFile.sweep(port, file, { olderThan: ORPHAN_AGE })
    yield* AtomicFile.write(port, file, content, { mode: 0o644 })
  }).pipe(
    Effect.mapError((error) =>
      new UnitWriteFailed({ path: file, cause: error instanceof AtomicFile.AtomicWriteFailed ? error.cause : error })
    )
  )

/** The file's text; None when it does not exist. */
export const readIfExists = (fs: FileSystem.FileSystem, file: string) =>
  fs.readFileString(file).pipe(
    Effect.map(Option.some),
    Effect.catchIf(isNotFound, () => Effect.succeedNone),
    Effect.mapError((cause) => new UnitReadFailed({ path: file, cause }))
  )

export const exists = (fs: FileSystem.FileSystem, file: string) => fs.exists(file).pipe(Effect.orElseSucceed(() => false))

export const isSymlink = (fs: FileSystem.FileSystem, link: string) =>
  fs.readLink(link).pipe(Effect.as(true), Effect.orElseSucceed(() => false))

/** The Node binary and entry script a unit starts that no longer exist. */
export const missingPaths = (fs: FileSystem.FileSystem, description: Units.UnitDescription) =>
  Effect.gen(function*() {
    const missing: Array<MissingPath> = []
    const check = [
      ["Node binary", description.node],
      ["entry script", description.script]
    ] as const
    for (const [what, p] of check) {
      if (Option.isSome(p) && !(yield* exists(fs, p.value))) missing.push({ what, path: p.value })
    }
    return missing
  })
