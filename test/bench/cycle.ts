/**
 * CPU of one poll cycle with nothing to do, in-process with the real Node layers: the
 * supervisor over NodeStateStore (a real boxes.json in a temp home), LocalBoxRuntime (real
 * /proc checks) and NodeContext, exactly as `a3s-box monitor` composes them (Monitor.hostLayer),
 * but without the lease, the heartbeat and the logger, which are not part of a cycle.
 *
 * The fleet: N records shaped like the original a3s-box writes them (~60 keys each), every one
 * `running` with a live process of its own and policy `always`; half have a health check that
 * is not due. So a cycle checks the liveness and identity of N boxes and finds nothing to do.
 * Two kinds of fleet:
 *
 * - unwrapped processes (polled): one real `sleep` per record, all forked by one shell
 *   (fleet.ts startSleeperPool). Their parent is no box wrapper, so the supervisor cannot watch
 *   their exits (exitWatch.ts): every one is "unwatchable", polled.
 * - run -d boxes (wrapped; exits watched): real boxes, booted by the real runtime as `run -d`
 *   boots them, by another process (bootFleet.ts, via wrappedFleet.ts) that has exited: each
 *   box's parent is its wrapper, so after the first cycle the supervisor watches every box's
 *   exit (an inotify watch of its box dir) instead of polling it.
 *
 * The poll interval is 1 s (the liveness tick is switched off); the CPU of the whole process
 * (process.cpuUsage: every thread) is read when each cycle completes, so a sample is everything
 * the process did for one cycle.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as Monitor from "../../src/monitor/Monitor.js"
import * as MonitorStats from "../../src/monitor/MonitorStats.js"
import * as Supervisor from "../../src/monitor/Supervisor.js"
import { BoxRuntime } from "../../src/runtime/BoxRuntime.js"
import { idleFleet, startSleeperPool, startTimeOf } from "./fleet.js"
import { figure, type Figure, fmt, median, sleep, tempDir, track } from "./support.js"
import { bootWrappedFleet, killAndWait } from "./wrappedFleet.js"

/** NodeStateStore's TRUST_AFTER_MS, plus a margin. */
const TRUST_WINDOW_MS = 3_500

/** Boots per launcher for the wrapped fleet (bootFleet.ts): one bash argv, and a socket pair and a log fd per box. */
const BOOT_CHUNK = 100

interface CycleSample {
  readonly cpuMs: number
  readonly wallMs: number
}

/** What the supervisor's exit watches (BoxRuntime.watchExit) answered, counted as they answer. */
interface ExitWatches {
  watched: number
  unwatchable: number
  /** Why not, by reason (pids and paths replaced by N). */
  readonly reasons: Map<string, number>
}

/** The watches on this process's inotify descriptors (Node's loop shares one between every fs.watch). */
const inotifyWatches = (): number => {
  let count = 0
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== "anon_inode:inotify") continue
      count += readFileSync(`/proc/self/fdinfo/${fd}`, "latin1").split("\n").filter((l) => l.startsWith("inotify wd:")).length
    } catch {
      // closed meanwhile
    }
  }
  return count
}

/** Measures `cycles` cycles (after the first) over the records `recordsOf` gives for the temp home. */
const measure = async (recordsOf: (home: string) => ReadonlyArray<Record<string, unknown>>, cycles: number) => {
  const home = tempDir("a3s-bench-cycle-")
  writeFileSync(path.join(home, "boxes.json"), JSON.stringify(recordsOf(home), null, 2) + "\n")
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
  // The local runtime as it is, its exit watches' answers counted (once per box: a tap on each).
  const watches: ExitWatches = { watched: 0, unwatchable: 0, reasons: new Map() }
  const host = Monitor.hostLayer(config).pipe(
    Layer.provide(NodeContext.layer),
    Layer.map((context) => {
      const runtime = Context.get(context, BoxRuntime)
      return Context.add(context, BoxRuntime, {
        ...runtime,
        watchExit: (box) =>
          Effect.tap(runtime.watchExit(box), (watch) =>
            Effect.sync(() => {
              if (watch._tag === "Watching") {
                watches.watched++
                return
              }
              watches.unwatchable++
              const reason = watch.reason.replace(/\/[^\s:']+/g, "PATH").replace(/\d+/g, "N")
              watches.reasons.set(reason, (watches.reasons.get(reason) ?? 0) + 1)
            }))
      })
    })
  )
  const services = Supervisor.layer.pipe(Layer.provideMerge(Layer.merge(host, stats)))
  const inotify = await Effect.runPromise(
    Effect.scoped(
      Effect.zipRight(
        Layer.build(services),
        // Read once the samples are in, while the supervisor (and its watches) still runs.
        Effect.promise(() => collected.then(inotifyWatches))
      )
    ).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(120_000 + cycles * 5_000),
        onTimeout: () => new Error(`timed out waiting for ${cycles + 1} cycles`)
      })
    )
  )
  const [first, ...rest] = samples
  return { first: first!, idle: rest.slice(0, cycles), watches, inotify }
}

type Kind = "unwrapped" | "wrapped"

const cycleFigure = (
  kind: Kind,
  size: number,
  cycles: number,
  { first, idle, inotify, watches }: Awaited<ReturnType<typeof measure>>,
  fleetNote: string
): Figure => {
  const records = size.toLocaleString("en")
  const fleet = kind === "wrapped"
    ? `${size} real boxes booted by LocalBoxRuntime as \`run -d\` boots them (gated boot, recorded running with pid and pid_start_time, released), by another process (test/bench/bootFleet.ts, ${BOOT_CHUNK} boots per launcher) that exited before the monitor started: each box a \`sleep\` whose parent is its wrapper (wrapper.sh), so the supervisor watches its exit (inotify on its box dir) instead of polling it`
    : `each with a live process of its own (${size} real sleep processes forked by one shell: no box wrapper is their parent, so their exits cannot be watched and are polled)`
  const reasons = [...watches.reasons].map(([reason, n]) => `${n} ${reason}`).join("; ")
  return figure({
    id: kind === "wrapped" ? `idle_cycle_cpu_wrapped_${size}` : `idle_cycle_cpu_${size}`,
    title: `one poll cycle with nothing to do, ${records} records: ${kind === "wrapped" ? "run -d boxes (wrapped; exits watched)" : "unwrapped processes (polled)"}`,
    unit: "CPU ms",
    samples: idle.map((s) => s.cpuMs),
    ...(size === 10_000 ? { target: 50 } : {}),
    method: `in-process: Supervisor over NodeStateStore + LocalBoxRuntime + NodeContext; ${size} fixture-shaped records, all running, ${fleet}; half with a health check not due; the file written 3.5 s before the monitor starts (past the store's racily-clean window, in which every cycle reads the file again); interval 1 s, liveness tick off; process.cpuUsage() (all threads) between consecutive cycle completions, ${cycles} cycles after the first`,
    notes: [
      `cycle wall time (the supervisor's own measure): median ${median(idle.map((s) => s.wallMs)).toFixed(1)} ms`,
      `first cycle (cold: read, parse and decode every record): ${first.cpuMs.toFixed(0)} CPU ms, ${first.wallMs.toFixed(0)} ms wall`,
      `second cycle's sample (the exit watches are set up right after the first cycle): ${fmt(idle[0]?.cpuMs)} CPU ms`,
      `exit watches after the first cycle: ${watches.watched} watched, ${watches.unwatchable} unwatchable (polled)${reasons === "" ? "" : `: ${reasons}`}; inotify watches of the process: ${inotify}`,
      ...(fleetNote === "" ? [] : [fleetNote])
    ]
  })
}

export const cycleCpu = async (sizes: ReadonlyArray<number>, cycles: number): Promise<ReadonlyArray<Figure>> => {
  const largest = Math.max(...sizes)
  const figures: Array<Figure> = []

  // Unwrapped: one live process per record, as in a real fleet: no two records share a /proc read.
  const { leader, procs: pool } = await startSleeperPool(largest)
  track(leader)
  const leaderStart = startTimeOf(leader)
  try {
    for (const size of sizes) {
      const result = await measure((home) => idleFleet(size, pool, home), cycles)
      figures.push(cycleFigure("unwrapped", size, cycles, result, ""))
    }
  } finally {
    // Gone before the wrapped fleet boots (pid_max 32768: 10,000 sleepers + 2 x 10,000 box processes would not fit).
    await killAndWait(pool, leaderStart === undefined ? [] : [{ pid: leader, startTime: leaderStart }])
  }

  // Wrapped: boxes of `run -d`, booted once for the largest size; a smaller fleet is the first records of it.
  const fleet = await bootWrappedFleet(largest, BOOT_CHUNK)
  try {
    const chunks = fleet.chunkMs
    const booted = `fleet booted by bootFleet.ts: ${largest} boxes in ${(fleet.bootMs / 1000).toFixed(1)} s (gated boots, ${fleet.launchers} launchers; a chunk of ${BOOT_CHUNK}: first ${fmt(chunks[0])} ms, median ${fmt(median(chunks))} ms, last ${fmt(chunks.at(-1))} ms), recorded in one write in ${fleet.recordMs.toFixed(0)} ms, released a chunk at a time: ${(fleet.totalMs / 1000).toFixed(1)} s in all; the booter process ${(fleet.wallMs / 1000).toFixed(1)} s from spawn to exit`
    for (const size of sizes) {
      const result = await measure(() => fleet.records.slice(0, size), cycles)
      figures.push(cycleFigure("wrapped", size, cycles, result, booted))
    }
  } finally {
    await fleet.stop()
  }
  return figures
}
