/**
 * The public API (src/index.ts) and the README's embedding example: the example must compile
 * against src/ and run, so that it cannot silently stop working when the API changes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"
import * as A3sBox from "../src/index.js"
import { MonitorStats } from "../src/monitor/MonitorStats.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const index = fs.readFileSync(path.join(root, "src", "index.ts"), "utf8")

/** The README's ```ts blocks that import the package. */
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("from \"a3s-box\""))

/**
 * Writes `code` as a module inside the project (so that it resolves the project's node_modules)
 * with `a3s-box` pointing at src/index.ts. scratchpad/ is neither type-checked by `tsc -p .` nor
 * collected by vitest, so a file left behind by a killed run breaks nothing.
 */
const writeModule = (code: string): string => {
  const file = path.join(root, "scratchpad", `.readme-example-${process.pid}-${randomBytes(4).toString("hex")}.ts`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, code.replaceAll("from \"a3s-box\"", "from \"../src/index.js\""))
  return file
}

/**
 * The TypeScript diagnostics of `files` and everything they import, under the project's
 * tsconfig, by file (one program for all: a program over src/ takes seconds).
 */
const typeErrors = (files: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const configFile = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile)
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root)
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true })
  const host = { getCanonicalFileName: (name: string) => name, getCurrentDirectory: () => root, getNewLine: () => "\n" }
  const byFile = new Map<string, Array<ts.Diagnostic>>()
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const name = diagnostic.file === undefined ? "" : path.resolve(diagnostic.file.fileName)
    byFile.set(name, [...(byFile.get(name) ?? []), diagnostic])
  }
  return new Map([...byFile].map(([name, list]) => [name, ts.formatDiagnostics(list, host)]))
}

describe("the public API", () => {
  it("exports the tags, layers, schemas and errors a host app needs, as namespaces", () => {
    expect(Object.keys(A3sBox).sort()).toEqual([
      "BoxEvent",
      "BoxRecord",
      "BoxRuntime",
      "BoxStatus",
      "Boxes",
      "Cli",
      "EventHooks",
      "EventHooksConfig",
      "EventJournal",
      "HealthCheck",
      "Heartbeat",
      "Home",
      "HookRunner",
      "InMemoryBoxRuntime",
      "InMemoryEventJournal",
      "InMemoryStateStore",
      "ListenAddress",
      "LocalBoxRuntime",
      "MetricsServer",
      "Monitor",
      "MonitorConfig",
      "MonitorLease",
      "MonitorStats",
      "NodeEventJournal",
      "NodeStateStore",
      "RestartPolicy",
      "ServiceInstaller",
      "ServiceManager",
      "ServiceUnits",
      "Signal",
      "StateFileCodec",
      "StateStore",
      "Supervisor",
      "SyncFileSystem"
    ])
  })

  it("exports no module of an internal/ folder", () => {
    const sources = [...index.matchAll(/from "([^"]+)"/g)].map((m) => m[1]!)
    expect(sources.length).toBeGreaterThan(0)
    expect(sources.filter((source) => source.includes("/internal/"))).toEqual([])
  })

  it("keeps the monitor's lease and heartbeat behind their public modules", () => {
    expect(Object.keys(A3sBox.MonitorLease)).toEqual(
      expect.arrayContaining(["MonitorLease", "HeldLease", "layer", "layerNode", "layerHeld", "makeMemoryHost", "hold"])
    )
    expect(Object.keys(A3sBox.MonitorLease)).toEqual(
      expect.arrayContaining(["MonitorAlreadyRunning", "MonitorLeaseLost", "MonitorLeaseUnavailable"])
    )
    expect(Object.keys(A3sBox.Heartbeat)).toEqual(
      expect.arrayContaining(["Heartbeat", "MetricsEndpoint", "MonitorHeartbeat", "layer", "layerWith", "inspect"])
    )
    // The claim algorithm is the lease's implementation, not its API.
    expect(Object.keys(A3sBox.MonitorLease)).not.toContain("makeWith")
  })
})

describe("the README's embedding example", () => {
  it("is there: a ts block that imports from \"a3s-box\"", () => {
    expect(examples.length).toBeGreaterThan(0)
  })

  it("type-checks against src/ (and a copy that uses a name the API lacks does not)", () => {
    const files = examples.map(writeModule)
    const broken = writeModule(examples[0]!.replace("Supervisor.layer", "Supervisor.layerThatDoesNotExist"))
    try {
      const errors = typeErrors([...files, broken])
      expect(errors.get(broken) ?? "").toContain("layerThatDoesNotExist")
      expect([...errors].filter(([name]) => name !== broken).map(([, text]) => text).join("")).toBe("")
    } finally {
      for (const file of [...files, broken]) fs.rmSync(file, { force: true })
    }
  }, 240_000)

  it("runs: the supervisor it builds completes a poll cycle over an empty home, and stops with its scope", async () => {
    const example = examples[0]!
    const launch = "Layer.launch(App).pipe(NodeRuntime.runMain)"
    const homeLine = /const home = "[^"]*"/
    // The test edits these two lines: the home becomes a temp dir, and the layer is built here
    // in a scope instead of being launched until a signal.
    expect(example).toContain(launch)
    expect(example).toMatch(homeLine)
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-readme-"))
    const file = writeModule(
      `${example.replace(launch, "").replace(homeLine, `const home = ${JSON.stringify(home)}`)}\nexport { App }\n`
    )
    try {
      const module = (await import(pathToFileURL(file).href)) as { readonly App: Layer.Layer<MonitorStats> }
      const cycled = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(module.App)
        const stats = Context.get(context, MonitorStats)
        const snapshot = yield* stats.snapshot.pipe(
          Effect.filterOrFail((s) => Option.isSome(s.lastCycleCompletedAt), () => "no poll cycle completed yet"),
          Effect.retry(Schedule.spaced(Duration.millis(20))),
          Effect.timeout(Duration.seconds(20))
        )
        return Option.isSome(snapshot.lastCycleCompletedAt)
      })))
      expect(cycled).toBe(true)
    } finally {
      fs.rmSync(file, { force: true })
      fs.rmSync(home, { recursive: true, force: true })
    }
  }, 60_000)
})
