/** Test helpers for the metrics endpoint: fixtures, a fake StateStore, an exposition reader, promtool. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
import { type InvalidRecord, parseStateFile } from "../../src/domain/StateFileCodec.js"
import { type StateError, StateStore, unwatchable } from "../../src/state/StateStore.js"

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..")

/** The shared mixed fixture (a copy of ../shared/fixtures/boxes.json). */
export const fixtureText = fs.readFileSync(path.join(repoRoot, "test", "metrics", "fixtures", "boxes.json"), "utf8")

export const fixtureRecords: ReadonlyArray<BoxRecord> = Either.getOrThrowWith(
  parseStateFile(fixtureText),
  (problem) => new Error(`fixture does not parse: ${problem.detail}`)
).records

let counter = 0
/** A decoded record with the schema's defaults for everything not given. */
export const box = (fields: Record<string, unknown> = {}): BoxRecord => {
  counter += 1
  const id = `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`
  return Schema.decodeUnknownSync(BoxRecord)({
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name: `box-${counter}`,
    status: "created",
    cmd: ["true"],
    box_dir: `/nonexistent/${id}`,
    console_log: `/nonexistent/${id}/console.log`,
    created_at: "2026-01-01T00:00:00Z",
    ...fields
  })
}

/** A StateStore whose read-only snapshot is `snapshot`; any write dies (the metrics must never write). */
export const fakeStore = (
  snapshot: Effect.Effect<ReadonlyArray<BoxRecord>, StateError>,
  filePath = "/nonexistent/boxes.json",
  invalid: ReadonlyArray<InvalidRecord> = []
): Layer.Layer<StateStore> =>
  Layer.succeed(StateStore, {
    path: filePath,
    changes: unwatchable("a test store"),
    snapshot,
    invalid: Effect.zipRight(snapshot, Effect.succeed(invalid)),
    modify: () => Effect.dieMessage("the metrics server must not write the state")
  })

// ---------------------------------------------------------------------------
// Reading an exposition back.

export interface Exposition {
  /** `name{k="v",...}` with labels sorted and values unescaped-then-JSON-quoted, to value. */
  readonly samples: ReadonlyMap<string, number>
  /** Series that appear more than once. */
  readonly duplicates: ReadonlyArray<string>
  /** Family name to its `# TYPE`. */
  readonly types: ReadonlyMap<string, string>
  /** Families whose HELP or TYPE appears more than once. */
  readonly repeatedMetadata: ReadonlyArray<string>
  /** Comment lines other than HELP and TYPE. */
  readonly comments: ReadonlyArray<string>
  /** Label sets of every sample of metric `name`, unescaped. */
  readonly labelsOf: (name: string) => ReadonlyArray<Readonly<Record<string, string>>>
}

const unescape = (value: string): string =>
  value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))

/** Parses Prometheus text format 0.0.4 strictly enough to find values and duplicates; throws on a malformed line. */
export const readExposition = (text: string): Exposition => {
  const samples = new Map<string, number>()
  const duplicates: Array<string> = []
  const types = new Map<string, string>()
  const seenMeta = new Set<string>()
  const repeatedMetadata: Array<string> = []
  const comments: Array<string> = []
  const labelSets: Array<readonly [string, Record<string, string>]> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    if (meta !== null) {
      const key = `${meta[1]} ${meta[2]}`
      if (seenMeta.has(key)) repeatedMetadata.push(key)
      seenMeta.add(key)
      if (meta[1] === "TYPE") types.set(meta[2]!, meta[3]!)
      continue
    }
    if (line.startsWith("#")) {
      comments.push(line)
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (sample === null) throw new Error(`malformed exposition line: ${line}`)
    const labels: Record<string, string> = {}
    const labelText = sample[2] ?? ""
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy
    let consumed = 0
    for (let m = pair.exec(labelText); m !== null; m = pair.exec(labelText)) {
      labels[m[1]!] = unescape(m[2]!)
      consumed = pair.lastIndex
    }
    if (consumed !== labelText.length) throw new Error(`malformed labels: ${line}`)
    const key = `${sample[1]}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`
    if (samples.has(key)) duplicates.push(key)
    const raw = sample[3]!
    samples.set(key, raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw))
    labelSets.push([sample[1]!, labels])
  }
  return {
    samples,
    duplicates,
    types,
    repeatedMetadata,
    comments,
    labelsOf: (name) => labelSets.filter(([n]) => n === name).map(([, l]) => l)
  }
}

/** The value of one series, by name and labels; undefined when absent. */
export const valueOf = (exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined =>
  exposition.samples.get(
    `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`
  )

// ---------------------------------------------------------------------------
// promtool

/**
 * The promtool binary, or undefined when it is missing and missing is allowed (not CI).
 * With CI=true a missing promtool throws: the tests that need it must fail, not skip.
 */
export const findPromtool = (): string | undefined => {
  const candidates = [process.env["PROMTOOL"], "promtool"].filter((c): c is string => c !== undefined && c !== "")
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["--version"], { stdio: "ignore" })
    if (probe.status === 0) return candidate
  }
  if (process.env["CI"] === "true") {
    throw new Error("promtool is missing and CI=true: install it (apt-get install -y --no-install-recommends prometheus)")
  }
  return undefined
}

/** `promtool check metrics` on `text`: exit code and stderr. */
export const promtoolCheck = (promtool: string, text: string): { readonly status: number | null; readonly stderr: string } => {
  const result = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8", timeout: 20_000 })
  return { status: result.status, stderr: `${result.stderr ?? ""}${result.stdout ?? ""}` }
}

// ---------------------------------------------------------------------------
// The built CLI as a real process

export const cliPath = path.join(repoRoot, "dist", "a3s-box.mjs")

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined when the process is gone or a zombie. */
const startTimeOf = (pid: number): number | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (fields[0] === "Z") return undefined
    return Number(fields[19])
  } catch {
    return undefined
  }
}

export interface CliProcess {
  readonly pid: number
  /** stdout and stderr so far, interleaved as they arrived. */
  readonly output: () => string
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** SIGKILLs the process if it is still the one we started; safe to call twice. */
  readonly kill: () => void
}

/** Runs `node dist/a3s-box.mjs ...args` with `A3S_HOME=home`. */
export const runCli = (args: ReadonlyArray<string>, home: string): CliProcess => {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, A3S_HOME: home },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const pid = child.pid!
  const startTime = startTimeOf(pid)
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return {
    pid,
    output: () => output,
    exited,
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (startTime === undefined || startTimeOf(pid) !== startTime) return
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // gone already
      }
    }
  }
}

/** Polls `check` until it returns a value (not undefined), or throws after `timeoutMs`. */
export const pollUntil = async <A>(
  what: string,
  check: () => A | undefined | Promise<A | undefined>,
  timeoutMs = 20_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A fresh temp directory per call; `cleanup` removes all of them. */
export const tempDirs = () => {
  const made: Array<string> = []
  return {
    make: (): string => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-metrics-"))
      made.push(dir)
      return dir
    },
    cleanup: () => {
      for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
