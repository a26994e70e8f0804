import * as os from "node:os"

/**
 * Whether a host name or address is this machine (`run --health-http/--health-tcp` probe only
 * this machine unless told otherwise): loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1),
 * this machine's host name, or an address of one of its interfaces. Names are not resolved.
 */
export const isLoopback = (host: string): boolean => {
  const h = host.toLowerCase()
  return h === "localhost" || h.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(h) || h === "::1" ||
    h === "0:0:0:0:0:0:0:1" || h === "::ffff:127.0.0.1"
}

export const isThisMachine = (host: string): boolean => {
  if (isLoopback(host)) return true
  const h = host.toLowerCase()
  if (h === os.hostname().toLowerCase()) return true
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) if (address.address.toLowerCase() === h) return true
  }
  return false
}
