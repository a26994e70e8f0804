/**
 * A `HOST:PORT` the metrics server listens on: part of the monitor's configuration and of
 * what the metrics server reports, so it lives below both. Parsing and formatting it
 * (node:net's address rules) is src/metrics/ListenAddress.ts.
 */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}
