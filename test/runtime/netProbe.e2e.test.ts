import * as Effect from "effect/Effect"
import * as http from "node:http"
import * as net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { Cleanup, recordIn, tempDir } from "./support.js"

/**
 * Issue 15: `health_check.http` and `health_check.tcp`, probed by the monitor itself against
 * real sockets on loopback. The record's `cmd` is a program that does not exist: a probe that
 * started a process would say so.
 */

const runtime = Effect.runSync(LocalBoxRuntime.make)
const cleanup = new Cleanup()
const servers: Array<net.Server> = []
afterEach(async () => {
  cleanup.run()
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

const run = <A>(effect: Effect.Effect<A>): Promise<A> => Effect.runPromise(effect)

const listening = async <S extends net.Server>(server: S): Promise<number> => {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as net.AddressInfo).port
}

/** A port nothing listens on: one the kernel just gave us, closed again. */
const closedPort = async (): Promise<number> => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

const NO_PROCESS = ["/nonexistent/a3s-probe-must-not-run"]

const probe = (check: { readonly http?: string; readonly tcp?: string; readonly timeout_secs?: number }) =>
  run(runtime.probe(recordIn(tempDir(cleanup), { cmd: ["sleep", "30"], health_check: { cmd: NO_PROCESS, ...check } })))

describe("HTTP health checks (no process)", () => {
  const serve = (status: number, body = "") =>
    listening(http.createServer((request, response) => {
      response.writeHead(status, { "content-type": "text/plain", ...(status === 302 ? { location: "/elsewhere" } : {}) })
      response.end(body)
    }))

  it("2xx and 3xx are healthy (a redirect is not followed)", async () => {
    expect(await probe({ http: `http://127.0.0.1:${await serve(200, "ok")}/healthz` })).toEqual({ _tag: "Healthy" })
    expect(await probe({ http: `http://127.0.0.1:${await serve(204)}/` })).toEqual({ _tag: "Healthy" })
    expect(await probe({ http: `http://127.0.0.1:${await serve(302)}/` })).toEqual({ _tag: "Healthy" })
  })

  it("4xx and 5xx are unhealthy, with the status and the start of the body", async () => {
    const port = await serve(503, "database down\n  retrying\n")
    expect(await probe({ http: `http://127.0.0.1:${port}/healthz?full=1` })).toEqual({
      _tag: "Unhealthy",
      reason: `health check GET http://127.0.0.1:${port}/healthz?full=1 returned HTTP 503: database down retrying`
    })
    const notFound = await serve(404)
    expect(await probe({ http: `http://127.0.0.1:${notFound}/` })).toEqual({
      _tag: "Unhealthy",
      reason: `health check GET http://127.0.0.1:${notFound}/ returned HTTP 404`
    })
  })

  it("asks for the URL's path and query, without keep-alive", async () => {
    let seen: { url?: string | undefined; connection?: string | undefined } = {}
    const port = await listening(http.createServer((request, response) => {
      seen = { url: request.url, connection: request.headers.connection }
      response.end()
    }))
    await probe({ http: `http://localhost:${port}/a/b?c=d` })
    expect(seen).toEqual({ url: "/a/b?c=d", connection: "close" })
  })

  it("a refused connection is unhealthy", async () => {
    const port = await closedPort()
    expect(await probe({ http: `http://127.0.0.1:${port}/` })).toEqual({
      _tag: "Unhealthy",
      reason: `health check GET http://127.0.0.1:${port}/ failed: connection refused`
    })
  })

  it("a server that never answers: timed out, and the connection closed", async () => {
    const closed: Array<Promise<void>> = []
    const port = await listening(http.createServer((request) => {
      closed.push(new Promise((resolve) => request.socket.once("close", () => resolve())))
    }))
    expect(await probe({ http: `http://127.0.0.1:${port}/`, timeout_secs: 1 })).toEqual({
      _tag: "Unhealthy",
      reason: "health check timed out after 1s"
    })
    expect(closed).toHaveLength(1)
    await closed[0]
  })

  it("an invalid URL in a record is unhealthy with the reason", async () => {
    expect(await probe({ http: "ftp://127.0.0.1/" })).toEqual({
      _tag: "Unhealthy",
      reason: `its health_check.http "ftp://127.0.0.1/" is invalid: only http:// URLs are supported (for ftp:// use --health-cmd with curl)`
    })
  })
})

describe("TCP health checks (no process)", () => {
  it("an accepted connection is healthy, and closed at once", async () => {
    let accepted: (closed: Promise<void>) => void
    const connection = new Promise<Promise<void>>((resolve) => (accepted = resolve))
    const port = await listening(net.createServer((socket) => {
      accepted(new Promise((resolve) => socket.once("close", () => resolve())))
    }))
    expect(await probe({ tcp: `127.0.0.1:${port}` })).toEqual({ _tag: "Healthy" })
    // The probe's side closed it: the server sees the close without closing anything itself.
    await await connection
  })

  it("a refused connection is unhealthy", async () => {
    const port = await closedPort()
    expect(await probe({ tcp: `127.0.0.1:${port}` })).toEqual({
      _tag: "Unhealthy",
      reason: `health check TCP connect to 127.0.0.1:${port} failed: connection refused`
    })
  })
})
