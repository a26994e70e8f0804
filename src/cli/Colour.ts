/**
 * Whether the CLI may write ANSI escapes to a stream: only to a terminal, and never with
 * `NO_COLOR` set (any value, https://no-color.org) or `TERM=dumb`; `FORCE_COLOR` (other than
 * `0`/`false`) forces them, also into a pipe.
 */
export const enabled = (
  stream: { readonly isTTY?: boolean | undefined },
  env: Readonly<Record<string, string | undefined>>
): boolean => {
  const force = env["FORCE_COLOR"]
  if (force !== undefined && force !== "0" && force !== "false") return true
  if (env["NO_COLOR"] !== undefined) return false
  if (env["TERM"] === "dumb") return false
  return stream.isTTY === true
}

/** `text` in bold when `on`. */
export const bold = (on: boolean, text: string): string => (on ? `\x1b[1m${text}\x1b[0m` : text)
