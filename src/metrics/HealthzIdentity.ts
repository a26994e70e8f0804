/**
 * How `/healthz` says whose it is. The body stays `ok\n` (SPEC §8); two headers name the monitor
 * that answers: the home it supervises and its pid. `a3s-box monitor status` compares them with
 * the home's lease and heartbeat, so a stranger on the configured port is not taken for the
 * monitor. The home is percent-encoded (`encodeURI`): a header carries Latin-1 only.
 */

/** Header names, lower case (as Node reports them). */
export const HOME_HEADER = "x-a3s-home"
export const PID_HEADER = "x-a3s-pid"

/** The headers for the monitor of `home` running as `pid`. */
export const headers = (home: string, pid: number): Record<string, string> => ({
  [HOME_HEADER]: encodeURI(home),
  [PID_HEADER]: String(pid)
})

/** The home a `HOME_HEADER` value names (a value that does not decode is taken as written). */
export const decodeHome = (value: string): string => {
  try {
    return decodeURI(value)
  } catch {
    return value
  }
}

/** The pid a `PID_HEADER` value names, if it is one. */
export const decodePid = (value: string): number | undefined => (/^[1-9]\d{0,9}$/.test(value) ? Number(value) : undefined)
