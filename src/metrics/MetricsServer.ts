/**
 * The monitor's HTTP endpoint (SPEC §8): `GET /healthz` and `GET /metrics`, served by
 * @effect/platform's HttpServer on the platform-node layer, as a scoped layer that a
 * host program composes beside the supervisor. It only reads: the supervisor's
 * MonitorStats and a read-only StateStore snapshot (no lock, no reconcile, no write).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import * as path from "node:path"
import { MonitorConfig, stalenessThreshold } from "../domain/MonitorConfig.js"
import { MonitorStats } from "../telemetry/MonitorStats.js"
import * as JournalStats from "../telemetry/JournalStats.js"
import { errnoCode, errorText } from "../platform/ErrorText.js"
import { StateStore } from "../state/StateStore.js"
import type * as Exposition from "./Exposition.js"
import * as HealthzIdentity from "./HealthzIdentity.js"
import * as ListenAddress from "./ListenAddress.js"
import * as Staleness from "./Staleness.js"

export interface MetricsServerOptions {
  readonly address: ListenAddress.ListenAddress
  /** Also expose one series per box (`--metrics-per-box`); off by default since it grows with the fleet. */
  readonly perBox?: boolean | undefined
  /** Overrides of `SERVER_LIMITS` (tests use short timeouts). */
  readonly limits?: Partial<ServerLimits> | undefined
}

/** The running endpoint. */
export interface MetricsServerShape {
  /** The address actually bound (the real port when 0 was asked). */
  readonly address: ListenAddress.ListenAddress
  /** `http://HOST:PORT` */
  readonly url: string
}

export class MetricsServer extends Context.Tag("a3s-box/MetricsServer")<MetricsServer, MetricsServerShape>() {}

/** The metrics endpoint could not listen on its address. Raised before the supervisor starts. */
export class MetricsListenFailed extends Data.TaggedError("MetricsListenFailed")<{
  /** The address as asked, `HOST:PORT`. */
  readonly address: string
  /** The OS error code (`EADDRINUSE`, `EACCES`, ...), when there is one. */
  readonly code: string | undefined
  readonly cause: unknown
}> {
  override get message(): string {
    const host = this.address.replace(/:[0-9]+$/, "").replace(/^\[(.*)\]$/, "$1")
    switch (this.code) {
      case "EADDRINUSE":
        return `cannot serve metrics on ${this.address}: the address is already in use by another process; choose another port with --metrics-addr (0 picks a free one) or stop that process`
      case "EACCES":
        return `cannot serve metrics on ${this.address}: permission denied (ports below 1024 need privileges); choose a port of 1024 or more with --metrics-addr`
      case "EADDRNOTAVAIL":
        return `cannot serve metrics on ${this.address}: no network interface of this host has the address ${host}; use 127.0.0.1 (loopback) or 0.0.0.0 (every interface)`
      case "ENOTFOUND":
      case "EAI_AGAIN":
      case "EAI_FAIL":
        return `cannot serve metrics on ${this.address}: the host name ${host} does not resolve; use an IP address such as 127.0.0.1`
      default:
        return `cannot serve metrics on ${this.address}: ${errorText(this.cause)}`
    }
  }
}

/**
 * Node's HTTP server with the timeouts that keep the endpoint responsive: a client
 * that is slow to send its request, or sits idle on a connection, is cut off, and
 * the number of open connections is bounded so that they cannot use up the file
 * descriptors the poll loop needs. At the bound, a new connection closes the oldest
 * one that is not being answered (see `boundConnections`), so clients holding idle
 * or slow connections cannot lock /healthz out.
 */
export const SERVER_LIMITS: {
  readonly headersTimeout: number
  readonly requestTimeout: number
  readonly keepAliveTimeout: number
  readonly socketTimeout: number
  readonly connectionsCheckingInterval: number
  readonly maxConnections: number
} = {
  /** The request headers must arrive within this (ms). */
  headersTimeout: 5_000,
  /** The whole request must arrive within this (ms). */
  requestTimeout: 10_000,
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeout: 5_000,
  /** Any connection with no traffic for this long is destroyed (ms), e.g. a client that stops reading. */
  socketTimeout: 15_000,
  /** How often Node checks the header and request timeouts (ms; Node's default is 30 s). */
  connectionsCheckingInterval: 1_000,
  /**
   * Open connections at most. One more closes the oldest connection that has no request being
   * answered (idle, or still sending its request); only if every one is being answered is the
   * newcomer refused.
   */
  maxConnections: 128
}

export type ServerLimits = typeof SERVER_LIMITS

export const createNodeServer = (limits: ServerLimits = SERVER_LIMITS): http.Server => {
  const server = http.createServer({
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: limits.connectionsCheckingInterval
  })
  server.setTimeout(limits.socketTimeout)
  boundConnections(server, limits.maxConnections)
  return server
}

/**
 * Keeps at most `max` connections open. Node's own `maxConnections` refuses every newcomer
 * once the bound is reached, which lets a client that opens enough idle or slow connections
 * lock out `/healthz` until they time out. Here a newcomer beyond the bound closes the
 * OLDEST connection that is not being answered (no request in flight: idle keep-alive, or
 * its request still incomplete); a newcomer is refused only when every open connection is
 * being answered. A prompt client (connect, send, read) is the youngest connection while it
 * waits, so a flood of slow ones evicts each other before it.
 */
export const boundConnections = (server: http.Server, max: number): void => {
  /** Open connections, oldest first (a Set iterates in insertion order). */
  const open = new Set<Socket>()
  /** Requests being answered per connection. */
  const answering = new WeakMap<Socket, number>()
  server.on("connection", (socket: Socket) => {
    open.add(socket)
    socket.once("close", () => open.delete(socket))
    if (open.size <= max) return
    for (const candidate of open) {
      if (candidate === socket || (answering.get(candidate) ?? 0) > 0) continue
      open.delete(candidate)
      candidate.destroy()
      return
    }
    open.delete(socket)
    socket.destroy()
  })
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket
    answering.set(socket, (answering.get(socket) ?? 0) + 1)
    response.once("close", () => answering.set(socket, Math.max(0, (answering.get(socket) ?? 1) - 1)))
  })
}

/** A scrape gives up reading the state file after this and reports it unreadable. */
export const STATE_READ_TIMEOUT = Duration.seconds(5)

const TEXT = "text/plain; charset=utf-8"
const NO_STORE = { "cache-control": "no-store" }
const ROUTES = ["/healthz", "/metrics"]
/** HEAD is answered like GET, without a body (RFC 9110 §9.3.2); every other method gets 405. */
export const ALLOW = "GET, HEAD"

/** 404 for an unknown path, 405 (with `Allow`) for a known path asked with another method. */
const notFound = (request: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse => {
  const query = request.url.indexOf("?")
  const path = query === -1 ? request.url : request.url.slice(0, query)
  return ROUTES.includes(path)
    ? HttpServerResponse.text(`method ${request.method} not allowed on ${path}: use GET\n`, {
      status: 405,
      contentType: TEXT,
      headers: { allow: ALLOW }
    })
    : HttpServerResponse.text("not found: this server serves GET /healthz and GET /metrics\n", {
      status: 404,
      contentType: TEXT
    })
}

/**
 * The HTTP app, for any HttpServer: the layer below serves it, and a host program
 * (or a test) can mount it on a server of its own. `startedAt` (epoch ms) stands in
 * for the last cycle until the first one completes.
 */
export const makeApp = (options: {
  readonly startedAt: number
  readonly perBox: boolean
}): Effect.Effect<HttpApp.Default, never, StateStore | MonitorStats | MonitorConfig> =>
  Effect.gen(function*() {
    const store = yield* StateStore
    const stats = yield* MonitorStats
    const config = yield* MonitorConfig
    const threshold = stalenessThreshold(config)
    // Loaded on first use: prom-client costs start-up time that a monitor without
    // --metrics-addr should not pay.
    const exposition = yield* Effect.promise((): Promise<typeof Exposition> => import("./Exposition.js"))

    const staleness = Effect.gen(function*() {
      const snapshot = yield* stats.snapshot
      const now = yield* Clock.currentTimeMillis
      return {
        snapshot,
        staleness: Staleness.assess({
          lastCycleCompletedAt: snapshot.lastCycleCompletedAt,
          startedAt: options.startedAt,
          now,
          threshold
        })
      }
    })

    // The body stays `ok` (SPEC §8); the headers say whose monitor this is, so that
    // `monitor status` can tell this home's monitor from another program on the port.
    const identity = HealthzIdentity.headers(path.resolve(config.home), process.pid)
    const healthz = Effect.map(staleness, ({ staleness }) =>
      HttpServerResponse.text(Staleness.healthzBody(staleness), {
        status: staleness.up ? 200 : 503,
        contentType: TEXT,
        headers: { ...NO_STORE, ...identity }
      }))

    const metrics = Effect.gen(function*() {
      const state = yield* Effect.all([store.snapshot, store.invalid]).pipe(
        Effect.timeoutFail({
          duration: STATE_READ_TIMEOUT,
          onTimeout: () => ({
            message: `reading state file ${store.path} took longer than ${Duration.format(STATE_READ_TIMEOUT)}`
          })
        }),
        Effect.match({
          onFailure: (error) => exposition.unreadable(error.message),
          onSuccess: ([records, invalid]) => exposition.readable(records, invalid.length)
        })
      )
      const { snapshot, staleness: verdict } = yield* staleness
      const journalWriteFailures = yield* JournalStats.writeFailureCount
      const body = yield* Effect.promise(() =>
        exposition.render({
          state,
          stats: snapshot,
          staleness: verdict,
          process: exposition.sampleProcess(),
          perBox: options.perBox,
          journalWriteFailures
        })
      )
      return HttpServerResponse.text(body, { contentType: exposition.CONTENT_TYPE, headers: NO_STORE })
    })

    // Exact, case-sensitive paths: `/healthz/` and `/HEALTHZ` are 404 (the router's defaults would serve them).
    const router = yield* HttpRouter.empty.pipe(
      HttpRouter.get("/healthz", healthz),
      HttpRouter.get("/metrics", metrics),
      HttpRouter.toHttpApp,
      HttpRouter.withRouterConfig({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true })
    )
    return router.pipe(
      Effect.catchTag("RouteNotFound", (error) => Effect.succeed(notFound(error.request))),
      Effect.catchAllCause((cause) =>
        Effect.logError("metrics: request failed", cause).pipe(
          Effect.as(HttpServerResponse.text("internal error\n", { status: 500, contentType: TEXT }))
        )
      )
    )
  })

const boundAddress = (server: http.Server): ListenAddress.ListenAddress => {
  const info = server.address() as AddressInfo
  return { host: info.address, port: info.port }
}

const listenFailed = (address: ListenAddress.ListenAddress) => (error: unknown): MetricsListenFailed => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : error
  return new MetricsListenFailed({ address: ListenAddress.format(address), code: errnoCode(cause), cause })
}

/**
 * Listens on `options.address` and serves the app until the scope closes. Building
 * the layer fails with `MetricsListenFailed` when the address cannot be bound, so a
 * host that builds it before the supervisor never starts supervising in that case.
 * Logs the bound address, and a warning when it is not a loopback address.
 */
export const layer = (
  options: MetricsServerOptions
): Layer.Layer<MetricsServer, MetricsListenFailed, StateStore | MonitorStats | MonitorConfig> => {
  let node: http.Server | undefined
  const server = NodeHttpServer.layer(() => (node = createNodeServer({ ...SERVER_LIMITS, ...options.limits })), {
    host: options.address.host,
    port: options.address.port
  })
  const serve = Layer.scoped(
    MetricsServer,
    Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const app = yield* makeApp({ startedAt, perBox: options.perBox ?? false })
      // Runs before the platform's own finalizer, whose close() would otherwise wait
      // for open connections to end by themselves.
      yield* Effect.addFinalizer(() => Effect.sync(() => node?.closeAllConnections()))
      yield* HttpServer.serveEffect(app)
      const address = boundAddress(node!)
      const url = `http://${ListenAddress.format(address)}`
      yield* Effect.logInfo(`metrics: serving ${url}/metrics and ${url}/healthz`)
      if (!ListenAddress.isLoopbackIp(address.host)) {
        yield* Effect.logWarning(
          `metrics: ${ListenAddress.format(address)} is not a loopback address and /metrics and /healthz have no authentication: anyone who can reach this port can read them`
        )
      }
      return { address, url }
    })
  )
  return serve.pipe(
    Layer.provide(server),
    Layer.mapError(listenFailed(options.address))
  )
}
