import * as Effect from "effect/Effect"
import * as http from "node:http"
import * as net from "node:net"
import * as HealthCheck from "../../domain/HealthCheck.js"
import { errorText } from "../../platform/ErrorText.js"
import type { ProbeResult } from "../BoxRuntime.js"

/**
 * The health checks the monitor makes itself (issue 15), without starting a process: an HTTP
 * GET (`health_check.http`, healthy on 2xx/3xx; redirects are not followed, as `curl -f`) and a
 * TCP connect (`health_check.tcp`, healthy once accepted). Each is one socket, destroyed when the
 * probe is interrupted (its timeout, in `probe.ts`). A fresh connection each time, no keep-alive:
 * the check is that the box accepts a new one.
 */

const unhealthy = (reason: string): ProbeResult => ({ _tag: "Unhealthy", reason })
const healthy: ProbeResult = { _tag: "Healthy" }

/** How much of a failing response's body is kept for the reason (the box's own words, as a command's output is). */
const BODY_TAIL = 512

/** `resume` at most once: a destroyed socket may still emit an error after the verdict. */
const once = (resume: (effect: Effect.Effect<ProbeResult>) => void) => {
  let settled = false
  return (result: ProbeResult) => {
    if (settled) return
    settled = true
    resume(Effect.succeed(result))
  }
}

const failure = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === "ECONNREFUSED" ? "connection refused" : code === "ECONNRESET" ? "connection reset" : errorText(error)
}

/** GET `target`: healthy on a 2xx or 3xx status. */
export const httpProbe = (target: string): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    const settle = once(resume)
    const url = HealthCheck.parseHttpUrl(target)
    if (typeof url === "string") {
      settle(unhealthy(`its health_check.http ${JSON.stringify(target)} is invalid: ${url}`))
      return
    }
    const what = `health check GET ${url.href}`
    const request = http.get({
      host: HealthCheck.hostOfUrl(url),
      port: url.port === "" ? 80 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      agent: false,
      headers: { "user-agent": "a3s-box-health-check", connection: "close" }
    }, (response) => {
      const status = response.statusCode ?? 0
      if (status >= 200 && status < 400) {
        response.destroy()
        settle(healthy)
        return
      }
      // Unhealthy: a little of the body says why (ended early if the box streams).
      let body = ""
      const done = () => {
        response.destroy()
        const text = body.trim().replace(/\s+/g, " ").slice(0, BODY_TAIL)
        settle(unhealthy(`${what} returned HTTP ${status}${text === "" ? "" : `: ${text}`}`))
      }
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
        if (body.length >= BODY_TAIL) done()
      })
      response.once("end", done)
      response.once("error", done)
    })
    request.once("error", (error) => settle(unhealthy(`${what} failed: ${failure(error)}`)))
    return Effect.sync(() => request.destroy())
  })

/** Connect to `target` (`HOST:PORT`): healthy once the connection is accepted. */
export const tcpProbe = (target: string): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    const settle = once(resume)
    const parsed = HealthCheck.parseTcpTarget(target)
    if (typeof parsed === "string") {
      settle(unhealthy(`its health_check.tcp ${JSON.stringify(target)} is invalid: ${parsed}`))
      return
    }
    const socket = net.connect({ host: parsed.host, port: parsed.port })
    socket.once("connect", () => {
      socket.destroy()
      settle(healthy)
    })
    socket.once("error", (error) =>
      settle(unhealthy(`health check TCP connect to ${target} failed: ${failure(error)}`)))
    return Effect.sync(() => socket.destroy())
  })
