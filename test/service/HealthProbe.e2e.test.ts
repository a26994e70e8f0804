/**
 * `monitor status` probes the unit's metrics address over real loopback sockets with the plain
 * node:http client of the Node layer.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as HealthzIdentity from "../../src/metrics/HealthzIdentity.js"
import * as ServiceInstaller from "../../src/service/ServiceInstaller.js"
import { fakeExecutor } from "./FakeCommandExecutor.js"

let root = ""
const servers: Array<http.Server> = []
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-probe-"))
})
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
  fs.rmSync(root, { recursive: true, force: true })
})

const listen = (handler: http.RequestListener): Promise<number> =>
  new Promise((resolve) => {
    const server = http.createServer(handler)
    servers.push(server)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })

/** Installs a unit with this metrics address (service manager scripted), then runs the real status probe. */
const statusWith = (metricsAddr: string) =>
  Effect.gen(function*() {
    const installer = yield* ServiceInstaller.make({
      platform: "linux",
      homeDir: root,
      xdgConfigHome: Option.none(),
      user: "ann"
    })
    yield* installer.install({
      node: process.execPath,
      script: process.execPath,
      intervalSecs: 5,
      metricsAddr: Option.some(metricsAddr),
      home: path.join(root, ".a3s")
    })
    return (yield* installer.status).health
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        NodeFileSystem.layer,
        fakeExecutor(() => ({ exitCode: 0, stdout: "" })).layer,
        Layer.succeed(HttpClient.HttpClient, ServiceInstaller.nodeHttpGetClient)
      )
    )
  )

describe("the /healthz probe of `monitor status`", () => {
  it.live("reads /healthz and the last poll's age from /metrics", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        listen((req, res) => {
          if (req.url === "/healthz") res.writeHead(503).end("stale: the last poll cycle completed 95s ago (threshold 30s)\n")
          else if (req.url === "/metrics") res.writeHead(200).end("a3s_box_monitor_seconds_since_last_poll 95.5\n")
          else res.writeHead(404).end()
        })
      )
      expect(yield* statusWith(`0.0.0.0:${port}`)).toEqual({
        _tag: "Answered",
        url: `http://127.0.0.1:${port}/healthz`,
        status: 503,
        body: "stale: the last poll cycle completed 95s ago (threshold 30s)",
        secondsSinceLastPoll: Option.some(95.5),
        // No headers naming a home or a pid: not an a3s-box monitor (see ServiceCommands' verdict).
        responder: { home: Option.none(), pid: Option.none() }
      })
    }))

  it.live("reads the home and pid a monitor names itself with in the /healthz headers", () =>
    Effect.gen(function*() {
      const home = path.join(root, "hömé with space")
      const port = yield* Effect.promise(() =>
        listen((req, res) => {
          if (req.url === "/healthz") res.writeHead(200, HealthzIdentity.headers(home, 4242)).end("ok\n")
          else res.writeHead(404).end()
        })
      )
      expect(yield* statusWith(`127.0.0.1:${port}`)).toEqual({
        _tag: "Answered",
        url: `http://127.0.0.1:${port}/healthz`,
        status: 200,
        body: "ok",
        secondsSinceLastPoll: Option.none(),
        responder: { home: Option.some(home), pid: Option.some(4242) }
      })
    }))

  it.live("a closed port is reported as refused", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => listen(() => {}))
      yield* Effect.promise(() => new Promise((resolve) => servers.pop()!.close(resolve)))
      expect(yield* statusWith(`127.0.0.1:${port}`)).toEqual({
        _tag: "Unreachable",
        url: `http://127.0.0.1:${port}/healthz`,
        reason: "ECONNREFUSED"
      })
    }))

  it.live("a server that never answers is given up on after the probe timeout", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => listen(() => {}))
      const health = yield* statusWith(`127.0.0.1:${port}`)
      expect(health).toEqual({
        _tag: "Unreachable",
        url: `http://127.0.0.1:${port}/healthz`,
        reason: "no answer within 2s"
      })
    }))
})
