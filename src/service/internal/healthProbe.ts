/**
 * The status probe of a monitor's metrics server: `/healthz` (body, and the headers naming the
 * home and pid of the monitor that answered) and the last poll's age from `/metrics`.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as HealthzIdentity from "../../metrics/HealthzIdentity.js"
import * as ListenAddress from "../../metrics/ListenAddress.js"
import { HealthProbe, type Responder } from "../Model.js"

/** The URL the status probe uses for a listen address (wildcards are asked on loopback). */
export const probeBase = (metricsAddr: string): Either.Either<string, string> =>
  Either.match(ListenAddress.parse(metricsAddr), {
    onLeft: (error) => Either.left(error.message),
    onRight: (address) => {
      if (address.port === 0) {
        return Either.left("the unit listens on port 0 (a free port chosen at start), which cannot be found from here")
      }
      const host = address.host === "0.0.0.0" ? "127.0.0.1" : address.host === "::" ? "::1" : address.host
      return Either.right(`http://${ListenAddress.format({ host, port: address.port })}`)
    }
  })

/** `a3s_box_monitor_seconds_since_last_poll` out of a Prometheus exposition. */
export const secondsSinceLastPoll = (exposition: string): Option.Option<number> => {
  const m = /^a3s_box_monitor_seconds_since_last_poll(?:\{[^}]*\})?\s+(\S+)/m.exec(exposition)
  if (m === null) return Option.none()
  const n = Number(m[1])
  return Number.isFinite(n) ? Option.some(n) : Option.none()
}

/** Who answered, from the `/healthz` headers (a header that is absent, or not a pid, is None). */
export const responderFrom = (headers: Readonly<Record<string, string | undefined>>): Responder => {
  const home = headers[HealthzIdentity.HOME_HEADER]
  const pid = headers[HealthzIdentity.PID_HEADER]
  return {
    home: home === undefined || home === "" ? Option.none() : Option.some(HealthzIdentity.decodeHome(home)),
    pid: Option.fromNullable(pid === undefined ? undefined : HealthzIdentity.decodePid(pid))
  }
}

/** How long one status probe request may take. */
export const PROBE_TIMEOUT = Duration.seconds(2)

/** Asks the metrics server at `metricsAddr` (None: the unit serves no metrics). Never fails. */
export const probe = (client: HttpClient.HttpClient, metricsAddr: Option.Option<string>): Effect.Effect<HealthProbe> =>
  Effect.gen(function*() {
    if (Option.isNone(metricsAddr)) {
      return HealthProbe.NotProbed({ reason: "the unit sets no --metrics-addr" })
    }
    const base = probeBase(metricsAddr.value)
    if (Either.isLeft(base)) return HealthProbe.NotProbed({ reason: base.left })
    const url = `${base.right}/healthz`
    const get = (u: string) =>
      client.get(u).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))
        ),
        Effect.scoped,
        Effect.mapError((error) =>
          error._tag === "RequestError" && error.description !== undefined ? error.description : error.message
        ),
        Effect.timeoutFail({ duration: PROBE_TIMEOUT, onTimeout: () => `no answer within ${Duration.format(PROBE_TIMEOUT)}` })
      )
    const healthz = yield* Effect.either(get(url))
    if (Either.isLeft(healthz)) {
      return HealthProbe.Unreachable({ url, reason: healthz.left })
    }
    const metrics = yield* Effect.option(get(`${base.right}/metrics`))
    return HealthProbe.Answered({
      url,
      status: healthz.right.status,
      body: healthz.right.text.trim(),
      secondsSinceLastPoll: Option.flatMap(metrics, (m) => m.status === 200 ? secondsSinceLastPoll(m.text) : Option.none()),
      responder: responderFrom(healthz.right.headers)
    })
  })
