/**
 * The environment a box runs with (SPEC §12: fixed when the box is created).
 *
 * `run` takes a small base from its caller's environment (PATH, HOME, USER, LOGNAME, SHELL,
 * LANG, LC_ALL, TZ, TMPDIR; PATH defaulted when the caller has none) and records it as the
 * box's `base_env`; the box's `env` (its `-e` values) goes on top. Every boot of the box (the
 * first, a monitor's restart, `start`, `restart`) and every health probe uses exactly that,
 * never the booting process's variables: a monitor started by systemd or `env -i` restarts a
 * box with the PATH and HOME of the shell that ran it. The rest of the caller's environment is
 * deliberately not passed.
 *
 * `env` stays the `-e` values alone, as the original a3s-box writes it. A record written by an
 * older tool has no `base_env`: it boots with the booting process's base variables (what every
 * boot did before), `env` on top.
 */

/** Caller variables a box inherits unless its own `env` overrides them. Everything else of the caller stays out. */
export const BASE_ENV_KEYS: ReadonlyArray<string> = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TZ", "TMPDIR"]

/** Used when there is no PATH at all (a service manager's minimal environment). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type Environment = Readonly<Record<string, string | undefined>>

/** The base variables of `caller` (those it has), PATH defaulted when it has none or an empty one. */
export const baseEnvironment = (caller: Environment): Record<string, string> => {
  const base: Record<string, string> = {}
  for (const key of BASE_ENV_KEYS) {
    const value = caller[key]
    if (value !== undefined) base[key] = value
  }
  if (base["PATH"] === undefined || base["PATH"] === "") base["PATH"] = DEFAULT_PATH
  return base
}

/** `base` with the box's `env` on top; PATH defaulted if neither has one. */
const withEnv = (base: Readonly<Record<string, string>>, boxEnv: Readonly<Record<string, string>>): Record<string, string> => {
  const env: Record<string, string> = { ...base }
  if (env["PATH"] === undefined || env["PATH"] === "") env["PATH"] = DEFAULT_PATH
  return { ...env, ...boxEnv }
}

/** The base of `caller` with the box's `env` on top: what a box created by `caller` boots with. */
export const boxEnvironment = (boxEnv: Readonly<Record<string, string>>, caller: Environment): Record<string, string> =>
  withEnv(baseEnvironment(caller), boxEnv)

/**
 * What one boot (or probe) of `box` runs with: its recorded `base_env` with its `env` on top;
 * for a record without `base_env` (written by an older tool), the booting process's base.
 */
export const bootEnvironment = (
  box: { readonly env: Readonly<Record<string, string>>; readonly base_env: Readonly<Record<string, string>> | null },
  booting: Environment
): Record<string, string> => box.base_env === null ? boxEnvironment(box.env, booting) : withEnv(box.base_env, box.env)

/**
 * Why `key` cannot name an environment variable, or undefined when it can: it must be non-empty
 * and hold no `=` (the name ends at the first one), no NUL, no newline, no other control
 * character (execve would split or truncate it, `env` would print a different variable).
 */
export const invalidNameReason = (key: string): string | undefined => {
  if (key === "") return "the variable name is empty"
  if (key.includes("=")) return "the variable name contains '='"
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(key)
  if (control !== null) {
    const char = control[0]
    const code = `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`
    const what = char === "\0" ? "a NUL byte" : char === "\n" ? "a newline" : `the control character ${code}`
    return `the variable name contains ${what}`
  }
  return undefined
}
