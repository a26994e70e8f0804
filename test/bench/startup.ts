/**
 * `a3s-box --help` cold start: a new `node dist/a3s-box.cjs --help` process (the entry `a3s-box`
 * runs: package.json "bin"), wall time from spawn to exit (spawnSync), many runs. Interleaved
 * with the same number of runs of `node -e 0` (Node's own start-up on this machine at this
 * moment: the floor), of `a3s-box ps` on an empty home (a command that reads the state) and of
 * `node dist/a3s-box.mjs --help` (the entry's earlier name, an ES module: Node's ESM loader too).
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { figure, type Figure, median, now, p90, repoRoot, tempDir } from "./support.js"

/** The entry `a3s-box` runs once installed. */
const packageBin = (): string => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { bin: Record<string, string> }
  return path.join(repoRoot, pkg.bin["a3s-box"]!)
}

const wallOf = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): number => {
  const t0 = now()
  const result = spawnSync(process.execPath, args, { env, stdio: "ignore" })
  const wall = now() - t0
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status ?? result.signal}`)
  return wall
}

export const coldStart = (runs: number): ReadonlyArray<Figure> => {
  const env = { ...process.env, A3S_HOME: tempDir("a3s-bench-start-") }
  const help: Array<number> = []
  const bare: Array<number> = []
  const ps: Array<number> = []
  const moduleHelp: Array<number> = []
  const bin = packageBin()
  const moduleBin = path.join(repoRoot, "dist", "a3s-box.mjs")
  // One untimed run of each: the files are in the page cache, as for any CLI run twice.
  wallOf([bin, "--help"], env)
  wallOf([bin, "ps"], env)
  wallOf([moduleBin, "--help"], env)
  for (let i = 0; i < runs; i++) {
    help.push(wallOf([bin, "--help"], env))
    bare.push(wallOf(["-e", "0"], env))
    ps.push(wallOf([bin, "ps"], env))
    moduleHelp.push(wallOf([moduleBin, "--help"], env))
  }
  const fmt = (xs: ReadonlyArray<number>) => `median ${median(xs).toFixed(0)} ms, p90 ${p90(xs).toFixed(0)} ms`
  return [
    figure({
      id: "cold_start_help",
      title: "a3s-box --help cold start",
      unit: "ms",
      samples: help,
      target: 250,
      method: `wall time of \`node ${path.relative(repoRoot, bin)} --help\` (package.json bin) from spawn to exit (spawnSync), ${runs} runs interleaved with \`node -e 0\`, \`a3s-box ps\` and the .mjs entry`,
      notes: [
        `node -e 0 (Node alone, same moments): ${fmt(bare)}`,
        `a3s-box ps on an empty home: ${fmt(ps)}`,
        `node dist/a3s-box.mjs --help (the ES module entry): ${fmt(moduleHelp)}`
      ]
    })
  ]
}
