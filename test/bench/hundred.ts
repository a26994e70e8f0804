/**
 * A home of 100 boxes (`run -d ... sleep`) under a real monitor at its default interval:
 * - the monitor's resident memory and CPU per second while idle (nothing dies);
 * - 100 boxes killed at once -> all back: every pid SIGKILLed in one loop, then the state file
 *   read every millisecond until all 100 records show a new live pid.
 * Idle is measured twice: with the 100 boxes as `run -d` left them, and after the kills, when
 * the monitor has restarted every box and is their parent (an exit watcher per box).
 *
 * Beside it, the peers (peers.ts: PM2's God daemon and the floor, each keeping 100 `sleep` boxes
 * up): their CPU and RSS sampled in the same windows as the monitor's, and in each kill round,
 * after ours, all 100 of PM2's boxes killed at once, then the floor's (ours, PM2, floor, ...).
 */
import { statSync } from "node:fs"
import { peerFigure, peerKillAll, type PeerSlot, startPeers, stopPeers, withRatios } from "./peers.js"
import { type BenchHome, cpuMillisOf, figure, type Figure, isAlive, now, rssMiBOf, sleep, type StateBox, waitFor } from "./support.js"

const BOXES = 100

interface IdleSample {
  readonly cpuMsPerSec: Array<number>
  readonly rssMiB: Array<number>
}

/** A process sampled while idle: our monitor, or a peer's supervisor (whose failure makes that peer missing). */
interface IdleTarget {
  readonly pid: number
  readonly slot?: PeerSlot
  readonly sample: IdleSample
}

/**
 * CPU ms/s of each target over `windows` windows of `windowMs` each (the same windows for all),
 * and its RSS sampled every second.
 */
const sampleIdle = async (targets: ReadonlyArray<IdleTarget>, windows: number, windowMs: number): Promise<void> => {
  const read = <A>(target: IdleTarget, f: (pid: number) => A): A | undefined => {
    if (target.slot === undefined) return f(target.pid)
    if (target.slot.missing !== undefined) return undefined
    try {
      return f(target.pid)
    } catch (error) {
      target.slot.failed(error)
      return undefined
    }
  }
  for (let w = 0; w < windows; w++) {
    const c0 = targets.map((t) => read(t, cpuMillisOf))
    const t0 = now()
    for (let s = 0; s < windowMs / 1000; s++) {
      await sleep(1000)
      for (const t of targets) {
        const rss = read(t, rssMiBOf)
        if (rss !== undefined) t.sample.rssMiB.push(rss)
      }
    }
    const seconds = (now() - t0) / 1000
    targets.forEach((t, i) => {
      const c1 = read(t, cpuMillisOf)
      const start = c0[i]
      if (c1 !== undefined && start !== undefined) t.sample.cpuMsPerSec.push((c1 - start) / seconds)
    })
  }
}

const emptySample = (): IdleSample => ({ cpuMsPerSec: [], rssMiB: [] })

/**
 * The state file's inode and mtime (ns): it is replaced by a rename on every write, so a change
 * shows here. Polled every millisecond, this costs microseconds; reading and parsing 100
 * records every millisecond would take a good share of a core from the monitor being measured.
 */
const stampOf = (file: string): string => {
  const stat = statSync(file, { bigint: true, throwIfNoEntry: false })
  return stat === undefined ? "" : `${stat.ino}:${stat.mtimeNs}:${stat.size}`
}

/** Kills every box at once and waits until all are back (new live pids); returns the elapsed ms. */
const killAll = async (home: BenchHome, before: ReadonlyArray<StateBox>): Promise<number> => {
  const old = new Map(before.map((b) => [b.id, b.pid]))
  const t0 = now()
  for (const box of before) {
    try {
      process.kill(box.pid!, "SIGKILL")
    } catch {
      // already gone
    }
  }
  const deadline = t0 + 120_000
  let seen = ""
  for (;;) {
    const stamp = stampOf(home.stateFile)
    const at = now()
    if (stamp !== seen) {
      // Read (and checked) only when the monitor wrote: the measure is the monitor, not this loop.
      seen = stamp
      const boxes = home.state()
      if (
        boxes !== undefined && boxes.length === before.length &&
        boxes.every((b) => b.status === "running" && b.pid !== old.get(b.id) && isAlive(b.pid, b.pid_start_time))
      ) return at - t0
      // Replaced while being read: look again at the next poll.
      if (boxes === undefined) seen = ""
    }
    if (at > deadline) throw new Error("the boxes were not all back within 120 s")
    await sleep(1)
  }
}

export const hundredBoxes = async (
  home: BenchHome,
  options: { readonly killTrials: number; readonly idleWindows: number; readonly idleWindowMs: number }
): Promise<ReadonlyArray<Figure>> => {
  const peers = await startPeers(BOXES)
  const peerIdle = new Map<PeerSlot, IdleSample>(peers.map((slot) => [slot, emptySample()]))
  const peerKills = new Map<PeerSlot, Array<number>>(peers.map((slot) => [slot, []]))
  const peerTargets = (): Array<IdleTarget> =>
    peers.flatMap((slot) => (slot.peer === undefined ? [] : [{ pid: slot.peer.pid, slot, sample: peerIdle.get(slot)! }]))
  await home.runBoxes(BOXES, (i) => `b${i}`, (i) => ["sleep", String(2_000_000 + i)])
  const monitor = await home.startMonitor()
  const pid = monitor.pid!
  let boxes = await home.allRunning(BOXES)
  // Let the first cycles, the heartbeat, the JIT and the post-start-up GCs settle (the peers' too).
  await sleep(20_000)
  const idleForeign = emptySample()
  await sampleIdle([{ pid, sample: idleForeign }, ...peerTargets()], options.idleWindows, options.idleWindowMs)

  const kills: Array<number> = []
  let lastBack = 0
  for (let t = 0; t < options.killTrials; t++) {
    if (t > 0) {
      // Backoff reset: a box that dies within 30 s of its restart is restarted after a wait, by design.
      const resetAt = lastBack + 31_000
      await waitFor("the backoff reset", () => Date.now() >= resetAt, 60_000, 200)
    }
    boxes = await home.allRunning(BOXES)
    kills.push(await killAll(home, boxes))
    lastBack = Date.now()
    // The same round for each peer, once the previous one's restarts have settled.
    for (const slot of peers) {
      await sleep(2_000)
      const ms = await slot.measure((peer) => peerKillAll(peer))
      if (ms !== undefined) peerKills.get(slot)!.push(ms)
    }
  }
  await sleep(20_000)
  const idleOwn = emptySample()
  await sampleIdle([{ pid, sample: idleOwn }, ...peerTargets()], options.idleWindows, options.idleWindowMs)
  await home.stopMonitor()
  await stopPeers(peers)

  const idleMethod = (which: string) =>
    `monitor at the default interval (5 s) with ${BOXES} live boxes ${which}; CPU: /proc/PID/task/*/schedstat (ns) over ${options.idleWindows} windows of ${
      options.idleWindowMs / 1000
    } s; RSS: VmRSS sampled every second`
  const peerMethod = `the same windows as the monitor's, both its idle phases (${2 * options.idleWindows} windows of ${
    options.idleWindowMs / 1000
  } s); CPU: /proc/PID/task/*/schedstat (ns); RSS: VmRSS sampled every second`
  const peerFigures = (f: (slot: PeerSlot) => Parameters<typeof peerFigure>[1]) => peers.map((slot) => peerFigure(slot, f(slot)))
  const peerKill = peerFigures((slot) => ({
    id: "kill_100_all_back",
    title: `${BOXES} boxes killed at once -> all back`,
    unit: "ms",
    samples: peerKills.get(slot)!,
    method: `SIGKILL to all ${BOXES} of its boxes in one loop, in each of the ${options.killTrials} rounds right after ours (interleaved), then its supervisor's /proc/PID/task/*/children polled every 1 ms until ${BOXES} pids that were not its children show, exec'd (comm sleep) and not zombies`
  }))
  const peerRss = peerFigures((slot) => ({
    id: "idle_rss_100",
    title: `RSS idle, ${BOXES} boxes`,
    unit: "MiB",
    samples: peerIdle.get(slot)!.rssMiB,
    method: peerMethod
  }))
  const peerCpu = peerFigures((slot) => ({
    id: "idle_cpu_100",
    title: `CPU idle, ${BOXES} boxes`,
    unit: "ms/s",
    samples: peerIdle.get(slot)!.cpuMsPerSec,
    method: peerMethod
  }))
  const vs = (unit: string) => (unit === "ms" ? peerKill : unit === "MiB" ? peerRss : peerCpu)
  const ours = [
    figure({
      id: "kill_100_all_back",
      title: `${BOXES} boxes killed at once -> all back (monitor-booted)`,
      unit: "ms",
      samples: kills.slice(1),
      target: 400,
      method: `SIGKILL to all ${BOXES} pids in one loop, then the state file's stat polled every 1 ms (read and parsed only when it changed) until every record has a new pid that /proc shows alive; trials 2..${options.killTrials}, each after 30 s up (backoff reset), the boxes being the monitor's children`
    }),
    figure({
      id: "kill_100_all_back_run_detached",
      title: `${BOXES} boxes killed at once -> all back (boxes from run -d)`,
      unit: "ms",
      samples: kills.slice(0, 1),
      target: 400,
      method: `as above, first trial only: the boxes were started by \`run -d\` (not the monitor's children)`
    }),
    figure({
      id: "idle_rss_100",
      title: `monitor RSS idle, ${BOXES} boxes (monitor-booted)`,
      unit: "MiB",
      samples: idleOwn.rssMiB,
      target: 60,
      method: idleMethod("after it restarted each of them (it is their parent)")
    }),
    figure({
      id: "idle_cpu_100",
      title: `monitor CPU idle, ${BOXES} boxes (monitor-booted)`,
      unit: "ms/s",
      samples: idleOwn.cpuMsPerSec,
      target: 2,
      method: idleMethod("after it restarted each of them (it is their parent)")
    }),
    figure({
      id: "idle_rss_100_run_detached",
      title: `monitor RSS idle, ${BOXES} boxes (from run -d)`,
      unit: "MiB",
      samples: idleForeign.rssMiB,
      target: 60,
      method: idleMethod("as `run -d` started them")
    }),
    figure({
      id: "idle_cpu_100_run_detached",
      title: `monitor CPU idle, ${BOXES} boxes (from run -d)`,
      unit: "ms/s",
      samples: idleForeign.cpuMsPerSec,
      target: 2,
      method: idleMethod("as `run -d` started them")
    })
  ]
  return [...ours.map((f) => withRatios(f, vs(f.unit), { means: f.unit === "ms/s" })), ...peerKill, ...peerRss, ...peerCpu]
}
