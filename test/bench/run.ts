/**
 * `npm run bench`: builds the CLI, then measures the figures issue 6 asks for, against the built
 * CLI (`node dist/a3s-box.mjs`) and real processes in temp homes. Prints each figure (median,
 * p90, target, met?) with its method, and writes them as JSON to test/bench/results/latest.json
 * (`--record` also writes test/bench/results.json, the committed record).
 *
 *   npm run bench                       everything (~8 minutes)
 *   npm run bench -- --only crash,cycle  some groups: startup, crash, hundred, metrics, probes, cycle
 *   npm run bench -- --quick            fewer trials (a smoke run, ~3 minutes)
 *
 * The crash and hundred groups also measure the peers (peers.ts: PM2, installed once per run into a
 * temp prefix, and the floor, floor.mjs), interleaved with ours; each of our figures there has a
 * "ratios:" note, and the peers' figures are entries of their own (`peer` set; `missing` with
 * why when a peer could not be measured).
 *
 * Every process a benchmark starts is killed (after checking it is still the same process) and
 * every temp home removed, also when a benchmark fails or the run is interrupted.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { crashLatency } from "./crash.js"
import { cycleCpu } from "./cycle.js"
import { hundredBoxes } from "./hundred.js"
import { metricsLatency } from "./metrics.js"
import { probeCost } from "./probes.js"
import { coldStart } from "./startup.js"
import { BenchHome, cleanupAll, cleanupRun, type Figure, fmt, machine, met, repoRoot, requireBuild } from "./support.js"

// In this order; cycle last: its 10,000 wrapped boxes (20,000 processes) leave the machine loaded for
// a minute or more after they are killed, which would skew the groups that follow.
const GROUPS = ["startup", "crash", "hundred", "metrics", "probes", "cycle"] as const
type Group = (typeof GROUPS)[number]

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const record = args.includes("--record")
const onlyArg = args[args.indexOf("--only") + 1]
const only = args.includes("--only") && onlyArg !== undefined ? onlyArg.split(",") : [...GROUPS]
for (const name of only) {
  if (!(GROUPS as ReadonlyArray<string>).includes(name)) {
    console.error(`unknown benchmark group ${JSON.stringify(name)}: use ${GROUPS.join(", ")}`)
    process.exit(2)
  }
}

const groups: Record<Group, () => Promise<ReadonlyArray<Figure>>> = {
  startup: async () => coldStart(quick ? 10 : 40),
  cycle: () => cycleCpu([1_000, 10_000], quick ? 5 : 15),
  crash: () => crashLatency(new BenchHome(), quick ? 7 : 20),
  hundred: () =>
    hundredBoxes(new BenchHome(), { killTrials: quick ? 2 : 6, idleWindows: quick ? 2 : 5, idleWindowMs: 12_000 }),
  metrics: () => metricsLatency(new BenchHome(), quick ? 1 : 3, 10),
  probes: () => probeCost(quick ? 1 : 2, quick ? 15_000 : 30_000)
}

/** The figures of `file` (the committed record) of groups other than `groups`. */
const recordedOutside = (file: string, groups: ReadonlySet<string>): ReadonlyArray<{ readonly group?: string }> => {
  try {
    const recorded = JSON.parse(readFileSync(file, "utf8")) as {
      readonly startedAt?: string
      readonly results?: ReadonlyArray<{ readonly group?: string; readonly at?: string }>
    }
    return (recorded.results ?? [])
      .filter((f) => f.group !== undefined && !groups.has(f.group))
      .map((f) => ({ ...f, at: f.at ?? recorded.startedAt }))
  } catch {
    return []
  }
}

const show = (f: Figure): void => {
  if (f.missing !== undefined) {
    console.log(`\n${f.title}\n  missing: ${f.missing}`)
    return
  }
  const ok = met(f)
  const target = f.target === undefined ? "" : `  target ${f.targetOn ?? "median"} <= ${f.target} ${f.unit}: ${ok ? "MET" : "MISSED"}`
  const p99 = f.p99 === undefined ? "" : `  p99 ${fmt(f.p99)}`
  console.log(`\n${f.title}\n  median ${fmt(f.median)} ${f.unit}  p90 ${fmt(f.p90)}${p99}  (n=${f.samples.length})${target}`)
  console.log(`  method: ${f.method}`)
  for (const note of f.notes ?? []) console.log(`  ${note}`)
}

const stop = (signal: NodeJS.Signals) => {
  console.error(`\nbench: ${signal}, cleaning up`)
  cleanupRun()
  process.exit(130)
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)

const main = async () => {
  requireBuild()
  const startedAt = new Date().toISOString()
  console.log(`a3s-box bench ${startedAt}, ${JSON.stringify(machine())}${quick ? ", quick" : ""}`)
  const results: Array<Figure & { readonly group: string; readonly loadavg: ReadonlyArray<number>; readonly at: string }> = []
  const failures: Array<{ readonly group: string; readonly error: string }> = []
  for (const group of GROUPS) {
    if (!only.includes(group)) continue
    const before = machine().loadavg
    console.log(`\n== ${group} (load average ${before.join(", ")})`)
    try {
      for (const f of await groups[group]()) {
        show(f)
        results.push({ ...f, group, loadavg: before, at: new Date().toISOString() })
      }
    } catch (error) {
      const message = error instanceof Error ? error.stack ?? error.message : String(error)
      console.error(`\n${group}: FAILED: ${message}`)
      failures.push({ group, error: message })
    } finally {
      cleanupAll()
    }
  }
  console.log("\n| figure | median | p90 | target | met? |\n|---|---|---|---|---|")
  for (const f of results) {
    if (f.missing !== undefined) {
      console.log(`| ${f.title} | missing: ${f.missing} | - | - | - |`)
      continue
    }
    const ok = met(f)
    const target = f.target === undefined ? "-" : `${f.targetOn === undefined ? "" : `${f.targetOn} `}<= ${f.target} ${f.unit}`
    console.log(
      `| ${f.title} | ${fmt(f.median)} ${f.unit} | ${fmt(f.p90)} ${f.unit}${f.p99 === undefined ? "" : ` (p99 ${fmt(f.p99)})`} | ${target} | ${
        ok === undefined ? "-" : ok ? "yes" : "no"
      } |`
    )
  }
  const report = { startedAt, finishedAt: new Date().toISOString(), quick, machine: machine(), results, failures }
  const dir = path.join(repoRoot, "test", "bench", "results")
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, "latest.json"), JSON.stringify(report, null, 2) + "\n")
  if (record) {
    // The record keeps the figures of the groups not run this time (each figure says when and at
    // what load it was measured), so a run of some groups updates just those.
    const file = path.join(repoRoot, "test", "bench", "results.json")
    const kept = recordedOutside(file, new Set(only))
    writeFileSync(file, JSON.stringify({ ...report, results: [...kept, ...results] }, null, 2) + "\n")
  }
  console.log(`\nwritten: test/bench/results/latest.json${record ? " and test/bench/results.json" : ""}`)
  if (failures.length > 0) process.exitCode = 1
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
}).finally(cleanupRun)
