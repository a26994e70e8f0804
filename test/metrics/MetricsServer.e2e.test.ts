/** The metrics server on real ports (127.0.0.1:0): HTTP semantics, bind errors, logging, slow clients. */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import * as net from "node:net"
import * as MetricsServer from "../../src/metrics/MetricsServer.js"
import * as MonitorConfig from "../../src/domain/MonitorConfig.js"
import * as MonitorStats from "../../src/telemetry/MonitorStats.js"
import { fakeStore, fixtureRecords, readExposition, valueOf } from "./support.js"

const deps = Layer.mergeAll(
  fakeStore(Effect.succeed(fixtureRecords)),
  MonitorStats.layer,
  MonitorConfig.layer(MonitorConfig.defaults("/nonexistent"))
)

/** Log lines (level and text) of whatever runs with this logger. */
const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly text: string }> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      lines.push({ level: logLevel.label, text: (Array.isArray(message) ? message : [message]).map(String).join(" ") })
    })
  )
  return { lines, layer }
}

/** Starts the server in a scope of its own, so a test can stop it and look at what follows. */
const start = (options: MetricsServer.MetricsServerOptions, logger: Layer.Layer<never> = Layer.empty) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(MetricsServer.layer(options).pipe(Layer.provide(deps)), scope).pipe(
      Effect.provide(logger)
    )
    return { server: Context.get(context, MetricsServer.MetricsServer), stop: Scope.close(scope, Exit.void) }
  })

const get = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
    return { status: response.status, headers: response.headers, body: await response.text() }
  })

/** Resolves when a TCP connection to the port is refused. */
const refused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.on("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.on("error", () => resume(Effect.succeed(true)))
  })

/** A raw client that sends `data` and then nothing; reports what it received when the server closes it. */
const rawClient = (port: number, data: string | null) => {
  const socket = net.connect(port, "127.0.0.1", () => {
    if (data !== null) socket.write(data)
  })
  let received = ""
  socket.on("data", (chunk) => (received += chunk.toString()))
  socket.on("error", () => undefined)
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)))
  return { socket, closed }
}

describe("MetricsServer on a real port", () => {
  it.live("serves on port 0, logs the real port, answers per SPEC §8, and frees the port when its scope closes", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const { server, stop } = yield* start({ address: { host: "127.0.0.1", port: 0 } }, logs.layer)
      expect(server.address.host).toBe("127.0.0.1")
      expect(server.address.port).toBeGreaterThan(0)
      expect(server.url).toBe(`http://127.0.0.1:${server.address.port}`)
      expect(logs.lines).toContainEqual({
        level: "INFO",
        text: `metrics: serving ${server.url}/metrics and ${server.url}/healthz`
      })
      expect(logs.lines.filter((l) => l.level === "WARN")).toEqual([])

      const metrics = yield* get(`${server.url}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const out = readExposition(metrics.body)
      expect(valueOf(out, "a3s_box_total")).toBe(5)
      expect(out.duplicates).toEqual([])

      expect(yield* get(`${server.url}/healthz`)).toMatchObject({ status: 200, body: "ok\n" })
      expect((yield* get(`${server.url}/nope`)).status).toBe(404)
      const post = yield* get(`${server.url}/metrics`, { method: "POST", body: "x" })
      expect(post.status).toBe(405)
      expect(post.headers.get("allow")).toBe("GET, HEAD")
      const head = yield* get(`${server.url}/metrics`, { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.body).toBe("")

      yield* stop
      expect(yield* refused(server.address.port)).toBe(true)
    }))

  it.live("a port in use is a clear MetricsListenFailed naming the address", () =>
    Effect.gen(function*() {
      const holder = net.createServer()
      yield* Effect.async<void>((resume) => {
        holder.listen(0, "127.0.0.1", () => resume(Effect.void))
      })
      const port = (holder.address() as net.AddressInfo).port
      const exit = yield* Effect.exit(start({ address: { host: "127.0.0.1", port } }))
      holder.close()
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error).toBeInstanceOf(MetricsServer.MetricsListenFailed)
        expect(error?.code).toBe("EADDRINUSE")
        expect(error?.message).toContain(`127.0.0.1:${port}`)
        expect(error?.message).toContain("already in use")
      }
    }))

  it.live("a non-loopback address logs a warning that there is no authentication", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const { server, stop } = yield* start({ address: { host: "0.0.0.0", port: 0 } }, logs.layer)
      yield* stop
      const warnings = logs.lines.filter((l) => l.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.text).toContain(`0.0.0.0:${server.address.port} is not a loopback address`)
      expect(warnings[0]!.text).toContain("no authentication")
    }))

  it.live("an IPv6 loopback address is bracketed in the URL and not warned about", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const started = yield* Effect.either(start({ address: { host: "::1", port: 0 } }, logs.layer))
      // A host without IPv6 cannot bind ::1 (EADDRNOTAVAIL); nothing else to check there.
      if (started._tag === "Left") {
        expect(started.left.code).toBe("EADDRNOTAVAIL")
        return
      }
      const { server, stop } = started.right
      expect(server.url).toBe(`http://[::1]:${server.address.port}`)
      expect((yield* get(`${server.url}/healthz`)).status).toBe(200)
      yield* stop
      expect(logs.lines.filter((l) => l.level === "WARN")).toEqual([])
    }))

  it.live("idle and slow clients are cut off (408) and never hold up /healthz", () =>
    Effect.gen(function*() {
      const { server, stop } = yield* start({
        address: { host: "127.0.0.1", port: 0 },
        limits: { headersTimeout: 300, requestTimeout: 600, keepAliveTimeout: 300, connectionsCheckingInterval: 100 }
      })
      const port = server.address.port
      const silent = rawClient(port, null)
      const partial = rawClient(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
      const slowBody = rawClient(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
      // While they hang on, /healthz answers.
      expect((yield* get(`${server.url}/healthz`)).status).toBe(200)
      const [silentGot, partialGot, slowGot] = yield* Effect.promise(() =>
        Promise.all([silent.closed, partial.closed, slowBody.closed])
      ).pipe(Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error("slow clients were not cut off") }))
      expect(silentGot).toMatch(/^HTTP\/1\.1 408/)
      expect(partialGot).toMatch(/^HTTP\/1\.1 408/)
      expect(slowGot).toMatch(/^HTTP\/1\.1 405/)

      yield* stop
    }))

  it.live("stopping does not wait for a client stuck mid-request", () =>
    Effect.gen(function*() {
      // default limits: Node alone would keep this connection for headersTimeout (5 s)
      const { server, stop } = yield* start({ address: { host: "127.0.0.1", port: 0 } })
      const stuck = rawClient(server.address.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n")
      yield* Effect.promise(() => new Promise<void>((resolve) => stuck.socket.on("connect", () => resolve())))
      yield* Effect.sleep("100 millis") // let the server see the partial request
      const started = Date.now()
      yield* stop
      yield* Effect.promise(() => stuck.closed)
      expect(Date.now() - started).toBeLessThan(3_000)
    }))
})
