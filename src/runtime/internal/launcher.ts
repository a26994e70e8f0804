import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process"
import { existsSync } from "node:fs"
import type { Socket } from "node:net"
import type { BoxRecord } from "../../domain/BoxRecord.js"
import { errorText } from "../../platform/ErrorText.js"
import * as Gate from "./gate.js"
import { closeQuietly } from "./processCalls.js"

/**
 * Starts box wrappers (wrapper.sh). The boots of one moment (every boot that reaches its spawn
 * before the event loop turns) are gathered and started with one launcher per distinct
 * environment: a restart storm's boots are all started by one process; a lone boot is just as
 * before (the launcher is its wrapper).
 *
 * A process that launches again and again (the monitor) also keeps one launcher started ahead
 * of need, a spare, for the environment of its latest lone boot: a lone restart (a crash) then
 * skips a spawn from this large process and a bash start-up. One that boots once (`run -d`)
 * never starts a spare. A spare is never relied upon: if it is gone when used, the box is
 * launched as usual.
 *
 * This is the crash -> new pid path, so the launcher is plain code on the event loop around
 * one `Effect.async` per boot: the batch is flushed by `setImmediate`, and the boot deadline and
 * the spare's delay are timers (a restart storm would otherwise race a hundred fibers against
 * sleeps). All of its state is in `Launcher` below, changed only by its methods.
 */

/** How long after a lone launch its replacement spare is started. */
const SPARE_DELAY_MS = 50

/** How long a boot waits for its wrapper to report the command's pid. */
const BOOT_DEADLINE_MS = 10_000

/** What the launcher asks of the OS (tests give their own): bash, spawning it, closing a descriptor. */
export interface LauncherPorts {
  readonly bash: () => string
  readonly spawn: (command: string, args: ReadonlyArray<string>, options: SpawnOptions) => ChildProcess
  readonly closeFd: (fd: number) => void
}

const nodePorts: LauncherPorts = {
  bash: () => (existsSync("/bin/bash") ? "/bin/bash" : "bash"),
  spawn,
  closeFd: closeQuietly
}

/** The box's job, started and parked at its gate until it is told `go` (or the gate closes). */
export interface Parked {
  readonly pid: number
  readonly gate: Socket
}

/** Why a box's wrapper did not report its job's pid. */
export class LaunchFailed extends Data.TaggedError("LaunchFailed")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** One box to launch. */
export interface LaunchOrder extends Gate.LaunchedBox {
  readonly box: BoxRecord
  /** The box's environment. */
  readonly env: Record<string, string>
  /** Its console log, opened for appending: the launcher takes it over (and closes it). */
  readonly logFd: number
  /** Completed when the wrapper writes `exit CODE` (the box's exit code) on the gate. */
  readonly exited: Deferred.Deferred<number>
}

/**
 * One boot's wait for its wrapper. It goes `batched` (waiting for the flush) -> `launched` ->
 * `closed` (answered, interrupted, or past its deadline); interrupted or past its deadline before
 * the flush, it goes from `batched` straight to `closed` and leaves its batch (`Launcher.withdraw`).
 * Once closed it answers nothing more: a late pid has its gate destroyed at once, so that job
 * never runs the command.
 */
class Request implements Gate.LaunchedBox {
  private state: "batched" | "launched" | "closed" = "batched"
  readonly box: BoxRecord
  readonly cwd: string
  readonly logFd: number
  readonly exited: Deferred.Deferred<number>
  timer: NodeJS.Timeout | undefined

  constructor(order: LaunchOrder, readonly key: string, private readonly resume: (result: Exit.Exit<Parked, LaunchFailed>) => void) {
    this.box = order.box
    this.cwd = order.cwd
    this.logFd = order.logFd
    this.exited = order.exited
  }

  get phase(): "batched" | "launched" | "closed" {
    return this.state
  }

  /** Its launcher is spawned (or it is handed to a spare): it can no longer leave its batch. */
  launched(): void {
    if (this.state === "batched") this.state = "launched"
  }

  /** The wrapper reported `pid`: the boot goes on, unless it is over (then the job is dropped). */
  parked(parked: Parked): void {
    if (this.state === "closed") {
      parked.gate.destroy()
      return
    }
    this.close()
    this.resume(Exit.succeed(parked))
  }

  /** The wrapper could not report: the boot fails, unless it is over. */
  failed(reason: string): void {
    if (this.state === "closed") return
    this.close()
    this.resume(Exit.fail(new LaunchFailed({ reason })))
  }

  /** Answers nothing more (and stops the deadline). */
  close(): void {
    this.state = "closed"
    clearTimeout(this.timer)
  }
}

/** A launcher started ahead of need, waiting on its gate (fd 3) for one box of environment `key`. */
class Spare {
  /** Its process is gone or its gate closed: never handed a box. */
  dead = false
  constructor(readonly key: string, readonly gate: Socket) {}
}

class Launcher {
  /** The requests of this moment, by environment key; flushed on the next turn of the event loop. */
  private readonly batches = new Map<string, { readonly env: Record<string, string>; readonly requests: Array<Request> }>()
  private flushScheduled = false
  /** Launches so far (a batch counts once): a second one means this process boots again and again. */
  private launches = 0
  private spare: Spare | undefined
  private spareTimer: NodeJS.Timeout | undefined

  constructor(private readonly ports: LauncherPorts) {}

  /**
   * Starts the box's wrapper with the next batch (taking over `logFd`): succeeds with its job
   * parked at the gate. Interrupted before the flush, the box leaves the batch; after it, its
   * gate is closed as soon as it reports, so the job never runs the command. Fails when the
   * wrapper cannot start, or does not report within BOOT_DEADLINE_MS.
   */
  readonly launch = (order: LaunchOrder): Effect.Effect<Parked, LaunchFailed> =>
    Effect.async<Parked, LaunchFailed>((resume) => {
      const env = Gate.launcherEnvironment(order.env)
      const request = new Request(order, Gate.environmentKey(env), resume)
      request.timer = setTimeout(() => {
        this.withdraw(request)
        request.failed(`the box wrapper did not report the command's pid within ${BOOT_DEADLINE_MS / 1000} s`)
      }, BOOT_DEADLINE_MS)
      request.timer.unref()
      this.enqueue(request, env)
      return Effect.sync(() => {
        this.withdraw(request)
        request.close()
      })
    })

  private enqueue(request: Request, env: Record<string, string>): void {
    const batch = this.batches.get(request.key)
    if (batch === undefined) this.batches.set(request.key, { env, requests: [request] })
    else batch.requests.push(request)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Takes a request that is still waiting for the flush out of its batch (and closes its log). */
  private withdraw(request: Request): void {
    if (request.phase !== "batched") return
    const requests = this.batches.get(request.key)?.requests
    const index = requests?.indexOf(request) ?? -1
    if (index >= 0) requests!.splice(index, 1)
    this.ports.closeFd(request.logFd)
  }

  private flush(): void {
    this.flushScheduled = false
    const batches = [...this.batches.values()]
    this.batches.clear()
    for (const { env, requests } of batches) {
      if (requests.length === 0) continue
      for (const request of requests) request.launched()
      this.launches++
      const lone = requests.length === 1 ? requests[0]! : undefined
      if (lone === undefined || !this.handToSpare(lone, env)) this.spawnLauncher(env, requests)
      if (lone !== undefined && this.launches >= 2) this.wantSpare(lone.key, env)
    }
  }

  /** Spawns one launcher for `requests` (same environment); it closes their logs once it has its own copies. */
  private spawnLauncher(env: Record<string, string>, requests: ReadonlyArray<Request>): void {
    const bash = this.ports.bash()
    let launcher: ChildProcess
    try {
      launcher = this.ports.spawn(bash, Gate.launcherArgv(Gate.launcherArgs(requests)), {
        env,
        detached: true,
        stdio: ["ignore", "ignore", "ignore", ...requests.map(() => "pipe" as const), ...requests.map((r) => r.logFd)]
      })
    } catch (error) {
      for (const r of requests) r.failed(`cannot run the box wrapper ${bash} (${errorText(error)})`)
      return
    } finally {
      for (const r of requests) this.ports.closeFd(r.logFd)
    }
    // The last box's wrapper is the launcher itself: it exits with the box's exit code. One
    // killed by a signal says nothing about the box, which may live on.
    launcher.on("error", (error) => {
      for (const r of requests) r.failed(`cannot run the box wrapper ${bash} (${error.message})`)
    })
    launcher.unref()
    for (const [i, r] of requests.entries()) {
      const gate = launcher.stdio[3 + i] as Socket
      this.listen(r, gate, () => r.failed("the box wrapper ended before starting the command"))
    }
  }

  /** Listens on `request`'s gate: its pid report, then its exit code; `closedEarly` if it closes before the report. */
  private listen(request: Request, gate: Socket, closedEarly: () => void, beforeReport?: () => void): void {
    Gate.listenToGate(gate, {
      reported: (pid, line) => {
        beforeReport?.()
        if (pid === undefined) request.failed(`the box wrapper reported a bad pid ${JSON.stringify(line)}`)
        else request.parked({ pid, gate })
      },
      closedEarly,
      exited: (code) => Deferred.unsafeDone(request.exited, Exit.succeed(code))
    })
  }

  /** Hands a lone request to the spare launcher of its environment; false if there is none. */
  private handToSpare(request: Request, env: Record<string, string>): boolean {
    const spare = this.spare
    if (spare === undefined || spare.dead || spare.key !== request.key) return false
    this.spare = undefined
    spare.gate.ref()
    spare.gate.write(Gate.spareFields(request))
    this.listen(
      request,
      spare.gate,
      () => {
        // The spare was gone: launched as usual instead (unless the boot is over meanwhile).
        if (request.phase === "closed") this.ports.closeFd(request.logFd)
        else this.spawnLauncher(env, [request])
      },
      // The spare opens the console log itself: ours is not needed once it answers.
      () => this.ports.closeFd(request.logFd)
    )
    return true
  }

  /** Starts a spare for `key` a moment from now (off the path of the boot that just launched). */
  private wantSpare(key: string, env: Record<string, string>): void {
    clearTimeout(this.spareTimer)
    this.spareTimer = setTimeout(() => this.startSpare(key, env), SPARE_DELAY_MS)
    this.spareTimer.unref()
  }

  private startSpare(key: string, env: Record<string, string>): void {
    this.spareTimer = undefined
    if (this.spare !== undefined && !this.spare.dead && this.spare.key === key) return
    this.dropSpare()
    let proc: ChildProcess
    try {
      proc = this.ports.spawn(this.ports.bash(), Gate.launcherArgv(Gate.SPARE_ARGS), { env, detached: true, stdio: ["ignore", "ignore", "ignore", "pipe"] })
    } catch {
      return
    }
    const spare = new Spare(key, proc.stdio[3] as Socket)
    proc.on("error", () => {
      spare.dead = true
    })
    proc.unref()
    spare.gate.on("error", () => {})
    spare.gate.unref()
    spare.gate.once("close", () => {
      spare.dead = true
      if (this.spare === spare) this.spare = undefined
    })
    this.spare = spare
  }

  private dropSpare(): void {
    if (this.spare === undefined) return
    this.spare.dead = true
    this.spare.gate.destroy()
    this.spare = undefined
  }
}

/** Launches box wrappers: see the module's comment. */
export interface BoxLauncher {
  readonly launch: (order: LaunchOrder) => Effect.Effect<Parked, LaunchFailed>
}

/** A launcher with its own batches and spare (one per runtime instance), over Node's `spawn` by default. */
export const makeLauncher = (ports: LauncherPorts = nodePorts): BoxLauncher => new Launcher(ports)
