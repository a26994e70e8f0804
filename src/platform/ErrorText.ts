/**
 * Reading the errors that come out of Node and @effect/platform: one place for "what does it
 * say" and "is it a missing file", instead of a copy per module.
 */

/** The message of an error-like value (an `Error`, a platform error, anything with `message`), else its string. */
export const errorText = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/** The errno code of a Node error (`ENOENT`, `EEXIST`, ...), if it has one. */
export const errnoCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined

/**
 * Whether `error` says the file is not there: a platform `SystemError` with reason `NotFound`
 * (FileSystem, CommandExecutor) or a Node error with code `ENOENT` (synchronous node:fs).
 */
export const isNotFound = (error: unknown): boolean =>
  (typeof error === "object" && error !== null && "_tag" in error && error._tag === "SystemError" &&
    "reason" in error && error.reason === "NotFound") ||
  errnoCode(error) === "ENOENT"
