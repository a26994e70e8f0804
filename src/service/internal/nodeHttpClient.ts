/**
 * A small plain-`node:http` GET client for the status probe. Not `fetch`: it refuses "bad ports"
 * (6000, 6665-6669, 10080, ...) a metrics server may well listen on. Not the undici client of
 * platform-node either: it would add undici to every CLI start-up for one optional request.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as http from "node:http"

/** The response's headers, one value each (repeated ones joined, as the Fetch API does). */
const headersOf = (res: http.IncomingMessage): Headers => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  return headers
}

export const nodeHttpGetClient: HttpClient.HttpClient = HttpClient.make((request, url, signal) =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    const req = http.get(url, { signal, headers: { accept: "text/plain" } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", (cause) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))))
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        const status = res.statusCode ?? 0
        resume(Effect.succeed(
          HttpClientResponse.fromWeb(
            request,
            new Response(status === 204 || status === 304 ? null : body, { status, headers: headersOf(res) })
          )
        ))
      })
    })
    req.on("error", (cause) =>
      resume(Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause,
          description: "code" in cause ? String(cause.code) : cause.message
        })
      )))
    return Effect.sync(() => req.destroy())
  })
)
