/**
 * `monitor status` against what really answers the unit's metrics address (built CLI, real
 * sockets): a foreign HTTP server that says `ok`, this home's monitor started by hand, and the
 * monitor of another home. No service manager is needed: the install writes the unit and leaves
 * the manual step (no systemctl, or no bus), which is all status reads.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { removeDir } from "../support/removeDir.js"
import { freePort } from "../support/freePort.js"

const BUNDLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "a3s-box.mjs")

let root = ""
const children: Array<ChildProcess> = []
const servers: Array<http.Server> = []
beforeAll(() => {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`)
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-status-owner-"))
})
afterEach(async () => {
  // Our own children, by the handle we started them with.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
  }
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})
afterAll(() => {
  if (root !== "") removeDir(root)
})

/** A user: their own HOME (where the unit goes) and A3S_HOME. */
const user = (tag: string) => {
  const home = path.join(root, tag)
  const runtimeDir = path.join(root, `${tag}-run`)
  fs.mkdirSync(home)
  fs.mkdirSync(runtimeDir, { mode: 0o700 })
  const a3sHome = path.join(home, ".a3s")
  const env = { HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH: process.env["PATH"] ?? "/usr/bin:/bin", A3S_HOME: a3sHome }
  // Asynchronous: the foreign server answers from this very process.
  const cli = async (...args: ReadonlyArray<string>) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUNDLE, ...args], { env, timeout: 60_000 })
      return { code: 0, stdout, stderr }
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string }
      return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }
    }
  }
  const statusJson = async () => {
    const r = await cli("monitor", "status", "--format", "json")
    expect(r.code, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as { health: Record<string, unknown>; monitor: Record<string, unknown> }
  }
  return { a3sHome, env, cli, statusJson }
}

/** A monitor of `u`'s home started by hand, serving on 127.0.0.1:port; resolves once /healthz answers. */
const startMonitor = async (u: ReturnType<typeof user>, port: number) => {
  const child = spawn(process.execPath, [BUNDLE, "monitor", "--interval", "1", "--metrics-addr", `127.0.0.1:${port}`], {
    env: u.env,
    stdio: "ignore"
  })
  children.push(child)
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false)
    if (ok && fs.existsSync(path.join(u.a3sHome, "monitor.json"))) return child
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the monitor of ${u.a3sHome} did not serve /healthz on port ${port} within 20 s`)
}

describe("monitor status: who answers the unit's metrics address", () => {
  it("a foreign server answering `ok` is reported as not an a3s-box monitor, beside `monitor: not running`", async () => {
    const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("ok\n"))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as net.AddressInfo).port
    const ann = user("ann")
    expect((await ann.cli("monitor", "--install", "--metrics-addr", `127.0.0.1:${port}`)).code).toBe(0)

    const text = await ann.cli("monitor", "status")
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(
      `  health:   not an a3s-box monitor: http://127.0.0.1:${port}/healthz answered 200 without naming a home; another program holds the port\n`
    )
    expect(text.stdout).not.toMatch(/health: +ok/)
    expect(text.stdout).toMatch(/  monitor: +not running/)
    const json = await ann.statusJson()
    expect(json.health).toMatchObject({ reachable: true, status: 200, body: "ok", owner: "stranger", answered_by: { home: null, pid: null } })
  })

  it("this home's monitor (started by hand) answers as itself: ok, its home and pid; from another home it is another home's", async () => {
    const port = await freePort()
    const ann = user("ann2")
    const monitor = await startMonitor(ann, port)
    expect((await ann.cli("monitor", "--install", "--metrics-addr", `127.0.0.1:${port}`)).code).toBe(0)
    const json = await ann.statusJson()
    expect(json.health).toMatchObject({ status: 200, body: "ok", owner: "this_home", answered_by: { home: ann.a3sHome, pid: monitor.pid } })
    expect(json.monitor).toMatchObject({ state: "running", pid: monitor.pid })
    expect((await ann.cli("monitor", "status")).stdout).toMatch(
      new RegExp(`  health:   ok \\(http://127\\.0\\.0\\.1:${port}/healthz answered 200\\)`)
    )

    // Bob's unit points at the same address: what answers is Ann's monitor, and status says so.
    const bob = user("bob")
    expect((await bob.cli("monitor", "--install", "--metrics-addr", `127.0.0.1:${port}`)).code).toBe(0)
    const theirs = await bob.statusJson()
    expect(theirs.health).toMatchObject({ owner: "other_home", answered_by: { home: ann.a3sHome, pid: monitor.pid } })
    expect((await bob.cli("monitor", "status")).stdout).toContain(
      `  health:   not this home's monitor: http://127.0.0.1:${port}/healthz answered 200 from the a3s-box monitor of ${ann.a3sHome} (pid ${monitor.pid})\n`
    )
  })
})
