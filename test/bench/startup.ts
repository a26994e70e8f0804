/**
 * `a3s-box --help` cold start: a new `node dist/a3s-box.mjs --help` process, wall time from
 * spawn to exit (spawnSync), many runs. Interleaved with the same number of runs of `node -e 0`
 * (Node's own start-up on this machine at this moment: the floor) and of `a3s-box ps` on an
 * empty home (a command that reads the state).
 */
import { spawnSync } from "node:child_process"
import { bin, figure, type Figure, median, now, p90, tempDir } from "./support.js"

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
  // One untimed run of each: the files are in the page cache, as for any CLI run twice.
  wallOf([bin, "--help"], env)
  wallOf([bin, "ps"], env)
  for (let i = 0; i < runs; i++) {
    help.push(wallOf([bin, "--help"], env))
    bare.push(wallOf(["-e", "0"], env))
    ps.push(wallOf([bin, "ps"], env))
  }
  const fmt = (xs: ReadonlyArray<number>) => `median ${median(xs).toFixed(0)} ms, p90 ${p90(xs).toFixed(0)} ms`
  return [
    figure({
      id: "cold_start_help",
      title: "a3s-box --help cold start",
      unit: "ms",
      samples: help,
      target: 250,
      method: `wall time of \`node dist/a3s-box.mjs --help\` from spawn to exit (spawnSync), ${runs} runs interleaved with \`node -e 0\` and \`a3s-box ps\``,
      notes: [`node -e 0 (Node alone, same moments): ${fmt(bare)}`, `a3s-box ps on an empty home: ${fmt(ps)}`]
    })
  ]
}
