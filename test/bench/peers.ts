/**
 * The peers (issue 13, "the bench measures the peers"): the crash and hundred groups measure two
 * other supervisors of the same `sleep` boxes beside our monitor, interleaved with it trial by
 * trial (ours, PM2, floor, ours, PM2, floor, ...), so that each ratio compares figures taken
 * under the same load.
 *
 * - floor: test/bench/floor.mjs, ~10 lines of Node that spawn N copies of a command and spawn a
 *   copy again on each `exit`: the lower bound of what any supervisor can do. The process
 *   measured is that Node process.
 * - PM2 (7.0.4): installed once per run with `npm install --prefix <temp dir>` (never into the
 *   project's node_modules; the prefix is removed at the end of the run), with PM2_HOME in a
 *   temp dir of the group (the user's ~/.pm2 is never touched) and `pm2 kill` at the end. Its
 *   boxes are fork-mode apps of an ecosystem file (`script: "sleep"`, `interpreter: "none"`,
 *   `autorestart: true`, PM2's defaults otherwise: no restart delay). The process measured is
 *   the God daemon (the CLI client exits once it has handed the apps over).
 *
 * A peer's box is back when its supervisor's /proc/PID/task/ * /children lists a pid that was not
 * its child before the kill, that has exec'd `sleep` (/proc/PID/stat comm) and is not a zombie;
 * polled every 1 ms, as our monitor's state file is. A peer that cannot be installed or started,
 * or fails while measured, is reported as "missing: <reason>", never skipped.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { startTimeOf } from "./fleet.js"
import {
  figure,
  type Figure,
  fmt,
  isAlive,
  now,
  onCleanup,
  repoRoot,
  runTempDir,
  sleep,
  syncSleep,
  tempDir,
  track,
  waitFor
} from "./support.js"

export const PM2_VERSION = "7.0.4"
const floorScript = path.join(repoRoot, "test", "bench", "floor.mjs")
/** The peers' boxes: `sleep` with an argument of their own (nothing else on the machine runs it). */
const FLOOR_SLEEP = "4100000"
const PM2_SLEEP = "4200000"

// ---------------------------------------------------------------------------
// /proc

/** Every child of `pid` (zombies included), from /proc/PID/task/ * /children. */
const childrenOf = (pid: number): Array<number> => {
  const out: Array<number> = []
  let tasks: Array<string>
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, "latin1").split(" ")) {
        if (child !== "" && child !== "\n") out.push(Number(child))
      }
    } catch {
      // thread gone
    }
  }
  return out
}

/** A box of a peer: a live `sleep` (exec'd: before exec a fresh child still shows its parent's comm), not a zombie. */
const isBox = (pid: number): boolean => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1")
    const close = text.lastIndexOf(")")
    const state = text.slice(close + 2, close + 3)
    return text.slice(text.indexOf("(") + 1, close) === "sleep" && state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** The environment without the `npm_*` variables `npm run bench` sets (they would configure the peer's npm). */
const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.toLowerCase().startsWith("npm_")) env[key] = value
  return { ...env, ...extra }
}

/** Runs a command to its end (tracked while it runs); rejects with its exit and the tail of its output. */
const run = (what: string, command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" })
    track(child.pid)
    let out = ""
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
    child.once("error", (error) => reject(new Error(`${what}: ${error.message}`)))
    child.once("exit", (code, signal) => {
      if (code === 0) resolve(out)
      else {
        const tail = out.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join(" | ").slice(-400)
        reject(new Error(`${what} exited ${code ?? signal}${signal === "SIGKILL" ? ` (timeout ${timeoutMs / 1000} s)` : ""}: ${tail}`))
      }
    })
  })

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 500)

// ---------------------------------------------------------------------------
// Peers

/** A running peer: the supervisor process measured and the number of boxes it keeps up. */
export interface Peer {
  readonly pid: number
  readonly boxes: number
  /** Stops the supervisor and its boxes, and checks they are gone. */
  readonly stop: () => Promise<void>
}

/** The current boxes of a peer (live `sleep` children of its supervisor). */
const boxesOf = (peer: Peer): Array<number> => childrenOf(peer.pid).filter(isBox)

/** Waits until the peer has all its boxes; tracks them (for cleanup) and returns them. */
const ready = async (peer: Peer, timeoutMs = 60_000): Promise<Array<number>> => {
  const boxes = await waitFor(`${peer.boxes} boxes of pid ${peer.pid}`, () => {
    if (!isAlive(peer.pid, null)) throw new Error(`the supervisor (pid ${peer.pid}) is gone`)
    const boxes = boxesOf(peer)
    return boxes.length === peer.boxes ? boxes : undefined
  }, timeoutMs, 20)
  for (const pid of boxes) track(pid)
  return boxes
}

/** floor.mjs keeping `boxes` copies of `sleep` up; its pid file is polled until it lists them all. */
const startFloor = async (boxes: number): Promise<Peer> => {
  const dir = tempDir("a3s-bench-floor-")
  const pidFile = path.join(dir, "pids.json")
  // Its own process group (detached), which its children share: cleanupAll kills the group.
  const child: ChildProcess = spawn(process.execPath, [floorScript, pidFile, String(boxes), "sleep", FLOOR_SLEEP], {
    cwd: dir,
    detached: true,
    stdio: "ignore"
  })
  track(child.pid)
  const pid = child.pid!
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const peer: Peer = {
    pid,
    boxes,
    stop: async () => {
      const last = boxesOf(peer)
      try {
        process.kill(-pid, "SIGKILL")
      } catch {
        // gone already
      }
      await exited
      await waitFor("the floor's boxes gone", () => last.every((p) => !isAlive(p, null)), 10_000, 20)
    }
  }
  await waitFor("floor.mjs's pid file listing its boxes", () => {
    if (child.exitCode !== null) throw new Error(`floor.mjs exited ${child.exitCode}`)
    try {
      const pids = JSON.parse(readFileSync(pidFile, "utf8")) as ReadonlyArray<number>
      return pids.length === boxes && pids.every(isBox)
    } catch {
      return false
    }
  }, 30_000, 20)
  await ready(peer)
  return peer
}

interface Pm2Install {
  readonly bin: string
}

let pm2Install: Promise<Pm2Install> | undefined

/** `npm install pm2@7.0.4` into a temp prefix kept for the run (removed by cleanupRun): once per run. */
const installPm2 = (): Promise<Pm2Install> =>
  (pm2Install ??= (async () => {
    const prefix = runTempDir("a3s-bench-pm2-")
    const started = now()
    await run(
      `npm install pm2@${PM2_VERSION}`,
      "npm",
      ["install", "--prefix", prefix, `pm2@${PM2_VERSION}`, "--no-audit", "--no-fund", "--loglevel", "error"],
      cleanEnv(),
      prefix,
      300_000
    )
    const bin = path.join(prefix, "node_modules", "pm2", "bin", "pm2")
    if (!existsSync(bin)) throw new Error(`npm install pm2@${PM2_VERSION} left no ${bin}`)
    const version = (JSON.parse(readFileSync(path.join(prefix, "node_modules", "pm2", "package.json"), "utf8")) as { version: string }).version
    if (version !== PM2_VERSION) throw new Error(`npm installed pm2 ${version}, not ${PM2_VERSION}`)
    console.log(`  (pm2@${PM2_VERSION} installed in ${prefix} in ${((now() - started) / 1000).toFixed(1)} s, for this run)`)
    return { bin }
  })())

/** PM2's God daemon keeping `boxes` fork-mode `sleep` apps up, in a temp PM2_HOME. */
const startPm2 = async (boxes: number): Promise<Peer> => {
  const { bin } = await installPm2()
  const home = tempDir("a3s-bench-pm2home-")
  // `touch`: PM2's first-run marker (else its client phones home); no version check from the daemon either.
  writeFileSync(path.join(home, "touch"), String(Date.now()))
  const env = cleanEnv({ PM2_HOME: home, PM2_DISABLE_VERSION_CHECK: "true", PM2_DISCRETE_MODE: "true" })
  const ecosystem = path.join(home, "ecosystem.config.cjs")
  const apps = Array.from({ length: boxes }, (_, i) => ({
    name: `b${i}`,
    script: "sleep",
    args: [PM2_SLEEP],
    interpreter: "none",
    autorestart: true
  }))
  writeFileSync(ecosystem, `module.exports = ${JSON.stringify({ apps }, null, 2)}\n`)
  const pidFile = path.join(home, "pm2.pid")
  let god: number | undefined
  const godPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(pidFile, "utf8").trim())
      return pid > 1 ? pid : undefined
    } catch {
      return undefined
    }
  }
  // On a failure or an interrupt: `pm2 kill` (synchronously, while its home exists), then the daemon must be gone.
  const unregister = onCleanup(() => {
    spawnSync(process.execPath, [bin, "kill"], { env, cwd: home, stdio: "ignore", timeout: 20_000 })
    const pid = god ?? godPid()
    for (let i = 0; i < 100 && pid !== undefined && isAlive(pid, null); i++) syncSleep(50)
    // Still there: cleanupAll SIGKILLs it (tracked) next.
  })
  try {
    await run(`pm2 start (${boxes} apps)`, process.execPath, [bin, "start", ecosystem], env, home, 120_000)
  } finally {
    god = godPid()
    track(god)
  }
  if (god === undefined) throw new Error(`pm2 start left no ${pidFile}`)
  const cmdline = readFileSync(`/proc/${god}/cmdline`, "latin1")
  if (!cmdline.includes("God Daemon")) throw new Error(`pid ${god} (${pidFile}) is not PM2's God daemon: ${cmdline}`)
  const daemon = god
  const daemonStart = startTimeOf(daemon) ?? null
  const peer: Peer = {
    pid: daemon,
    boxes,
    stop: async () => {
      const last = boxesOf(peer).map((pid) => [pid, startTimeOf(pid) ?? null] as const)
      try {
        await run("pm2 kill", process.execPath, [bin, "kill"], env, home, 120_000)
        await waitFor(`PM2's God daemon (pid ${daemon}) gone after pm2 kill`, () => !isAlive(daemon, daemonStart), 10_000, 20)
      } catch (error) {
        // Slow on a loaded machine: not a reason to lose the group's figures, but nothing may be left.
        console.error(`  (PM2: ${reason(error)}; SIGKILL to its God daemon and boxes instead)`)
        for (const [pid, startTime] of [[daemon, daemonStart] as const, ...last]) {
          if (!isAlive(pid, startTime)) continue
          try {
            process.kill(pid, "SIGKILL")
          } catch {
            // gone already
          }
        }
        await waitFor(`PM2's God daemon (pid ${daemon}) gone after SIGKILL`, () => !isAlive(daemon, daemonStart), 10_000, 20)
      }
      unregister()
      await waitFor("PM2's boxes gone", () => last.every(([pid, startTime]) => !isAlive(pid, startTime)), 10_000, 20)
    }
  }
  await ready(peer)
  return peer
}

/** A peer of a group: running, or missing with why. */
export class PeerSlot {
  peer: Peer | undefined
  missing: string | undefined

  constructor(readonly name: string, readonly key: string, readonly describe: string) {}

  /** Runs one measure; a failure makes the peer missing (with why) instead of failing the group. */
  async measure<A>(f: (peer: Peer) => Promise<A>): Promise<A | undefined> {
    if (this.peer === undefined || this.missing !== undefined) return undefined
    try {
      return await f(this.peer)
    } catch (error) {
      this.failed(error)
      await this.stop()
      return undefined
    }
  }

  /** Marks the peer missing after a failed reading (it is stopped with the others at the end). */
  failed(error: unknown): void {
    this.missing ??= `failed while measured: ${reason(error)}`
  }

  /** Stops the peer (idempotent); a failure to stop is an error of the group (something may be left). */
  async stop(): Promise<void> {
    const peer = this.peer
    this.peer = undefined
    if (peer !== undefined) await peer.stop()
  }
}

/** PM2 and the floor, each keeping `boxes` `sleep` boxes up (PM2 installed first, once per run). */
export const startPeers = async (boxes: number): Promise<ReadonlyArray<PeerSlot>> => {
  const slots = [
    new PeerSlot("PM2", "pm2", `PM2 ${PM2_VERSION} (God daemon, fork-mode apps, autorestart, default settings)`),
    new PeerSlot("floor", "floor", "floor.mjs (spawn again on exit, nothing else)")
  ]
  const starts = { pm2: startPm2, floor: startFloor } as const
  const shown: Array<string> = []
  // Installed first, so that the times shown are the peers' start-ups (a failure shows at PM2's start).
  await installPm2().catch(() => undefined)
  for (const slot of slots) {
    const started = now()
    try {
      slot.peer = await starts[slot.key as keyof typeof starts](boxes)
      shown.push(`${slot.name} pid ${slot.peer.pid} (all up in ${((now() - started) / 1000).toFixed(1)} s)`)
    } catch (error) {
      slot.missing = reason(error)
      shown.push(`${slot.name} missing: ${slot.missing}`)
    }
  }
  console.log(`  (peers, ${boxes} boxes each: ${shown.join(", ")})`)
  return slots
}

export const stopPeers = async (slots: ReadonlyArray<PeerSlot>): Promise<void> => {
  for (const slot of slots) await slot.stop()
}

// ---------------------------------------------------------------------------
// Measures

/** SIGKILL to the peer's oldest box, then its children polled every 1 ms until a new box shows; the elapsed ms. */
export const peerKillOne = async (peer: Peer, timeoutMs = 30_000): Promise<number> => {
  const boxes = await ready(peer, 10_000)
  const victim = boxes.reduce((a, b) => ((startTimeOf(a) ?? 0) <= (startTimeOf(b) ?? 0) ? a : b))
  const before = new Set(childrenOf(peer.pid))
  const t0 = now()
  process.kill(victim, "SIGKILL")
  for (;;) {
    const children = childrenOf(peer.pid)
    const at = now()
    for (const pid of children) {
      if (!before.has(pid) && isBox(pid)) {
        track(pid)
        return at - t0
      }
    }
    if (at - t0 > timeoutMs) throw new Error(`no new box within ${timeoutMs} ms of killing pid ${victim}`)
    await sleep(1)
  }
}

/** SIGKILL to every box of the peer in one loop, then its children polled every 1 ms until as many new boxes show. */
export const peerKillAll = async (peer: Peer, timeoutMs = 120_000): Promise<number> => {
  const boxes = await ready(peer)
  const before = new Set(childrenOf(peer.pid))
  const back = new Set<number>()
  const t0 = now()
  for (const pid of boxes) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  for (;;) {
    const children = childrenOf(peer.pid)
    const at = now()
    for (const pid of children) if (!before.has(pid) && !back.has(pid) && isBox(pid)) back.add(pid)
    if (back.size >= boxes.length) {
      for (const pid of back) track(pid)
      return at - t0
    }
    if (at - t0 > timeoutMs) throw new Error(`only ${back.size} of ${boxes.length} boxes back within ${timeoutMs} ms`)
    await sleep(1)
  }
}

// ---------------------------------------------------------------------------
// Figures

/** The peer's figure for the same measure as one of ours: id and title prefixed, `peer` set; empty and `missing` if it is. */
export const peerFigure = (
  slot: PeerSlot,
  fields: { readonly id: string; readonly title: string; readonly unit: string; readonly samples: ReadonlyArray<number>; readonly method: string }
): Figure =>
  figure({
    ...fields,
    id: `${slot.key}_${fields.id}`,
    title: `${slot.name}: ${fields.title}`,
    method: `${slot.describe}; ${fields.method}`,
    peer: slot.name,
    ...(slot.missing === undefined ? {} : { missing: slot.missing, samples: [] })
  })

const times = (ratio: number): string =>
  !Number.isFinite(ratio) ? "∞×" : ratio >= 100 ? `${ratio.toFixed(0)}×` : ratio >= 1 ? `${ratio.toFixed(1)}×` : `${ratio.toFixed(2)}×`

const mean = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length

const ratioTo = (ours: number, peer: Figure, value: number): string =>
  value === 0 ? `${peer.peer} 0 ${peer.unit} (no ratio)` : `${times(ours / value)} ${peer.peer} ${fmt(value)} ${peer.unit}`

/**
 * Our figure with a note of its ratio to each peer's (medians):
 * "ratios: a3s 15.3 ms (p90 21.7) = 1.9× PM2 8.2 ms, 5.5× floor 2.8 ms";
 * with `means`, a second note on the means of the samples (for CPU windows, where an idle
 * peer's median window can be 0: its mean is its CPU over all of them).
 */
export const withRatios = (ours: Figure, peers: ReadonlyArray<Figure>, options: { readonly means?: boolean } = {}): Figure => {
  const missing = (p: Figure) => `${p.peer} missing: ${p.missing}`
  const notes = [
    `ratios: a3s ${fmt(ours.median)} ${ours.unit} (p90 ${fmt(ours.p90)}) = ${
      peers.map((p) => (p.missing !== undefined ? missing(p) : ratioTo(ours.median, p, p.median))).join(", ")
    }`
  ]
  if (options.means === true) {
    const m = mean(ours.samples)
    notes.push(
      `ratios of the means: a3s ${fmt(m)} ${ours.unit} = ${
        peers.map((p) => (p.missing !== undefined ? missing(p) : ratioTo(m, p, mean(p.samples)))).join(", ")
      }`
    )
  }
  return { ...ours, notes: [...(ours.notes ?? []), ...notes] }
}
