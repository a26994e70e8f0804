import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type { ChildProcess, SpawnOptions } from "node:child_process"
import { EventEmitter } from "node:events"
import type { Socket } from "node:net"
import { Duplex } from "node:stream"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import * as Gate from "../../../src/runtime/internal/gate.js"
import { type LaunchOrder, makeLauncher } from "../../../src/runtime/internal/launcher.js"
import { recordIn } from "../support.js"

/** A gate the test plays the wrapper's end of: `say` is what the wrapper writes, `heard` what it was sent. */
class FakeGate extends Duplex {
  readonly heard: Array<string> = []
  refs = 0
  constructor() {
    super({ read() {} })
  }
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    this.heard.push(chunk.toString("latin1"))
    callback()
  }
  say(text: string) {
    this.push(text)
  }
  ref() {
    this.refs++
    return this
  }
  unref() {
    return this
  }
}

interface Spawned {
  readonly args: ReadonlyArray<string>
  readonly options: SpawnOptions
  readonly gates: ReadonlyArray<FakeGate>
  readonly child: EventEmitter
}

/** A launcher over fake processes: every spawn is recorded with its gates; closed descriptors are listed. */
const fakeLauncher = () => {
  const spawned: Array<Spawned> = []
  const closed: Array<number> = []
  const launcher = makeLauncher({
    bash: () => "/bin/bash",
    spawn: (_command, args, options) => {
      const pipes = (options.stdio as ReadonlyArray<unknown>).filter((s) => s === "pipe").length
      const gates = Array.from({ length: pipes }, () => new FakeGate())
      const child = Object.assign(new EventEmitter(), { stdio: [null, null, null, ...gates], unref: () => {} })
      spawned.push({ args, options, gates, child })
      return child as unknown as ChildProcess
    },
    closeFd: (fd) => closed.push(fd)
  })
  return { launcher, spawned, closed }
}

let fds = 100
const order = (env: Record<string, string> = { PATH: "/bin" }, cmd: ReadonlyArray<string> = ["sleep", "30"]): LaunchOrder => ({
  box: recordIn("/h", { cmd }),
  cwd: "/w",
  env,
  logFd: fds++,
  exited: Deferred.unsafeMake<number>(FiberId.none)
})

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Starts the launches now, each in its own fiber (as concurrent boots do), and joins them all. */
const launchAll = <A, E>(launches: ReadonlyArray<Effect.Effect<A, E>>): Promise<Array<A>> => {
  const fibers = launches.map((launch) => Effect.runFork(launch))
  return Effect.runPromise(Effect.forEach(fibers, Fiber.join))
}

describe("the launcher", () => {
  it("starts the boots of one moment with one environment with one launcher, each box at its own gate", async () => {
    const { closed, launcher, spawned } = fakeLauncher()
    const a = order()
    const b = order(undefined, ["true"])
    const both = launchAll([launcher.launch(a), launcher.launch(b)])
    await turn()
    expect(spawned).toHaveLength(1)
    const [launched] = spawned
    expect(launched!.args.slice(5)).toEqual(Gate.launcherArgs([a, b]))
    expect(launched!.options.stdio).toEqual(["ignore", "ignore", "ignore", "pipe", "pipe", a.logFd, b.logFd])
    expect(launched!.options.detached).toBe(true)
    expect(closed).toEqual([a.logFd, b.logFd])
    launched!.gates[1]!.say("202\n")
    launched!.gates[0]!.say("201\n")
    const [parkedA, parkedB] = await both
    expect([parkedA!.pid, parkedB!.pid]).toEqual([201, 202])
    expect(parkedA!.gate).toBe(launched!.gates[0])
  })

  it("gives each environment its own launcher, BASH_ENV carried under another name", async () => {
    const { launcher, spawned } = fakeLauncher()
    const fibers = [order({ PATH: "/bin", FOO: "a" }), order({ PATH: "/bin", BASH_ENV: "/e" })].map((o) => Effect.runFork(launcher.launch(o)))
    await turn()
    expect(spawned.map((s) => s.options.env)).toEqual([{ PATH: "/bin", FOO: "a" }, { PATH: "/bin", A3S_BOX_BASH_ENV: "/e" }])
    for (const fiber of fibers) await Effect.runPromise(Fiber.interrupt(fiber))
  })

  it("completes the box's exit with the wrapper's `exit CODE`", async () => {
    const { launcher, spawned } = fakeLauncher()
    const a = order()
    const parked = Effect.runPromise(launcher.launch(a))
    await turn()
    spawned[0]!.gates[0]!.say("201\n")
    await parked
    spawned[0]!.gates[0]!.say("exit 137\n")
    expect(await Effect.runPromise(Deferred.await(a.exited))).toBe(137)
  })

  it("a boot interrupted before the flush leaves its batch: its log is closed and nothing is spawned for it", async () => {
    const { closed, launcher, spawned } = fakeLauncher()
    const a = order()
    const fiber = Effect.runFork(launcher.launch(a))
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(closed).toEqual([a.logFd])
    await turn()
    expect(spawned).toEqual([])
  })

  it("a boot interrupted after the flush has its job's gate closed as soon as it reports (the command never runs)", async () => {
    const { launcher, spawned } = fakeLauncher()
    const fiber = Effect.runFork(launcher.launch(order()))
    await turn()
    await Effect.runPromise(Fiber.interrupt(fiber))
    const gate = spawned[0]!.gates[0]!
    gate.say("201\n")
    await turn()
    expect(gate.destroyed).toBe(true)
    expect(gate.heard).toEqual([])
  })

  it("fails a box whose wrapper ends before reporting, or reports a bad pid; the rest of the batch boots", async () => {
    const { launcher, spawned } = fakeLauncher()
    const results = launchAll([order(), order(), order()].map((o) => Effect.either(launcher.launch(o))))
    await turn()
    const [ended, bad, good] = spawned[0]!.gates
    ended!.destroy()
    bad!.say("nonsense\n")
    good!.say("301\n")
    const [a, b, c] = await results
    expect(a!._tag === "Left" && a!.left.reason).toBe("the box wrapper ended before starting the command")
    expect(b!._tag === "Left" && b!.left.reason).toBe("the box wrapper reported a bad pid \"nonsense\"")
    expect(c!._tag === "Right" && c!.right.pid).toBe(301)
  })

  it("fails every box of a launcher that cannot run", async () => {
    const { launcher, spawned } = fakeLauncher()
    const results = launchAll([order(), order()].map((o) => Effect.exit(launcher.launch(o))))
    await turn()
    spawned[0]!.child.emit("error", new Error("spawn /bin/bash EACCES"))
    for (const exit of await results) {
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("cannot run the box wrapper /bin/bash (spawn /bin/bash EACCES)")
    }
  })

  it("fails a box whose wrapper does not report within 10 s, and drops its job if it reports later", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    try {
      const { launcher, spawned } = fakeLauncher()
      const result = launchAll([Effect.either(launcher.launch(order()))])
      await turn()
      vi.advanceTimersByTime(9_999)
      await turn()
      const gate = spawned[0]!.gates[0]!
      expect(gate.destroyed).toBe(false)
      vi.advanceTimersByTime(1)
      const [failed] = await result
      expect(failed!._tag === "Left" && failed!.left.reason).toBe("the box wrapper did not report the command's pid within 10 s")
      gate.say("201\n")
      await turn()
      expect(gate.destroyed).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  describe("its spare", () => {
    // The spare starts 50 ms after the lone boot that wants it: those timers are the test's.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    /** Boots lone boxes one after another, answering each launcher's gate with a pid. */
    const bootLone = async (l: ReturnType<typeof fakeLauncher>, o: LaunchOrder, pid: number) => {
      const parked = Effect.runPromise(l.launcher.launch(o))
      await turn()
      l.spawned.at(-1)!.gates[0]!.say(`${pid}\n`)
      return parked
    }

    it("is never started by a process that boots once", async () => {
      const l = fakeLauncher()
      await bootLone(l, order(), 201)
      vi.runAllTimers()
      expect(l.spawned).toHaveLength(1)
    })

    it("is started after a second lone boot, for its environment, and takes the next lone boot of that environment", async () => {
      const l = fakeLauncher()
      await bootLone(l, order(), 201)
      await bootLone(l, order(), 202)
      vi.advanceTimersByTime(49)
      expect(l.spawned).toHaveLength(2)
      vi.advanceTimersByTime(1)
      expect(l.spawned).toHaveLength(3)
      const spare = l.spawned[2]!
      expect(spare.args.slice(5)).toEqual(["spare"])
      expect(spare.options.env).toEqual({ PATH: "/bin" })
      expect(spare.options.stdio).toEqual(["ignore", "ignore", "ignore", "pipe"])

      const next = order(undefined, ["echo", "a b"])
      const parked = Effect.runPromise(l.launcher.launch(next))
      await turn()
      expect(l.spawned).toHaveLength(3)
      const gate = spare.gates[0]!
      expect(gate.heard).toEqual([Gate.spareFields(next)])
      expect(l.closed).not.toContain(next.logFd)
      gate.say("203\n")
      expect((await parked).pid).toBe(203)
      // The spare opened the log itself.
      expect(l.closed).toContain(next.logFd)
    })

    it("gone when used: the box is launched as usual", async () => {
      const l = fakeLauncher()
      await bootLone(l, order(), 201)
      await bootLone(l, order(), 202)
      vi.advanceTimersByTime(50)
      expect(l.spawned).toHaveLength(3)
      const next = order()
      const parked = Effect.runPromise(l.launcher.launch(next))
      await turn()
      l.spawned[2]!.gates[0]!.destroy()
      const launchedAsUsual = () => l.spawned.slice(3).find((s) => !s.args.includes("spare"))
      await turn()
      expect(launchedAsUsual()).toBeDefined()
      expect(launchedAsUsual()!.args.slice(5)).toEqual(Gate.launcherArgs([next]))
      launchedAsUsual()!.gates[0]!.say("204\n")
      expect((await parked).pid).toBe(204)
    })

    it("of another environment is not used (nor is a batch handed to it)", async () => {
      const l = fakeLauncher()
      await bootLone(l, order(), 201)
      await bootLone(l, order(), 202)
      vi.advanceTimersByTime(50)
      expect(l.spawned).toHaveLength(3)
      const other = Effect.runFork(l.launcher.launch(order({ PATH: "/usr/bin" })))
      await turn()
      expect(l.spawned[3]!.args.slice(5)).toEqual(expect.arrayContaining(["1"]))
      expect(l.spawned[2]!.gates[0]!.heard).toEqual([])
      await Effect.runPromise(Fiber.interrupt(other))
    })
  })
})
