import * as Schema from "effect/Schema"

/**
 * A box's health check (Docker HEALTHCHECK semantics, SPEC §6). Unknown keys are preserved.
 *
 * Issue 15: a check is a command (`cmd`, run with `sh -c` for `--health-cmd`), or an HTTP GET
 * (`http`: a URL, healthy on 2xx/3xx) or a TCP connect (`tcp`: `HOST:PORT`, healthy when
 * accepted) made by the monitor itself, without starting a process. A record with `http` or
 * `tcp` still has a `cmd`, an equivalent command (curl; bash's /dev/tcp), because the original
 * a3s-box's readers require one and run it; this project's monitor uses `http`/`tcp` when present.
 */
export const HealthCheck = Schema.Struct({
  cmd: Schema.Array(Schema.String),
  http: Schema.optional(Schema.String),
  tcp: Schema.optional(Schema.String),
  interval_secs: Schema.optionalWith(Schema.Number, { default: () => 30 }),
  timeout_secs: Schema.optionalWith(Schema.Number, { default: () => 5 }),
  retries: Schema.optionalWith(Schema.Number, { default: () => 3 }),
  start_period_secs: Schema.optionalWith(Schema.Number, { default: () => 0 })
}).annotations({ identifier: "HealthCheck", parseOptions: { onExcessProperty: "preserve" } })

export type HealthCheck = typeof HealthCheck.Type

export const HealthStatus = Schema.Literal("none", "starting", "healthy", "unhealthy")
export type HealthStatus = typeof HealthStatus.Type

/** A TCP check's target. `host` as given (an IPv6 address without brackets). */
export interface TcpTarget {
  readonly host: string
  readonly port: number
}

const isPort = (text: string): boolean => /^[0-9]{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535

/**
 * `[HOST:]PORT` (`8080`, `localhost:8080`, `[::1]:8080`) as a target, HOST defaulting to
 * 127.0.0.1; a string saying what is wrong otherwise.
 */
export const parseTcpTarget = (text: string): TcpTarget | string => {
  if (isPort(text)) return { host: "127.0.0.1", port: Number(text) }
  const colon = text.lastIndexOf(":")
  if (colon <= 0) return "expected [HOST:]PORT, e.g. 8080 or 127.0.0.1:8080"
  let host = text.slice(0, colon)
  const port = text.slice(colon + 1)
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
  else if (host.includes(":")) return "put an IPv6 address in brackets: [::1]:8080"
  if (host === "" || /[\s/]/.test(host)) return "expected [HOST:]PORT with a host name or address"
  if (!isPort(port)) return `the port must be a number from 1 to 65535, not '${port}'`
  return { host, port: Number(port) }
}

/** The `tcp` value a target is recorded as: `HOST:PORT`, `[IPV6]:PORT`. */
export const tcpTargetText = ({ host, port }: TcpTarget): string => host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/**
 * An `http` check's URL, parsed; a string saying what is wrong otherwise. Only `http://`:
 * the probe is a plain GET inside the monitor (https, with its certificates, is for `--health-cmd`).
 */
export const parseHttpUrl = (text: string): URL | string => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return "expected a URL such as http://127.0.0.1:8080/healthz"
  }
  if (url.protocol !== "http:") return `only http:// URLs are supported (for ${url.protocol}// use --health-cmd with curl)`
  if (url.username !== "" || url.password !== "") return "a URL with credentials is not supported"
  return url
}

/** The host of a URL as a socket takes it (without IPv6 brackets). */
export const hostOfUrl = (url: URL): string => url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname

/** Single-quoted for `sh`/`bash`. */
const quoted = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * The command recorded with an HTTP check for the original's readers: `curl -f` is healthy on
 * 2xx and 3xx (it does not follow redirects), unhealthy on 4xx/5xx, a refused connection or the timeout.
 */
export const httpFallbackCmd = (url: string, timeoutSecs: number): ReadonlyArray<string> => [
  "curl",
  "-fsS",
  "-o",
  "/dev/null",
  "--max-time",
  String(timeoutSecs),
  url
]

/** The command recorded with a TCP check for the original's readers: bash's /dev/tcp connects (and nothing else). */
export const tcpFallbackCmd = (target: TcpTarget): ReadonlyArray<string> => [
  "bash",
  "-c",
  `exec 3<>${quoted(`/dev/tcp/${target.host}/${target.port}`)}`
]
