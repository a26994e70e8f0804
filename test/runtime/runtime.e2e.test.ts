import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestContext from "effect/TestContext"
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import type { BootedBox } from "../../src/runtime/BoxRuntime.js"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import * as ProcessInfo from "../../src/runtime/ProcessInfo.js"
import { Cleanup, eventually, readStat, readText, recordIn, sessionOf, statusField, tempDir } from "./support.js"

const runtime = Effect.runSync(LocalBoxRuntime.make)
const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** Boots and tracks the box for cleanup. */
const boot = async (box: BoxRecord): Promise<BootedBox> => {
  const booted = await run(runtime.boot(box))
  cleanup.track(booted.pid)
  return booted
}

const alive = (pid: number, startTime: number | null) =>
  run(Effect.map(runtime.liveness([{ pid, startTime }], true), ([answer]) => answer === true))

const box = (fields: Record<string, unknown> & { cmd: ReadonlyArray<string> }) => recordIn(tempDir(cleanup), fields)

/** The record as `run` would write it after a boot. */
const running = (record: BoxRecord, booted: BootedBox): BoxRecord => ({
  ...record,
  pid: booted.pid,
  pid_start_time: booted.pidStartTime
})

/** A process we start ourselves (not a box), tracked for cleanup. */
const foreign = (args: ReadonlyArray<string>) => {
  const child = spawn(args[0]!, args.slice(1), { detached: true, stdio: ["ignore", "pipe", "ignore"] })
  child.unref()
  cleanup.track(child.pid!)
  return child
}

describe("LocalBoxRuntime.boot", () => {
  it("starts the command detached: alive, own process group and session, no ignored signals, survives", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const booted = await boot(record)
    expect(booted.pidStartTime).toBe(readStat(booted.pid)?.startTime)
    expect(await alive(booted.pid, booted.pidStartTime)).toBe(true)
    const stat = readStat(booted.pid)!
    expect(stat.pgid).toBe(booted.pid)
    expect(sessionOf(booted.pid)).not.toBe(sessionOf(process.pid))
    expect(stat.ppid).not.toBe(process.pid) // the wrapper is its parent
    // boot returns once the command is released; its exec follows at once
    await eventually("the command replaced the wrapper's job", () => readText(`/proc/${booted.pid}/cmdline`) === "sleep\x0030\x00")
    expect(statusField(booted.pid, "SigIgn")).toBe("0000000000000000")
    // stdin is /dev/null
    expect(spawnSync("readlink", [`/proc/${booted.pid}/fd/0`]).stdout.toString().trim()).toBe("/dev/null")
  })

  it("a box booted by a process that then ends keeps running, and its exit code is still recorded", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "boot-and-exit.ts")
    const cli = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify(record)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    cli.stdout.on("data", (d: Buffer) => (out += d.toString()))
    cli.stderr.on("data", (d: Buffer) => (err += d.toString()))
    // The booting process must end by itself: nothing of the box may keep its event loop alive.
    const code = await new Promise<number | null>((resolve) => cli.on("exit", resolve))
    expect(err).toBe("")
    expect(code).toBe(0)
    const { pid, pidStartTime } = JSON.parse(out) as { pid: number; pidStartTime: number }
    cleanup.track(pid)
    expect(await alive(pid, pidStartTime)).toBe(true)
    process.kill(pid, "SIGKILL")
    await eventually("exit_code written by the orphaned wrapper", () => readText(path.join(record.box_dir, "exit_code")) !== "")
    expect(await run(runtime.exitCode(record))).toEqual(Option.some(137))
  })

  it("kill -9 of the recorded pid: exit_code says 137 and exited yields 137", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const booted = await boot(record)
    process.kill(booted.pid, "SIGKILL")
    expect(await run(booted.exited)).toBe(137)
    expect(readText(path.join(record.box_dir, "exit_code"))).toBe("137\n")
    expect(await run(runtime.exitCode(record))).toEqual(Option.some(137))
    expect(await alive(booted.pid, booted.pidStartTime)).toBe(false)
  })

  it("a clean exit is recorded as such; a stale exit_code is cleared at the next boot", async () => {
    const record = box({ cmd: ["sh", "-c", "exit 3"] })
    const first = await boot(record)
    expect(await run(first.exited)).toBe(3)
    expect(await run(runtime.exitCode(record))).toEqual(Option.some(3))
    const again = { ...record, cmd: ["sleep", "30"] }
    await boot(again)
    expect(await run(runtime.exitCode(again))).toEqual(Option.none())
  })

  it("a command that dies at once still gets its start time recorded", async () => {
    const record = box({ cmd: ["true"] })
    const booted = await boot(record)
    expect(booted.pidStartTime).not.toBeNull()
    expect(await run(booted.exited)).toBe(0)
  })

  it("applies the box's env on a small base and its workdir; the host environment stays out", async () => {
    const dir = tempDir(cleanup)
    const workdir = path.join(dir, "work dir")
    mkdirSync(workdir)
    const bashEnv = path.join(dir, "bash_env.sh")
    writeFileSync(bashEnv, "echo SOURCED-BASH-ENV\n")
    process.env["A3S_RUNTIME_TEST_LEAK"] = "leaked"
    try {
      const record = recordIn(dir, {
        cmd: ["sh", "-c", "echo \"foo=$FOO pwd=$PWD path=${PATH:+set} home=$HOME bash_env=$BASH_ENV leak=${A3S_RUNTIME_TEST_LEAK:-none}\""],
        env: { FOO: "bar baz", BASH_ENV: bashEnv },
        workdir
      })
      const booted = await boot(record)
      expect(await run(booted.exited)).toBe(0)
      const log = readText(record.console_log)
      expect(log).toBe(
        `foo=bar baz pwd=${workdir} path=set home=${process.env["HOME"]} bash_env=${bashEnv} leak=none\n`
      )
    } finally {
      delete process.env["A3S_RUNTIME_TEST_LEAK"]
    }
  })

  it("boots with the record's base_env (the environment of its creation), -e on top, never the booting process's", async () => {
    const dir = tempDir(cleanup)
    const extra = path.join(dir, "extra bin")
    mkdirSync(extra)
    // A command found only on the creator's PATH.
    writeFileSync(path.join(extra, "only-on-creator-path"), "#!/bin/sh\necho \"path=$PATH home=$HOME user=$USER foo=$FOO lang=${LANG-unset}\"\n", { mode: 0o755 })
    const record = recordIn(dir, {
      cmd: ["only-on-creator-path"],
      env: { FOO: "from -e", USER: "overridden" },
      base_env: { PATH: `${extra}:/usr/bin:/bin`, HOME: "/home/creator", USER: "creator" }
    })
    expect(process.env["HOME"]).not.toBe("/home/creator")
    const booted = await boot(record)
    expect(await run(booted.exited)).toBe(0)
    expect(readText(record.console_log)).toBe(`path=${extra}:/usr/bin:/bin home=/home/creator user=overridden foo=from -e lang=unset\n`)
  })

  it("keeps the booting process's umask for the box, and its files private whatever the umask: dir 0700, log and exit_code 0600", async () => {
    const previous = process.umask(0o022)
    try {
      const record = box({ cmd: ["sh", "-c", "umask; echo out > made-by-box; echo token-s3cret"] })
      const booted = await boot(record)
      expect(await run(booted.exited)).toBe(0)
      const mode = (file: string) => statSync(file).mode & 0o777
      expect(mode(record.box_dir)).toBe(0o700)
      expect(mode(path.dirname(record.console_log))).toBe(0o700)
      expect(mode(record.console_log)).toBe(0o600)
      expect(mode(path.join(record.box_dir, "exit_code"))).toBe(0o600)
      expect(readText(record.console_log)).toBe("0022\ntoken-s3cret\n")
      // The box's own files follow its umask (the booting process's), not the wrapper's 077.
      expect(mode(path.join(record.box_dir, "made-by-box"))).toBe(0o644)
    } finally {
      process.umask(previous)
    }
  })

  it("makes an older version's shared box dir and console log private at the next boot", async () => {
    const dir = tempDir(cleanup)
    const id = "00000000-0000-4000-8000-0000000000aa"
    const boxDir = path.join(dir, "boxes", id)
    mkdirSync(boxDir, { recursive: true, mode: 0o755 })
    chmodSync(boxDir, 0o755)
    const log = path.join(boxDir, "console.log")
    writeFileSync(log, "old output\n", { mode: 0o644 })
    chmodSync(log, 0o644)
    writeFileSync(path.join(boxDir, "exit_code"), "1\n", { mode: 0o644 })
    const record = recordIn(dir, { id, box_dir: boxDir, console_log: log, cmd: ["true"] })
    const booted = await boot(record)
    expect(await run(booted.exited)).toBe(0)
    expect(statSync(boxDir).mode & 0o777).toBe(0o700)
    expect(statSync(log).mode & 0o777).toBe(0o600)
    expect(statSync(path.join(boxDir, "exit_code")).mode & 0o777).toBe(0o600)
    expect(readText(log)).toBe("old output\n")
  })

  it("never makes a shared directory private that is not named after the box", async () => {
    const shared = tempDir(cleanup)
    chmodSync(shared, 0o755)
    const record = recordIn(shared, { box_dir: shared, console_log: path.join(shared, "console.log"), cmd: ["true"] })
    const booted = await boot(record)
    expect(await run(booted.exited)).toBe(0)
    expect(statSync(shared).mode & 0o777).toBe(0o755)
  })

  it("runs in box_dir when there is no workdir, creating box_dir and the log directory", async () => {
    const record = box({ cmd: ["pwd"] })
    const booted = await boot(record)
    expect(await run(booted.exited)).toBe(0)
    expect(readText(record.console_log)).toBe(`${record.box_dir}\n`)
  })

  it("appends stdout and stderr to console_log, keeping what was there", async () => {
    const record = box({ cmd: ["sh", "-c", "echo out; echo err >&2"] })
    mkdirSync(path.dirname(record.console_log), { recursive: true })
    writeFileSync(record.console_log, "earlier run\n")
    expect(await run((await boot(record)).exited)).toBe(0)
    expect(await run((await boot(record)).exited)).toBe(0)
    expect(readText(record.console_log)).toBe("earlier run\nout\nerr\nout\nerr\n")
  })

  it("bash's job notices do not reach the console log", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const booted = await boot(record)
    process.kill(booted.pid, "SIGKILL")
    expect(await run(booted.exited)).toBe(137)
    expect(readText(record.console_log)).toBe("")
  })

  it("fails with a clear error for a missing executable, a missing workdir, an empty cmd", async () => {
    const failure = async (record: BoxRecord) => {
      const exit = await Effect.runPromiseExit(runtime.boot(record))
      expect(Exit.isFailure(exit)).toBe(true)
      return Exit.isFailure(exit) ? String(exit.cause) : ""
    }
    expect(await failure(box({ cmd: ["no-such-binary-a3s"] }))).toContain("executable no-such-binary-a3s not found in PATH")
    expect(await failure(box({ cmd: ["/nonexistent/bin/x"] }))).toContain("/nonexistent/bin/x is not an executable file")
    expect(await failure(box({ cmd: ["true"], workdir: "/nonexistent/work" }))).toContain(
      "working directory /nonexistent/work does not exist"
    )
    expect(await failure(box({ cmd: [] }))).toContain("cmd is empty")
  })
})

describe("LocalBoxRuntime.boot, many at once", () => {
  /**
   * Boots every record at once (as the monitor's restart cycle does: their directories exist,
   * so every boot reaches its spawn in the same turn of the event loop), gated, tracking each pid.
   */
  const bootAll = async (records: ReadonlyArray<BoxRecord>): Promise<ReadonlyArray<BootedBox>> => {
    for (const r of records) mkdirSync(path.dirname(r.console_log), { recursive: true })
    const booted = await run(Effect.forEach(records, (r) => runtime.boot(r, { gated: true }), { concurrency: "unbounded" }))
    for (const b of booted) cleanup.track(b.pid)
    return booted
  }
  const cmdlineOf = (pid: number): ReadonlyArray<string> => readText(`/proc/${pid}/cmdline`).split("\0")

  it("boxes with the same environment share one launcher; each gets its own pid, group, cwd, env, log and exit code", async () => {
    const dir = tempDir(cleanup)
    const records = Array.from({ length: 6 }, (_, i) => {
      const workdir = path.join(dir, `work ${i}`)
      mkdirSync(workdir)
      // Boxes 0-3 share an environment; 4 and 5 have one each.
      const env = i < 4 ? { SHARED: "yes" } : { ONLY: String(i) }
      const marker = `a3s-batch-marker-${i}`
      return recordIn(dir, {
        cmd: ["sh", "-c", `echo "${"$"}{SHARED:-} ${"$"}{ONLY:-} ${"$"}PWD"; exec sleep 30`, marker],
        env,
        workdir
      })
    })
    const booted = await bootAll(records)
    expect(new Set(booted.map((b) => b.pid)).size).toBe(6)
    // Before release: each job waits at its gate with its own process group, the command not run yet.
    for (const b of booted) {
      expect(readStat(b.pid)?.pgid).toBe(b.pid)
      expect(readText(records[booted.indexOf(b)]!.console_log)).toBe("")
    }
    // One launcher started the wrappers of boxes 0-3: each wrapper's command line names all four.
    for (const b of booted.slice(0, 4)) {
      const argv = cmdlineOf(readStat(b.pid)!.ppid)
      expect(argv).toContain(LocalBoxRuntime.WRAPPER_NAME)
      for (let i = 0; i < 4; i++) expect(argv).toContain(`a3s-batch-marker-${i}`)
      expect(argv).not.toContain("a3s-batch-marker-4")
    }
    for (const b of booted) await run(b.release!)
    for (const [i, record] of records.entries()) {
      const pid = booted[i]!.pid
      await eventually(`box ${i} ran`, () => readText(record.console_log).endsWith("\n") && cmdlineOf(pid)[0] === "sleep")
      const env = i < 4 ? "yes " : ` ${i}`
      expect(readText(record.console_log)).toBe(`${env} ${record.workdir}\n`)
      // Nothing inherited from the launcher: no gate (socket), no other box's log.
      // `sleep` opens and closes locale files as it starts: an fd gone between the listing and its readlink was one of those.
      const open = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/${pid}/fd/${fd}`)]
        } catch {
          return []
        }
      })
      expect(open.filter((target) => target.startsWith("socket:"))).toEqual([])
      expect(open.filter((target) => target.endsWith("console.log"))).toEqual([record.console_log, record.console_log])
    }
    for (const b of booted) process.kill(b.pid, "SIGKILL")
    for (const [i, b] of booted.entries()) {
      expect(await run(b.exited)).toBe(137)
      expect(readText(path.join(records[i]!.box_dir, "exit_code"))).toBe("137\n")
    }
  })

  it("an abandoned box of a batch never runs its command and leaves no exit code; the others run", async () => {
    const dir = tempDir(cleanup)
    const flag = (i: number) => path.join(dir, `ran-${i}`)
    const records = [0, 1, 2].map((i) => recordIn(dir, { cmd: ["sh", "-c", `touch '${flag(i)}'; exec sleep 30`] }))
    const booted = await bootAll(records)
    await run(booted[1]!.abandon!)
    await run(booted[1]!.release!) // too late: abandon won
    await run(booted[0]!.release!)
    await run(booted[2]!.release!)
    await eventually("boxes 0 and 2 ran", () => readText(flag(0)) === "" && readText(flag(2)) === "" && existsSync(flag(0)) && existsSync(flag(2)))
    await eventually("the abandoned job is gone", () => readStat(booted[1]!.pid) === undefined || readStat(booted[1]!.pid)?.state === "Z")
    expect(existsSync(flag(1))).toBe(false)
    expect(existsSync(path.join(records[1]!.box_dir, "exit_code"))).toBe(false)
    expect(await alive(booted[0]!.pid, booted[0]!.pidStartTime)).toBe(true)
  })

  it("a box whose command cannot start fails alone; the rest of its batch boots", async () => {
    const dir = tempDir(cleanup)
    const good = recordIn(dir, { cmd: ["sleep", "30"] })
    const missing = recordIn(dir, { cmd: ["no-such-command-a3s-test"] })
    const results = await run(Effect.forEach([good, missing], (r) => Effect.either(runtime.boot(r)), { concurrency: "unbounded" }))
    expect(results[0]!._tag).toBe("Right")
    if (results[0]!._tag === "Right") cleanup.track(results[0]!.right.pid)
    expect(results[1]!._tag).toBe("Left")
    if (results[1]!._tag === "Left") expect(results[1]!.left.reason).toContain("no-such-command-a3s-test")
  })
})

describe("LocalBoxRuntime.boot, a launcher started ahead of need", () => {
  /** Spare launchers of this process for the environment of the test's boxes (FOO=foo). */
  const spares = (): ReadonlyArray<number> =>
    readdirSync("/proc").filter((e) => /^[0-9]+$/.test(e)).map(Number).filter((pid) => {
      const argv = readText(`/proc/${pid}/cmdline`).split("\0")
      return readStat(pid)?.ppid === process.pid && argv.includes(LocalBoxRuntime.WRAPPER_NAME) && argv.includes("spare") &&
        readText(`/proc/${pid}/environ`).split("\0").includes("FOO=foo")
    })
  const wrapperArgvOf = (pid: number): ReadonlyArray<string> => readText(`/proc/${readStat(pid)!.ppid}/cmdline`).split("\0")

  it("a process that boots again and again boots a lone box with a spare launcher: same env, cwd, log, exit code", async () => {
    const own = Effect.runSync(LocalBoxRuntime.make)
    const dir = tempDir(cleanup)
    const lone = (i: number) => {
      const workdir = path.join(dir, `w ${i}`)
      mkdirSync(workdir)
      return recordIn(dir, { cmd: ["sh", "-c", `echo "${"$"}FOO ${"$"}PWD ${"$"}0"; exec sleep 30`, `arg ${i}`], env: { FOO: "foo" }, workdir })
    }
    const bootOwn = async (record: BoxRecord) => {
      const booted = await run(own.boot(record))
      cleanup.track(booted.pid)
      return booted
    }
    await bootOwn(lone(0))
    await bootOwn(lone(1))
    await eventually("a spare launcher is ready", () => spares().length === 1)
    for (const pid of spares()) cleanup.track(pid)
    const record = lone(2)
    const booted = await bootOwn(record)
    expect(wrapperArgvOf(booted.pid)).toContain("spare")
    await eventually("the box ran", () => readText(record.console_log).endsWith("\n"))
    expect(readText(record.console_log)).toBe(`foo ${record.workdir} arg 2\n`)
    expect(readStat(booted.pid)?.pgid).toBe(booted.pid)
    expect(statusField(booted.pid, "SigIgn")).toBe("0000000000000000")
    process.kill(booted.pid, "SIGKILL")
    expect(await run(booted.exited)).toBe(137)
    expect(readText(path.join(record.box_dir, "exit_code"))).toBe("137\n")
    // A spare that died meanwhile is not relied upon: the box is launched as usual.
    await eventually("a new spare launcher is ready", () => spares().length === 1)
    for (const pid of spares()) process.kill(pid, "SIGKILL")
    const after = await bootOwn(lone(3))
    expect(await alive(after.pid, after.pidStartTime)).toBe(true)
    expect(wrapperArgvOf(after.pid)).not.toContain("spare")
  })
})

describe("LocalBoxRuntime.boot, boxes of different environments", () => {
  const environOf = (pid: number): ReadonlyArray<string> => readText(`/proc/${pid}/environ`).split("\0")

  it("each box boots with its own fixed environment, whether launched in a batch, alone, or by a spare of another box's environment", async () => {
    const own = Effect.runSync(LocalBoxRuntime.make)
    const dir = tempDir(cleanup)
    const of = (who: string) =>
      recordIn(dir, { cmd: ["sleep", "30"], base_env: { PATH: `/opt/${who}/bin:/usr/bin:/bin`, HOME: `/home/${who}` } })
    const alice = of("alice")
    const bob = of("bob")
    /** Wrappers of the boxes booted (a spare that took a box is its wrapper): not spares any more. */
    const wrappers = new Set<number>()
    const bootOwn = async (record: BoxRecord) => {
      const booted = await run(own.boot(record))
      cleanup.track(booted.pid)
      wrappers.add(readStat(booted.pid)!.ppid)
      return booted
    }
    // Read once the box's command runs: while a process execs, its environ reads as empty.
    const expectEnv = async (pid: number, who: string) => {
      await eventually("execed", () => readText(`/proc/${pid}/cmdline`).startsWith("sleep"))
      expect(environOf(pid)).toContain(`HOME=/home/${who}`)
      expect(environOf(pid)).toContain(`PATH=/opt/${who}/bin:/usr/bin:/bin`)
    }
    /** Spare launchers (not yet used) of this process for alice's or bob's environment (other tests' runtimes have their own). */
    const spares = (): ReadonlyArray<number> =>
      readdirSync("/proc").filter((e) => /^[0-9]+$/.test(e)).map(Number).filter((pid) =>
        !wrappers.has(pid) && readStat(pid)?.ppid === process.pid && readText(`/proc/${pid}/cmdline`).split("\0").includes("spare") &&
        environOf(pid).some((v) => v === "HOME=/home/alice" || v === "HOME=/home/bob")
      )
    // A batch: one launcher per environment.
    for (const r of [alice, bob]) mkdirSync(path.dirname(r.console_log), { recursive: true })
    const batch = await run(Effect.forEach([alice, bob], (r) => own.boot(r), { concurrency: "unbounded" }))
    for (const b of batch) cleanup.track(b.pid)
    await eventually("both execed", () => batch.every((b) => readText(`/proc/${b.pid}/cmdline`).startsWith("sleep")))
    await expectEnv(batch[0]!.pid, "alice")
    await expectEnv(batch[1]!.pid, "bob")
    // Lone boots (as crash restarts are): a spare is kept for the latest one's environment (bob's).
    await bootOwn(alice)
    await bootOwn(bob)
    await eventually("a spare launcher is ready", () => spares().length === 1)
    for (const pid of spares()) cleanup.track(pid)
    expect(environOf(spares()[0]!)).toContain("HOME=/home/bob")
    // Alice's next boot does not take bob's spare; bob's does.
    const aliceAgain = await bootOwn(alice)
    await expectEnv(aliceAgain.pid, "alice")
    expect(readText(`/proc/${readStat(aliceAgain.pid)!.ppid}/cmdline`).split("\0")).not.toContain("spare")
    await eventually("a spare for alice's environment", () => spares().some((pid) => environOf(pid).includes("HOME=/home/alice")))
    for (const pid of spares()) cleanup.track(pid)
    const aliceSpared = await bootOwn(alice)
    expect(readText(`/proc/${readStat(aliceSpared.pid)!.ppid}/cmdline`).split("\0")).toContain("spare")
    await eventually("execed", () => readText(`/proc/${aliceSpared.pid}/cmdline`).startsWith("sleep"))
    await expectEnv(aliceSpared.pid, "alice")
  })
})

describe("LocalBoxRuntime.watchExit (issue 13: the end of a box this process is not the parent of)", () => {
  /** Arms the watch in a scope that stays open until `close`; `ended` settles when the watch says so. */
  const watch = async (record: BoxRecord) => {
    let settled = false
    const scope = Effect.runSync(Scope.make())
    const result = await run(Scope.extend(runtime.watchExit(record), scope))
    const ended = result._tag === "Watching"
      ? run(result.ended).then(() => { settled = true })
      : Promise.resolve()
    return { result, ended, settled: () => settled, close: () => run(Scope.close(scope, Exit.void)) }
  }

  it("a box whose parent is its wrapper: watched; the wrapper's exit code ends the wait, whoever killed it", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const rec = running(record, await boot(record))
    const w = await watch(rec)
    try {
      // Unwatchable: its reason is what the failure shows.
      expect(w.result._tag === "Unwatchable" ? `Unwatchable: ${w.result.reason}` : w.result._tag).toBe("Watching")
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(w.settled()).toBe(false)
      process.kill(rec.pid!, "SIGKILL")
      await w.ended
      // The watch ends when the file is there; the wrapper's one write may follow its creation a moment later.
      await eventually("the wrapper's exit code 137", () => readText(path.join(rec.box_dir, "exit_code")) === "137\n", 5_000)
    } finally {
      await w.close()
    }
  })

  it("unwatchable: a run that has already ended, a pid reused by another process, a process no wrapper of the box started", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const booted = await boot(record)
    const rec = running(record, booted)
    process.kill(rec.pid!, "SIGKILL")
    await run(booted.exited)
    const ended = await watch(rec)
    await ended.close()
    expect(ended.result).toMatchObject({ _tag: "Unwatchable", reason: "its run has already ended" })

    const stranger = foreign(["sleep", "30"])
    const startTime = readStat(stranger.pid!)!.startTime
    const other = box({ cmd: ["sleep", "30"] })
    mkdirSync(other.box_dir, { recursive: true })
    const notWrapped = await watch({ ...other, pid: stranger.pid!, pid_start_time: startTime })
    await notWrapped.close()
    expect(notWrapped.result._tag).toBe("Unwatchable")
    expect(notWrapped.result._tag === "Unwatchable" && notWrapped.result.reason).toMatch(/is not the box's wrapper/)
    const reused = await watch({ ...other, pid: stranger.pid!, pid_start_time: startTime + 1 })
    await reused.close()
    expect(reused.result).toMatchObject({ _tag: "Unwatchable", reason: `pid ${stranger.pid} is another process now` })
  })
})

describe("LocalBoxRuntime.stop", () => {
  it("sends SIGTERM to the process group and returns 143", async () => {
    const record = box({ cmd: ["sh", "-c", "sleep 30 & wait"] })
    const booted = await boot(record)
    await eventually("the box's child sleep", () => readText(`/proc/${booted.pid}/task/${booted.pid}/children`).trim() !== "")
    const child = Number(readText(`/proc/${booted.pid}/task/${booted.pid}/children`).trim())
    cleanup.track(child)
    expect(await run(runtime.stop(running(record, booted)))).toEqual(Option.some(143))
    expect(await alive(booted.pid, booted.pidStartTime)).toBe(false)
    await eventually("the group member is gone too", () => readStat(child) === undefined || readStat(child)!.state === "Z")
  })

  it("uses the record's stop signal (name without SIG, or number)", async () => {
    for (const stop_signal of ["INT", "2", "sigint"]) {
      const record = box({ cmd: ["sleep", "30"], stop_signal })
      const booted = await boot(record)
      expect(await run(runtime.stop(running(record, booted)))).toEqual(Option.some(130))
    }
  })

  it("escalates to SIGKILL after stop_timeout for a box that ignores SIGTERM", async () => {
    const record = box({ cmd: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"], stop_timeout: 1 })
    const booted = await boot(record)
    await eventually("trap installed", () => readText(record.console_log).includes("ready"))
    expect(await run(runtime.stop(running(record, booted)))).toEqual(Option.some(137))
    expect(await alive(booted.pid, booted.pidStartTime)).toBe(false)
  })

  it("stops a paused (SIGSTOPped) box, whose wrapper kept waiting meanwhile", async () => {
    const record = box({ cmd: ["sleep", "30"] })
    const booted = await boot(record)
    process.kill(booted.pid, "SIGSTOP")
    await eventually("stopped", () => readStat(booted.pid)?.state === "T")
    expect(await alive(booted.pid, booted.pidStartTime)).toBe(true)
    expect(await run(runtime.exitCode(record))).toEqual(Option.none())
    expect(await run(runtime.stop(running(record, booted)))).toEqual(Option.some(143))
  })

  it("a box that is already dead is not an error: its recorded exit code comes back", async () => {
    const record = box({ cmd: ["sh", "-c", "exit 5"] })
    const booted = await boot(record)
    expect(await run(booted.exited)).toBe(5)
    expect(await run(runtime.stop(running(record, booted)))).toEqual(Option.some(5))
    expect(await run(runtime.stop({ ...record, pid: null }))).toEqual(Option.some(5))
  })

  it("never signals a pid whose start time does not match the record (pid reuse)", async () => {
    const other = foreign(["sleep", "30"])
    const pid = other.pid!
    const startTime = readStat(pid)!.startTime
    const record = box({ cmd: ["sleep", "30"], pid, pid_start_time: startTime + 1 })
    expect(await run(runtime.stop(record))).toEqual(Option.none())
    expect(await alive(pid, startTime)).toBe(true)
  })
})

describe("LocalBoxRuntime.isAlive", () => {
  it("is false for a zombie, and for a live pid with another start time", async () => {
    // `sleep 0.3 &` outlives the exec: its new parent (sleep 30) never reaps it.
    const parent = foreign(["bash", "-c", "sleep 0.3 & echo $!; exec sleep 30"])
    const zombie = await new Promise<number>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))))
    await eventually("the child is a zombie", () => readStat(zombie)?.state === "Z")
    expect(await alive(zombie, null)).toBe(false)
    expect(await alive(zombie, readStat(zombie)!.startTime)).toBe(false)
    const parentStart = readStat(parent.pid!)!.startTime
    expect(await alive(parent.pid!, parentStart)).toBe(true)
    expect(await alive(parent.pid!, null)).toBe(true)
    expect(await alive(parent.pid!, parentStart + 1)).toBe(false)
    expect(await alive(999_999_999, null)).toBe(false)
    expect(await alive(0, null)).toBe(false)
    expect(await alive(-1, null)).toBe(false)
  })

  it("liveness without verify tells which pids exist (zombies included)", async () => {
    const other = foreign(["sleep", "30"])
    const targets = [other.pid!, 999_999_999, 0].map((pid) => ({ pid, startTime: null }))
    expect(await run(runtime.liveness(targets, false))).toEqual([true, false, false])
  })
})

describe("LocalBoxRuntime.probe", () => {
  /** A box whose directory exists, as it does once the box was booted. */
  const withCheck = (cmd: ReadonlyArray<string>, timeout_secs = 5) => {
    const record = box({ cmd: ["sleep", "30"], env: { PROBE_VAR: "from-env" }, health_check: { cmd, timeout_secs } })
    mkdirSync(record.box_dir, { recursive: true })
    return record
  }

  it("exit 0 is healthy, with the box's env", async () => {
    expect(await run(runtime.probe(withCheck(["sh", "-c", "test \"$PROBE_VAR\" = from-env"])))).toEqual({ _tag: "Healthy" })
  })

  it("runs in the box's fixed environment (base_env, env on top), not the probing process's", async () => {
    const record = { ...withCheck(["sh", "-c", "test \"$PROBE_VAR $HOME $PATH\" = \"from-env /home/creator /opt/creator/bin:/usr/bin:/bin\""]), base_env: { HOME: "/home/creator", PATH: "/opt/creator/bin:/usr/bin:/bin" } }
    expect(await run(runtime.probe(record))).toEqual({ _tag: "Healthy" })
  })

  it("a non-zero exit is unhealthy, with the code and the last output line", async () => {
    const result = await run(runtime.probe(withCheck(["sh", "-c", "echo first; echo connection refused >&2; exit 7"])))
    expect(result).toEqual({ _tag: "Unhealthy", reason: "health check exited with code 7: connection refused" })
  })

  it("large output does not wedge the probe", async () => {
    const result = await run(runtime.probe(withCheck(["sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' x; exit 0"])))
    expect(result).toEqual({ _tag: "Healthy" })
  })

  it("a missing binary is unhealthy, not an error", async () => {
    const result = await run(runtime.probe(withCheck(["no-such-probe-a3s"])))
    expect(result._tag).toBe("Unhealthy")
    expect(result._tag === "Unhealthy" && result.reason).toContain("cannot run health check no-such-probe-a3s")
  })

  it("a probe over its timeout is unhealthy and its whole process group is killed", async () => {
    const dir = tempDir(cleanup)
    const pids = path.join(dir, "pids")
    const record = withCheck(["sh", "-c", `sleep 30 & echo "$$ $!" > '${pids}'; wait`], 1)
    const result = await run(runtime.probe(record))
    expect(result).toEqual({ _tag: "Unhealthy", reason: "health check timed out after 1s" })
    const [shell, sleeper] = readText(pids).trim().split(" ").map(Number) as [number, number]
    cleanup.track(sleeper)
    expect(readStat(shell)).toBeUndefined() // killed and reaped
    await eventually("the probe's child is gone", () => !ProcessInfo.isAliveGiven(Option.fromNullable(readStat(sleeper)), null))
  })

  it("no health check or an empty one is unhealthy with a reason", async () => {
    expect(await run(runtime.probe(box({ cmd: ["true"] })))).toEqual({ _tag: "Unhealthy", reason: "the box has no health_check" })
    expect((await run(runtime.probe(withCheck([]))))._tag).toBe("Unhealthy")
  })
})

describe("LocalBoxRuntime under TestClock", () => {
  it("keeps real time for process timeouts, even in an it.effect-style TestClock environment", async () => {
    const record = box({ cmd: ["sleep", "30"], health_check: { cmd: ["sleep", "30"], timeout_secs: 1 } })
    mkdirSync(record.box_dir, { recursive: true })
    // TestContext replaces the clock with a TestClock that never advances by itself.
    const result = await Effect.runPromise(runtime.probe(record).pipe(Effect.provide(TestContext.TestContext)))
    expect(result).toEqual({ _tag: "Unhealthy", reason: "health check timed out after 1s" })
  })
})
