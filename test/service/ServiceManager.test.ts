/**
 * The installer's one algorithm over a ServiceManager a host app provides: the order of its
 * steps, and how a step the manager could not take becomes ServiceManagerUnavailable. Files are
 * real, in a temp dir (as in ServiceInstaller.test.ts); the manager is scripted.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { FailedCommand } from "../../src/service/Errors.js"
import * as ServiceInstaller from "../../src/service/ServiceInstaller.js"
import * as ServiceManager from "../../src/service/ServiceManager.js"

let root = ""
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-manager-"))
})
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

const failed: FailedCommand = { argv: ["mgr", "go"], failure: { _tag: "ExitCode", exitCode: 1, stderr: "no" } }

/** A manager that records what the installer asks of it, in order; `fail` picks the steps that fail. */
const scripted = (unitPath: string, fail: { activate?: boolean; deactivate?: boolean } = {}) => {
  const steps: Array<string> = []
  const step = (name: string) => Effect.sync(() => void steps.push(name))
  const manager: ServiceManager.ServiceManagerShape = {
    name: "systemd",
    unitPath,
    manualInstallCommand: "mgr install",
    render: (spec) => Either.right(`run ${spec.node} ${spec.script}\n`),
    parse: (text) => Option.some({ argv: text.trim().split(" ").slice(1), environment: {} }),
    prepare: () => step("prepare"),
    activate: (replaced) =>
      Effect.as(
        step(`activate replaced=${replaced}`),
        fail.activate === true
          ? Either.left({ failed, enabled: true, manualCommand: "mgr finish" })
          : Either.right([["mgr", "start"]])
      ),
    linger: (requested) => Effect.as(step(`linger ${requested}`), Option.none()),
    deactivate: Effect.as(step("deactivate"), fail.deactivate === true ? Either.left(failed) : Either.right([["mgr", "stop"]])),
    removeLeftovers: Effect.zipRight(
      step("removeLeftovers"),
      Effect.sync(() => void steps.push(`unit file there: ${fs.existsSync(unitPath)}`))
    ),
    forget: Effect.as(step("forget"), Either.right([["mgr", "forget"]])),
    manualUninstallCommand: "mgr stop-by-hand",
    state: Effect.as(step("state"), {
      _tag: "Known",
      enabled: "yes",
      active: "running",
      sub: "",
      mainPid: Option.some(7),
      restarts: Option.none(),
      lastExitStatus: Option.none()
    }),
    enabledOnDisk: Effect.as(step("enabledOnDisk"), Option.none())
  }
  const noHttp = HttpClient.make((request) =>
    Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("refused") }))
  )
  const installer = ServiceInstaller.fromManager.pipe(
    Effect.provide(Layer.mergeAll(
      Layer.succeed(ServiceManager.ServiceManager, manager),
      NodeFileSystem.layer,
      Layer.succeed(HttpClient.HttpClient, noHttp)
    ))
  )
  return { steps, installer }
}

const spec = { node: "/usr/bin/node", script: "/opt/a3s.cjs", intervalSecs: 5, metricsAddr: Option.none(), home: "/h" }

describe("ServiceInstaller over a ServiceManager", () => {
  it.effect("install: render, write atomically, prepare, activate, linger; a second install replaces", () =>
    Effect.gen(function*() {
      const unitPath = path.join(root, "units", "mine.unit")
      const { installer, steps } = scripted(unitPath)
      const i = yield* installer
      const first = yield* i.install(spec, { linger: true })
      expect(first).toEqual({ manager: "systemd", unitPath, replaced: false, commands: [["mgr", "start"]], linger: Option.none() })
      expect(fs.readFileSync(unitPath, "utf8")).toBe("run /usr/bin/node /opt/a3s.cjs\n")
      expect(fs.readdirSync(path.dirname(unitPath))).toEqual(["mine.unit"])
      expect((yield* i.install(spec)).replaced).toBe(true)
      expect(steps).toEqual(["prepare", "activate replaced=false", "linger true", "prepare", "activate replaced=true", "linger false"])
    }))

  it.effect("a step the manager could not take: ServiceManagerUnavailable with the manager's own manual command", () =>
    Effect.gen(function*() {
      const unitPath = path.join(root, "mine.unit")
      const { installer } = scripted(unitPath, { activate: true })
      const error = yield* Effect.flip((yield* installer).install(spec))
      expect(error).toMatchObject({
        _tag: "ServiceManagerUnavailable",
        manager: "systemd",
        operation: "install",
        unitPath,
        failed,
        enabled: true,
        manualCommand: "mgr finish"
      })
      expect(fs.existsSync(unitPath)).toBe(true) // the unit stays written
    }))

  it.effect("uninstall: deactivate, remove leftovers, remove the unit, then forget; nothing installed only tidies", () =>
    Effect.gen(function*() {
      const unitPath = path.join(root, "mine.unit")
      const { installer, steps } = scripted(unitPath)
      const i = yield* installer
      expect(yield* i.uninstall).toEqual({ _tag: "NotInstalled", manager: "systemd", unitPath })
      fs.writeFileSync(unitPath, "run x y\n")
      expect(yield* i.uninstall).toEqual({
        _tag: "Removed",
        manager: "systemd",
        unitPath,
        commands: [["mgr", "stop"], ["mgr", "forget"]]
      })
      expect(fs.existsSync(unitPath)).toBe(false)
      expect(steps).toEqual([
        "removeLeftovers",
        "unit file there: false",
        "deactivate",
        "removeLeftovers",
        "unit file there: true",
        "forget"
      ])
    }))

  it.effect("uninstall when deactivate fails: the unit is removed all the same, forget is not tried, the manual command is given", () =>
    Effect.gen(function*() {
      const unitPath = path.join(root, "mine.unit")
      fs.writeFileSync(unitPath, "run x y\n")
      const { installer, steps } = scripted(unitPath, { deactivate: true })
      const error = yield* Effect.flip((yield* installer).uninstall)
      expect(error).toMatchObject({ _tag: "ServiceManagerUnavailable", operation: "uninstall", manualCommand: "mgr stop-by-hand", failed })
      expect(fs.existsSync(unitPath)).toBe(false)
      expect(steps).not.toContain("forget")
    }))

  it.effect("status reads the unit back through the manager and asks it for its state", () =>
    Effect.gen(function*() {
      const unitPath = path.join(root, "mine.unit")
      fs.writeFileSync(unitPath, `run ${process.execPath} /gone/a3s.cjs monitor --interval 9\n`)
      const { installer, steps } = scripted(unitPath)
      const status = yield* (yield* installer).status
      expect(Option.map(status.unit, (u) => u.missing)).toEqual(Option.some([{ what: "entry script", path: "/gone/a3s.cjs" }]))
      expect(Option.flatMap(Option.flatMap(status.unit, (u) => u.description), (d) => d.intervalSecs)).toEqual(Option.some(9))
      expect(status.managerState).toMatchObject({ _tag: "Known", mainPid: Option.some(7) })
      expect(status.health).toEqual({ _tag: "NotProbed", reason: "the unit sets no --metrics-addr" })
      expect(steps).toEqual(["state", "enabledOnDisk"])
    }))
})
