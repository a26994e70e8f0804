/**
 * Crash -> new pid latency of one box, through the built CLI and a real monitor at its default
 * interval (5 s): a box is killed with SIGKILL and the state file is polled every millisecond
 * until it records a new, live pid for the box (status running, /proc confirms the pid and its
 * start time). That is the moment the box is back and recorded.
 *
 * - run -d: a box started by `run -d` while the monitor runs and killed as soon as `run -d`
 *   returns, before the monitor has seen it (it learns of the box from the state file's stamp
 *   on its 100 ms liveness tick, finds it dead, restarts it).
 * - monitor-booted: the same boxes once the monitor has restarted them (it is their parent, so
 *   it hears of the exit at once), each up for 30 s first so that its backoff has reset (a box
 *   that dies again within 30 s of a restart is restarted after a backoff wait, by design).
 *
 * Beside it, the peers (peers.ts: PM2 and the floor, each keeping as many `sleep` boxes up):
 * after each of our trials, in both parts, one box of each peer is killed the same way and its
 * supervisor's children polled every 1 ms until a new pid shows (ours, PM2, floor, ours, ...).
 */
import { statSync } from "node:fs"
import { peerFigure, peerKillOne, type PeerSlot, startPeers, stopPeers, withRatios } from "./peers.js"
import { type BenchHome, figure, type Figure, isAlive, now, sleep, waitFor } from "./support.js"

/** The state file's inode, mtime (ns) and size: replaced by a rename on every write, so a change shows here. */
const stampOf = (file: string): string => {
  const stat = statSync(file, { bigint: true, throwIfNoEntry: false })
  return stat === undefined ? "" : `${stat.ino}:${stat.mtimeNs}:${stat.size}`
}

/**
 * Polls the state file's stat every millisecond (reading and parsing it only when it changed:
 * the measure is the monitor, not this loop) until `name` has a live pid other than `oldPid`;
 * returns the time of that poll.
 */
const waitForNewPid = async (home: BenchHome, name: string, oldPid: number, timeoutMs = 30_000): Promise<number> => {
  const deadline = now() + timeoutMs
  let seen = ""
  for (;;) {
    const stamp = stampOf(home.stateFile)
    const at = now()
    if (stamp !== seen) {
      seen = stamp
      const boxes = home.state()
      const box = boxes?.find((b) => b.name === name)
      if (box !== undefined && box.status === "running" && box.pid !== null && box.pid !== oldPid && isAlive(box.pid, box.pid_start_time)) {
        return at
      }
      // Replaced while being read: look again at the next poll.
      if (boxes === undefined) seen = ""
    }
    if (at > deadline) throw new Error(`box ${name} was not back within ${timeoutMs} ms`)
    await sleep(1)
  }
}

const pidOf = (home: BenchHome, name: string): number => {
  const box = home.state()?.find((b) => b.name === name)
  if (box?.pid === null || box?.pid === undefined) throw new Error(`box ${name} has no pid`)
  return box.pid
}

export const crashLatency = async (home: BenchHome, trials: number): Promise<ReadonlyArray<Figure>> => {
  const peers = await startPeers(trials)
  const peerSamples = new Map<PeerSlot, Array<number>>(peers.map((slot) => [slot, []]))
  /** One trial of each peer, right after one of ours. */
  const peerTrials = async () => {
    for (const slot of peers) {
      const ms = await slot.measure((peer) => peerKillOne(peer))
      if (ms !== undefined) peerSamples.get(slot)!.push(ms)
      await sleep(200)
    }
  }
  await home.startMonitor()
  const foreign: Array<number> = []
  const restartedAt: Array<number> = []
  for (let i = 0; i < trials; i++) {
    const name = `crash-${i}`
    // A distinct command per box, so that nothing else matches it.
    home.cli("run", "-d", "--quiet", "--name", name, "--restart", "always", "--", "sleep", String(3_000_000 + i))
    const pid = pidOf(home, name)
    const t0 = now()
    process.kill(pid, "SIGKILL")
    foreign.push((await waitForNewPid(home, name, pid)) - t0)
    restartedAt.push(Date.now())
    await sleep(200)
    await peerTrials()
  }
  // Backoff reset: each box must have been up 30 s since the monitor restarted it.
  const resetAt = Math.max(...restartedAt) + 31_000
  await waitFor("the backoff reset", () => Date.now() >= resetAt, 60_000, 200)
  const own: Array<number> = []
  for (let i = 0; i < trials; i++) {
    const name = `crash-${i}`
    const pid = pidOf(home, name)
    const t0 = now()
    process.kill(pid, "SIGKILL")
    own.push((await waitForNewPid(home, name, pid)) - t0)
    await sleep(200)
    await peerTrials()
  }
  await home.stopMonitor()
  await stopPeers(peers)
  const poll = "kill -9 of the box's pid, then the state file's stat polled every 1 ms (read only when it changed) until it records a new pid that /proc shows alive with that start time"
  const peerFigures = peers.map((slot) =>
    peerFigure(slot, {
      id: "crash_latency",
      title: "crash -> new pid",
      unit: "ms",
      samples: peerSamples.get(slot)!,
      method: `${trials} boxes (\`sleep\`), ${2 * trials} trials, each right after one of ours (interleaved, both parts); kill -9 of its oldest box, then its supervisor's /proc/PID/task/*/children polled every 1 ms until a pid that was not its child shows, exec'd (comm sleep) and not a zombie`
    })
  )
  const ours = [
    figure({
      id: "crash_latency_monitor_booted",
      title: "crash -> new pid, box the monitor booted",
      unit: "ms",
      samples: own,
      target: 20,
      method: `${trials} boxes, each killed once; monitor at the default interval (5 s), box up >= 30 s (backoff reset); ${poll}`
    }),
    figure({
      id: "crash_latency_run_detached",
      title: "crash -> new pid, box from run -d the monitor had not seen",
      unit: "ms",
      samples: foreign,
      target: 150,
      method: `${trials} boxes, each started by \`run -d\` while the monitor runs and killed as soon as \`run -d\` returns; monitor at the default interval (5 s); ${poll}`
    })
  ]
  return [...ours.map((f) => withRatios(f, peerFigures)), ...peerFigures]
}
