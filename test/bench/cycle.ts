/**
 * CPU of one poll cycle with nothing to do, in-process with the real Node layers: the
 * supervisor over NodeStateStore (a real boxes.json in a temp home), LocalBoxRuntime (real
 * /proc checks) and NodeContext, exactly as `a3s-box monitor` composes them (Monitor.hostLayer),
 * but without the lease, the heartbeat and the logger, which are not part of a cycle.
 *
 * The fleet: N records shaped like the original a3s-box writes them (~60 keys each), every one
 * `running` with a live process of its own (one real `sleep` per record) and policy
 * `always`; half have a health check that is not due. So a cycle checks the liveness and
 * identity of N boxes and finds nothing to do. The poll interval is 1 s (the liveness tick is
 * switched off); the CPU of the whole process (process.cpuUsage: every thread) is read when
 * each cycle completes, so a sample is everything the process did for one cycle.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as Supervisor from "../../src/monitor/Supervisor.js"
import { idleFleet, type LiveProcess, startSleeperPool } from "./fleet.js"
import { figure, type Figure, median, sleep, tempDir, track } from "./support.js"

/** NodeStateStore's TRUST_AFTER_MS, plus a margin. */
const TRUST_WINDOW_MS = 3_500

interface CycleSample {
  readonly cpuMs: number
  readonly wallMs: number
}

const measure = async (records: number, pool: ReadonlyArray<LiveProcess>, cycles: number) => {
  const home = tempDir("a3s-bench-cycle-")
  writeFileSync(path.join(home, "boxes.json"), JSON.stringify(idleFleet(records, pool, home), null, 2) + "\n")
  // A file written less than 3 s ago is read again at each cycle (NodeStateStore trusts a cached
  // parse only once the file's ctime is older than that: "racily clean" files); the figure is
  // the steady state of a file nobody writes, so the monitor starts once the file is that old.
  await sleep(TRUST_WINDOW_MS)
  const samples: Array<CycleSample> = []
  // Resolved by the cycle that completes the samples: the bench does not poll for them (a
  // 50 ms poll would add its own wake-ups to every sample).
  let enough = () => {}
  const collected = new Promise<void>((resolve) => (enough = resolve))
  let last = process.cpuUsage()
  // MonitorStats as the supervisor sees it, noting the process's CPU time at each completed cycle.
  const stats = Layer.effect(
    MonitorStats.MonitorStats,
    Effect.map(MonitorStats.make, (real) => ({
      ...real,
      cycleCompleted: (completedAt: number, seconds: number, ok: boolean) =>
        Effect.zipRight(
          Effect.sync(() => {
            const cpu = process.cpuUsage(last)
            last = process.cpuUsage()
            if (!ok) throw new Error("a cycle could not read the state file")
            samples.push({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: seconds * 1000 })
            if (samples.length > cycles) enough()
          }),
          real.cycleCompleted(completedAt, seconds, ok)
        )
    }))
  )
  const config = { ...Monitor.configFor(home, { interval: 1, livenessTickMillis: 3_600_000 }) }
  const host = Monitor.hostLayer(config).pipe(Layer.provide(NodeContext.layer))
  const services = Supervisor.layer.pipe(Layer.provideMerge(Layer.merge(host, stats)))
  await Effect.runPromise(
    Effect.scoped(
      Effect.zipRight(
        Layer.build(services),
        Effect.promise(() => collected)
      )
    ).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(120_000 + cycles * 5_000),
        onTimeout: () => new Error(`timed out waiting for ${cycles + 1} cycles`)
      })
    )
  )
  const [first, ...rest] = samples
  return { first: first!, idle: rest.slice(0, cycles) }
}

export const cycleCpu = async (sizes: ReadonlyArray<number>, cycles: number): Promise<ReadonlyArray<Figure>> => {
  // One live process per record, as in a real fleet: no two records share a /proc read.
  const { leader, procs: pool } = await startSleeperPool(Math.max(...sizes))
  track(leader)
  const figures: Array<Figure> = []
  for (const size of sizes) {
    const { first, idle } = await measure(size, pool, cycles)
    figures.push(
      figure({
        id: `idle_cycle_cpu_${size}`,
        title: `one poll cycle with nothing to do, ${size.toLocaleString("en")} records`,
        unit: "CPU ms",
        samples: idle.map((s) => s.cpuMs),
        ...(size === 10_000 ? { target: 50 } : {}),
        method: `in-process: Supervisor over NodeStateStore + LocalBoxRuntime + NodeContext; ${size} fixture-shaped records, all running, each with a live process of its own (${size} real sleep processes), half with a health check not due; the file written 3.5 s before the monitor starts (past the store's racily-clean window, in which every cycle reads the file again); interval 1 s, liveness tick off; process.cpuUsage() (all threads) between consecutive cycle completions, ${cycles} cycles after the first`,
        notes: [
          `cycle wall time (the supervisor's own measure): median ${median(idle.map((s) => s.wallMs)).toFixed(1)} ms`,
          `first cycle (cold: read, parse and decode every record): ${first.cpuMs.toFixed(0)} CPU ms, ${first.wallMs.toFixed(0)} ms wall`
        ]
      })
    )
  }
  return figures
}
