import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { type BoxRecord, stopSignal, stopTimeoutSecs } from "../domain/BoxRecord.js"
import {
  BootFailed,
  type BootedBox,
  BoxRuntime,
  type BoxRuntimeShape,
  ExitWatch,
  type LivenessTarget,
  ProbeResult
} from "./BoxRuntime.js"
import * as Signal from "./Signal.js"

/**
 * A fake BoxRuntime for supervisor tests: processes are entries in a Ref, time is the
 * Effect Clock (so `TestClock` drives stop timeouts and probe timeouts), and a control
 * service lets a test crash boxes, fail boots and script probes.
 */

/** What a scripted probe does. */
export type ProbeScript =
  | ProbeResult
  /** Never answers: the probe ends by its `timeout_secs`. */
  | { readonly _tag: "Hang" }
  /** Answers `result` after `seconds` (or times out first). */
  | { readonly _tag: "Slow"; readonly seconds: number; readonly result: ProbeResult }

export const Healthy: ProbeResult = ProbeResult.Healthy()
export const Unhealthy = (reason = "scripted failure"): ProbeResult => ProbeResult.Unhealthy({ reason })
export const Hang: ProbeScript = { _tag: "Hang" }

/** A fake process, as a test sees it. */
export interface FakeProcess {
  readonly pid: number
  readonly startTime: number
  /** The box it runs, or null for a foreign process occupying a reused pid. */
  readonly boxId: string | null
  readonly boxName: string | null
  readonly cmd: ReadonlyArray<string>
  readonly alive: boolean
  /** Set once it exited. */
  readonly exitCode: number | null
}

/** Every call the runtime received, in order. */
export type RuntimeCall =
  | { readonly _tag: "Boot"; readonly box: string; readonly boxId: string; readonly pid: number }
  | { readonly _tag: "BootFailed"; readonly box: string; readonly boxId: string; readonly reason: string }
  | {
    readonly _tag: "Stop"
    readonly box: string
    readonly boxId: string
    readonly pid: number | null
    readonly signal: string
    readonly result: Option.Option<number>
  }
  | { readonly _tag: "Probe"; readonly box: string; readonly boxId: string; readonly result: ProbeResult }

export interface InMemoryBoxRuntimeControlShape {
  /** Process `pid` exits with `code` (137 for a kill -9). No-op if it is not running. */
  readonly kill: (pid: number, code: number) => Effect.Effect<void>
  /** The running process of the box (by id or name), if any, exits with `code`. */
  readonly killBox: (box: string, code: number) => Effect.Effect<void>
  /** The next `n` boots fail with BootFailed(`reason`). */
  readonly failNextBoots: (n: number, reason?: string) => Effect.Effect<void>
  /**
   * Scripts the probes of a box (by id or name). A list is consumed one probe at a time;
   * its last entry stays. Unscripted boxes are healthy.
   */
  readonly setProbe: (box: string, script: ProbeScript | ReadonlyArray<ProbeScript>) => Effect.Effect<void>
  /** The box (by id or name) ignores its stop signal: stop has to SIGKILL it after its stop timeout. */
  readonly ignoreStopSignal: (box: string, ignore?: boolean) => Effect.Effect<void>
  /** A foreign process takes over `pid` (which must not be running) with a new start time: pid reuse. */
  readonly occupyPid: (pid: number) => Effect.Effect<FakeProcess>
  /** Writes (or with none, removes) the exit code file of the box dir, as a wrapper would. */
  readonly setExitCodeFile: (boxDir: string, code: Option.Option<number>) => Effect.Effect<void>
  /** Successful boots so far. */
  readonly bootCount: Effect.Effect<number>
  readonly calls: Effect.Effect<ReadonlyArray<RuntimeCall>>
  /** Every process ever started, oldest first. */
  readonly processes: Effect.Effect<ReadonlyArray<FakeProcess>>
  /** The running process of a box (by id or name). */
  readonly processOf: (box: string) => Effect.Effect<Option.Option<FakeProcess>>
}

/** Drives the fake processes of {@link layer}. */
export class InMemoryBoxRuntimeControl extends Context.Tag("a3s-box/InMemoryBoxRuntimeControl")<
  InMemoryBoxRuntimeControl,
  InMemoryBoxRuntimeControlShape
>() {}

interface Proc extends FakeProcess {
  readonly boxDir: string | null
  readonly exited: Deferred.Deferred<number>
}

interface State {
  readonly nextPid: number
  readonly processes: ReadonlyArray<Proc>
  readonly exitFiles: ReadonlyMap<string, number>
  readonly failBoots: { readonly remaining: number; readonly reason: string }
  readonly probes: ReadonlyMap<string, ReadonlyArray<ProbeScript>>
  readonly ignoringStop: ReadonlySet<string>
  readonly calls: ReadonlyArray<RuntimeCall>
}

/** First fake pid; start times are distinct from pids so that mixing them up shows. */
export const FIRST_PID = 1000
const startTimeOf = (pid: number, generation: number): number => 500_000 + pid * 10 + generation

const initial: State = {
  nextPid: FIRST_PID,
  processes: [],
  exitFiles: new Map(),
  failBoots: { remaining: 0, reason: "scripted boot failure" },
  probes: new Map(),
  ignoringStop: new Set(),
  calls: []
}

const matches = (box: string) => (p: Proc): boolean => p.boxId === box || p.boxName === box
const keyOf = (box: BoxRecord, map: { has: (key: string) => boolean }): string | undefined =>
  map.has(box.id) ? box.id : map.has(box.name) ? box.name : undefined

const publicView = ({ boxDir: _d, exited: _e, ...rest }: Proc): FakeProcess => rest

/** Builds the fake runtime and its control API over one shared state. */
export const make: Effect.Effect<{
  readonly runtime: BoxRuntimeShape
  readonly control: InMemoryBoxRuntimeControlShape
}> = Effect.gen(function*() {
  const state = yield* Ref.make(initial)

  const record = (call: RuntimeCall) => Ref.update(state, (s) => ({ ...s, calls: [...s.calls, call] }))

  const living = (pid: number) =>
    Effect.map(Ref.get(state), (s) => Option.fromNullable(s.processes.find((p) => p.pid === pid && p.alive)))

  /** Ends process `pid` with `code`: its box dir gets the exit code file, `exited` completes. */
  const exit = (pid: number, code: number) =>
    Effect.flatMap(
      Ref.modify(state, (s): readonly [Proc | undefined, State] => {
        const proc = s.processes.find((p) => p.pid === pid && p.alive)
        if (proc === undefined) return [undefined, s]
        const exitFiles = new Map(s.exitFiles)
        if (proc.boxDir !== null) exitFiles.set(proc.boxDir, code)
        const processes = s.processes.map((p) => (p === proc ? { ...p, alive: false, exitCode: code } : p))
        return [proc, { ...s, processes, exitFiles }]
      }),
      (proc) => (proc === undefined ? Effect.void : Deferred.succeed(proc.exited, code))
    )

  const readExitCode = (box: BoxRecord) =>
    Effect.map(Ref.get(state), (s) => Option.fromNullable(s.exitFiles.get(box.box_dir)))

  const boot = (box: BoxRecord): Effect.Effect<BootedBox, BootFailed> =>
    Effect.gen(function*() {
      const exited = yield* Deferred.make<number>()
      const outcome = yield* Ref.modify(state, (s): readonly [Proc | string, State] => {
        if (s.failBoots.remaining > 0) {
          return [s.failBoots.reason, { ...s, failBoots: { ...s.failBoots, remaining: s.failBoots.remaining - 1 } }]
        }
        if (box.cmd.length === 0) return ["its cmd is empty: give the box a command to run", s]
        let pid = s.nextPid
        while (s.processes.some((p) => p.pid === pid && p.alive)) pid += 1 // taken by occupyPid
        const proc: Proc = {
          pid,
          startTime: startTimeOf(pid, s.processes.filter((p) => p.pid === pid).length),
          boxId: box.id,
          boxName: box.name,
          boxDir: box.box_dir,
          cmd: box.cmd,
          alive: true,
          exitCode: null,
          exited
        }
        const exitFiles = new Map(s.exitFiles)
        exitFiles.delete(box.box_dir)
        return [proc, { ...s, nextPid: pid + 1, processes: [...s.processes, proc], exitFiles }]
      })
      if (typeof outcome === "string") {
        yield* record({ _tag: "BootFailed", box: box.name, boxId: box.id, reason: outcome })
        return yield* Effect.fail(new BootFailed({ box: box.name, reason: outcome }))
      }
      yield* record({ _tag: "Boot", box: box.name, boxId: box.id, pid: outcome.pid })
      return { pid: outcome.pid, pidStartTime: outcome.startTime, exited: Deferred.await(exited) }
    })

  /** Like the local runtime: verified, the pid's process must be alive with that start time; else the pid must only exist. */
  const liveness = (targets: ReadonlyArray<LivenessTarget>, verify: boolean) =>
    Effect.map(Ref.get(state), (s) =>
      targets.map(({ pid, startTime }) =>
        s.processes.some((p) => p.pid === pid && p.alive && (!verify || startTime === null || p.startTime === startTime))
      ))

  const stop = (box: BoxRecord) =>
    Effect.gen(function*() {
      const signal = Option.getOrElse(Signal.parseSignal(stopSignal(box)), () => Signal.SIGTERM)
      const target = box.pid === null ? Option.none<Proc>() : yield* living(box.pid)
      const result = yield* Option.match(Option.filter(target, (p) => box.pid_start_time === null || p.startTime === box.pid_start_time), {
        onNone: () => readExitCode(box),
        onSome: (proc) =>
          Effect.gen(function*() {
            const s = yield* Ref.get(state)
            if (keyOf(box, s.ignoringStop) === undefined) {
              yield* exit(proc.pid, Signal.exitCodeOfSignal(signal))
            } else {
              const ended = yield* Deferred.await(proc.exited).pipe(
                Effect.timeout(Duration.seconds(Math.max(0, stopTimeoutSecs(box)))),
                Effect.option
              )
              if (Option.isNone(ended)) yield* exit(proc.pid, Signal.exitCodeOfSignal(Signal.SIGKILL))
            }
            return Option.some(yield* Deferred.await(proc.exited))
          })
      })
      yield* record({ _tag: "Stop", box: box.name, boxId: box.id, pid: box.pid, signal: signal.name, result })
      return result
    })

  const probe = (box: BoxRecord): Effect.Effect<ProbeResult> =>
    Effect.gen(function*() {
      const check = box.health_check
      const script = yield* Ref.modify(state, (s): readonly [ProbeScript, State] => {
        const key = keyOf(box, s.probes)
        const queue = key === undefined ? undefined : s.probes.get(key)
        if (key === undefined || queue === undefined || queue.length === 0) return [Healthy, s]
        if (queue.length === 1) return [queue[0]!, s]
        const probes = new Map(s.probes)
        probes.set(key, queue.slice(1))
        return [queue[0]!, { ...s, probes }]
      })
      const seconds = check === null ? 1 : Math.max(1, check.timeout_secs)
      const run: Effect.Effect<ProbeResult> = check === null
        ? Effect.succeed(Unhealthy("the box has no health_check"))
        : script._tag === "Hang"
        ? Effect.never
        : script._tag === "Slow"
        ? Effect.as(Effect.sleep(Duration.seconds(script.seconds)), script.result)
        : Effect.succeed(script)
      const result = yield* run.pipe(
        Effect.timeoutTo({
          duration: Duration.seconds(seconds),
          onSuccess: (r): ProbeResult => r,
          onTimeout: (): ProbeResult => Unhealthy(`health check timed out after ${seconds}s`)
        })
      )
      yield* record({ _tag: "Probe", box: box.name, boxId: box.id, result })
      return result
    })

  /** Like the local runtime: a box whose process this runtime started for its box dir (its "wrapper" reports the exit), still running. */
  const watchExit = (box: BoxRecord) =>
    Effect.map(Ref.get(state), (s): ExitWatch => {
      if (box.pid === null) return ExitWatch.Unwatchable({ reason: "no pid is recorded" })
      if (s.exitFiles.has(box.box_dir)) return ExitWatch.Unwatchable({ reason: "its run has already ended" })
      const proc = s.processes.find((p) => p.pid === box.pid && p.alive)
      if (proc === undefined) return ExitWatch.Unwatchable({ reason: `process ${box.pid} has exited` })
      if (box.pid_start_time !== null && proc.startTime !== box.pid_start_time) {
        return ExitWatch.Unwatchable({ reason: `pid ${box.pid} is another process now` })
      }
      if (proc.boxDir !== box.box_dir) return ExitWatch.Unwatchable({ reason: "its parent is not the box's wrapper" })
      return ExitWatch.Watching({ ended: Effect.asVoid(Deferred.await(proc.exited)) })
    })

  const runtime: BoxRuntimeShape = {
    boot,
    stop,
    liveness,
    watchExit,
    exitCode: readExitCode,
    probe
  }

  const control: InMemoryBoxRuntimeControlShape = {
    kill: exit,
    killBox: (box, code) =>
      Effect.flatMap(Ref.get(state), (s) => {
        const proc = s.processes.find((p) => matches(box)(p) && p.alive)
        return proc === undefined ? Effect.void : exit(proc.pid, code)
      }),
    failNextBoots: (n, reason = "scripted boot failure") =>
      Ref.update(state, (s) => ({ ...s, failBoots: { remaining: n, reason } })),
    setProbe: (box, script) =>
      Ref.update(state, (s) => {
        const probes = new Map(s.probes)
        probes.set(box, Array.isArray(script) ? script : [script as ProbeScript])
        return { ...s, probes }
      }),
    ignoreStopSignal: (box, ignore = true) =>
      Ref.update(state, (s) => {
        const ignoringStop = new Set(s.ignoringStop)
        if (ignore) ignoringStop.add(box)
        else ignoringStop.delete(box)
        return { ...s, ignoringStop }
      }),
    occupyPid: (pid) =>
      Effect.gen(function*() {
        const exited = yield* Deferred.make<number>()
        const taken = yield* living(pid)
        if (Option.isSome(taken)) return yield* Effect.dieMessage(`occupyPid: pid ${pid} is still running`)
        return yield* Ref.modify(state, (s): readonly [FakeProcess, State] => {
          const generation = s.processes.filter((p) => p.pid === pid).length
          const proc: Proc = {
            pid,
            startTime: startTimeOf(pid, generation),
            boxId: null,
            boxName: null,
            boxDir: null,
            cmd: ["foreign"],
            alive: true,
            exitCode: null,
            exited
          }
          return [publicView(proc), { ...s, processes: [...s.processes, proc] }]
        })
      }),
    setExitCodeFile: (boxDir, code) =>
      Ref.update(state, (s) => {
        const exitFiles = new Map(s.exitFiles)
        Option.match(code, { onNone: () => exitFiles.delete(boxDir), onSome: (c) => exitFiles.set(boxDir, c) })
        return { ...s, exitFiles }
      }),
    bootCount: Effect.map(Ref.get(state), (s) => s.calls.filter((c) => c._tag === "Boot").length),
    calls: Effect.map(Ref.get(state), (s) => s.calls),
    processes: Effect.map(Ref.get(state), (s) => s.processes.map(publicView)),
    processOf: (box) =>
      Effect.map(Ref.get(state), (s) => Option.map(Option.fromNullable(s.processes.find((p) => matches(box)(p) && p.alive)), publicView))
  }

  return { runtime, control }
})

/** The fake runtime and its control, sharing one state. Build it per test. */
export const layer: Layer.Layer<BoxRuntime | InMemoryBoxRuntimeControl> = Layer.effectContext(
  Effect.map(make, ({ control, runtime }) =>
    Context.make(BoxRuntime, runtime).pipe(Context.add(InMemoryBoxRuntimeControl, control))
  )
)
