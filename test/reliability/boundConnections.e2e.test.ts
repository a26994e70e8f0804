/**
 * The metrics server's connection bound (MetricsServer.boundConnections) on a real port: at the
 * bound, a newcomer evicts the oldest connection that is not being answered, so idle or slow
 * clients cannot lock a prompt one out; connections being answered are never evicted.
 */
import * as http from "node:http"
import * as net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { boundConnections } from "../../src/metrics/MetricsServer.js"

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

const serve = async (max: number, handler: http.RequestListener) => {
  const server = http.createServer(handler)
  boundConnections(server, max)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return { port: (server.address() as net.AddressInfo).port, server }
}

/** How many connections the server has open. */
const openConnections = (server: http.Server) =>
  new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))))

/** A connection that sends `data` (or nothing) and reports whether the server closed it. */
const connect = async (port: number, data?: string) => {
  const socket = net.connect(port, "127.0.0.1")
  cleanups.push(() => socket.destroy())
  let received = ""
  let closed = false
  socket.on("data", (chunk) => (received += chunk.toString()))
  socket.on("close", () => (closed = true))
  socket.on("error", () => undefined)
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
  if (data !== undefined) socket.write(data)
  return { socket, closed: () => closed, received: () => received }
}

const eventually = async (what: string, check: () => boolean) => {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const get = (port: number) =>
  new Promise<number>((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode ?? 0))
    }).on("error", reject)
  })

describe("the metrics server's connection bound", () => {
  it("a newcomer beyond the bound evicts the oldest idle connection, and is served", async () => {
    const { port, server } = await serve(3, (_, response) => response.end("ok\n"))
    const idle = [await connect(port), await connect(port), await connect(port, "GET /healthz HTTP/1.1\r\nX-Slow: ")]
    expect(await get(port)).toBe(200)
    // the oldest went, the others stay
    await eventually("the oldest idle connection to be closed", () => idle[0]!.closed())
    expect(idle[1]!.closed()).toBe(false)
    expect(idle[2]!.closed()).toBe(false)
    // and again (once the server has seen the first request's connection close): the next oldest goes
    let open = 0
    while ((open = await openConnections(server)) > 2) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(open).toBe(2)
    idle.push(await connect(port))
    expect(await get(port)).toBe(200)
    await eventually("the next oldest to be closed", () => idle[1]!.closed())
    expect(idle[2]!.closed() || idle[3]!.closed()).toBe(false)
  })

  it("connections being answered are not evicted; with only those, a newcomer is refused", async () => {
    const pending: Array<http.ServerResponse> = []
    const { port } = await serve(2, (_, response) => pending.push(response))
    const busy = [await connect(port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"), await connect(port, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n")]
    await eventually("both requests to arrive", () => pending.length === 2)
    const newcomer = await connect(port)
    await eventually("the newcomer to be refused", () => newcomer.closed())
    expect(busy.map((b) => b.closed())).toEqual([false, false])
    // once answered, they are idle keep-alive connections: evictable again
    for (const response of pending) response.end("done\n")
    await eventually("the answers", () => busy.every((b) => b.received().includes("done")))
    const next = await connect(port, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
    await eventually("the next request to arrive", () => pending.length === 3)
    expect(next.closed()).toBe(false)
    await eventually("the oldest answered connection to be evicted", () => busy[0]!.closed())
  })
})
