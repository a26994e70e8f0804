import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as net from "node:net"
import type { ListenAddress } from "../domain/ListenAddress.js"

export type { ListenAddress } from "../domain/ListenAddress.js"

/** The forms `parse` accepts, for error messages and help text. */
export const ACCEPTED_FORMS =
  "HOST:PORT (e.g. 127.0.0.1:9464, localhost:9464, 0.0.0.0:9464) or [IPV6]:PORT (e.g. [::1]:9464), with PORT 0-65535 (0 picks a free port)"

/** A `--metrics-addr` value that is not a listen address we can bind. */
export class InvalidListenAddress extends Data.TaggedError("InvalidListenAddress")<{
  /** The value as given. */
  readonly input: string
  /** What is wrong with it. */
  readonly reason: string
}> {
  override get message(): string {
    return `invalid listen address ${JSON.stringify(this.input)}: ${this.reason}; expected ${ACCEPTED_FORMS}`
  }
}

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** A DNS host name (RFC 1123 labels), e.g. `localhost` or `metrics.internal`. */
const isHostname = (host: string): boolean =>
  host.length <= 253 && host.split(".").every((label) => HOSTNAME_LABEL.test(label)) &&
  // `1.2.3` or `300.1.1.1` look like IPv4 addresses gone wrong, not names.
  !/^[0-9.]+$/.test(host)

const parsePort = (text: string): number | string => {
  if (text === "") return "the port is missing"
  if (!/^[0-9]+$/.test(text)) return `the port ${JSON.stringify(text)} is not a number`
  const port = Number(text)
  if (port > 65535) return `the port ${text} is out of range`
  return port
}

/**
 * Parses `HOST:PORT` or `[IPV6]:PORT` (port 0-65535). HOST is an IPv4 address or a
 * host name; IPv6 addresses must be bracketed. An empty host is refused: say
 * `0.0.0.0:PORT` (or `[::]:PORT`) to listen on every interface.
 */
export const parse = (input: string): Either.Either<ListenAddress, InvalidListenAddress> => {
  const fail = (reason: string) => Either.left(new InvalidListenAddress({ input, reason }))
  if (input === "") return fail("it is empty")
  if (/\s/.test(input)) return fail("it contains whitespace")
  let host: string
  let portText: string
  if (input.startsWith("[")) {
    const close = input.indexOf("]")
    if (close === -1) return fail("the \"[\" of the IPv6 address is not closed")
    host = input.slice(1, close)
    const rest = input.slice(close + 1)
    if (!rest.startsWith(":")) return fail("the port is missing after the bracketed address")
    portText = rest.slice(1)
    if (!net.isIPv6(host)) return fail(`${JSON.stringify(host)} is not an IPv6 address`)
  } else {
    if (input.includes("://")) return fail("it is a URL: give only HOST:PORT, without a scheme or path")
    const colon = input.lastIndexOf(":")
    if (colon === -1) return fail("the port is missing")
    host = input.slice(0, colon)
    portText = input.slice(colon + 1)
    if (host === "") return fail("the host is missing (use 127.0.0.1 for loopback only, 0.0.0.0 for every interface)")
    if (host.includes(":")) {
      return net.isIPv6(host)
        ? fail(`an IPv6 address must be in brackets: [${host}]:${portText}`)
        : fail(`${JSON.stringify(host)} is neither an IPv4 address nor a host name`)
    }
    if (!net.isIPv4(host) && !isHostname(host)) {
      return fail(`${JSON.stringify(host)} is neither an IPv4 address nor a host name`)
    }
  }
  const port = parsePort(portText)
  if (typeof port === "string") return fail(port)
  return Either.right({ host, port })
}

/** `host:port`, with IPv6 hosts in brackets: the inverse of `parse`. */
export const format = (address: ListenAddress): string =>
  net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`

/** Whether an IP address (as a bound socket reports it) is a loopback address. */
export const isLoopbackIp = (ip: string): boolean => {
  if (net.isIPv4(ip)) return ip.startsWith("127.")
  if (!net.isIPv6(ip)) return false
  const lower = ip.toLowerCase()
  if (lower.startsWith("::ffff:")) return isLoopbackIp(lower.slice("::ffff:".length))
  return lower === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(lower)
}
