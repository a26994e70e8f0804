/**
 * Issues 10 and 16, the state file's attacks against the built CLI and monitor:
 * - one bad record is one bad record: the others are supervised, it is kept, logged once, listed, counted;
 * - a boxes.json that is a FIFO, a directory or a device is refused and never blocks the monitor;
 * - a dangling symlink is an error (never an empty fleet, nothing written); a symlink to a file is followed;
 * - bytes that are not UTF-8 make the file corrupt, reported with the byte offset, never rewritten;
 * - a writer SIGKILLed inside the lock does not make the next one wait for the lock to go stale;
 * - ps, inspect and logs work on a read-only home.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot } from "../state/support.js"
import { bin, CliHome, type Lab, labs, type MonitorProcess, plain, record, requireBuild, waitFor } from "./support.js"

beforeAll(requireBuild)

const homes = labs()
afterAll(() => homes.cleanupAll())

const metricsUrl = (monitor: MonitorProcess) =>
  waitFor("the bound metrics address", () => {
    for (const line of monitor.logs) {
      const match = /metrics: serving (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(line.message)
      if (match !== null) return match[1]!
    }
    return undefined
  })

const get = async (url: string): Promise<{ status: number; body: string }> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  return { status: response.status, body: await response.text() }
}

const sample = (body: string, name: string): number | undefined => {
  const line = body.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

/** A box that restarts for ever (dead now, policy always), running a marked loop once booted. */
const restartable = (lab: Lab, i: number) =>
  record(i, {
    status: "dead",
    exit_code: 1,
    cmd: lab.markedCmd(`box${i}`, "while :; do sleep 1; done"),
    box_dir: path.join(lab.home, "boxes", `b${i}`),
    console_log: path.join(lab.home, "boxes", `b${i}`, "console.log")
  })

describe("one bad record is one bad record", () => {
  // Moved here from corruptState.e2e.test.ts: these used to make the whole file corrupt.
  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a record without box_dir", { ...record(7), box_dir: undefined }, `record id "${record(7).id}" (index 1): box_dir is missing`],
    ["pid a string", record(7, { status: "running", pid: "1234" }), `record id "${record(7).id}" (index 1): pid expected number, actual "1234"`],
    ["cmd a string, restart_count a bool", record(7, { cmd: "sleep 1000", restart_count: true }), `record id "${record(7).id}" (index 1): cmd expected ReadonlyArray<string>, actual "sleep 1000"`],
    ["not an object", "box1", "record at index 1: is a string, not an object"]
  ]

  it.each(bad)("%s: the other boxes are supervised; it is kept in its place, logged once, listed by ps -a, counted by /metrics", { timeout: 90_000 }, async (_, element, problem) => {
    const lab = homes.make()
    const elementText = JSON.stringify(element)
    writeFileSync(lab.stateFile, JSON.stringify([restartable(lab, 1), element, restartable(lab, 2)], null, 2))
    const monitor = await lab.startMonitor(["--interval", "1", "--metrics-addr", "127.0.0.1:0"])
    const url = await metricsUrl(monitor)
    // both good boxes are restarted (the monitor rewrote the file)
    await waitFor("box1 and box2 to be restarted", () => lab.box("box1")?.status === "running" && lab.box("box2")?.status === "running", 30_000)
    const file = JSON.parse(readFileSync(lab.stateFile, "utf8")) as Array<unknown>
    expect(file).toHaveLength(3)
    expect(JSON.stringify(file[1])).toBe(elementText)
    // logged once, in one line naming the record and the field
    const lines = () => monitor.logs.filter((l) => l.message.includes("not supervised"))
    await waitFor("the invalid record's log line", () => lines().length > 0)
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect(lines().map((l) => [l.level, l.message])).toStrictEqual([[
      "warn",
      `monitor: state file ${lab.stateFile}: ${problem}; it is kept as it is and not supervised: fix or remove it`
    ]])
    expect(monitor.logs.some((l) => l.message.includes("is corrupt"))).toBe(false)
    // counted apart
    const metrics = await get(`${url}/metrics`)
    expect(sample(metrics.body, "a3s_box_invalid_records")).toBe(1)
    expect(sample(metrics.body, "a3s_box_total")).toBe(2)
    expect(sample(metrics.body, "a3s_box_monitor_state_ok")).toBe(1)
    // ps -a lists it as invalid with the reason; plain ps does not
    const ps = await lab.cli("ps", "-a", "--quiet")
    expect(ps.code).toBe(0)
    const row = plain(ps.stdout).split("\n").find((l) => / invalid /.test(l))
    expect(row).toMatch(new RegExp(`invalid\\s+index 1: ${problem.split(": ").slice(1).join(": ").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`))
    expect(plain((await lab.cli("ps", "--quiet")).stdout)).not.toContain("invalid")
    const json = JSON.parse((await lab.cli("ps", "-a", "--format", "json", "--quiet")).stdout) as Array<Record<string, unknown>>
    expect(json.filter((r) => r["status"] === "invalid")).toStrictEqual([{ status: "invalid", index: 1, problem, record: JSON.parse(elementText) }])
    // a command's write keeps it too
    await lab.cli("stop", "box2")
    expect(JSON.stringify((JSON.parse(readFileSync(lab.stateFile, "utf8")) as Array<unknown>)[1])).toBe(elementText)
    await monitor.kill("SIGTERM")
    await lab.cli("rm", "-f", "box1", "box2")
  })
})

describe("a boxes.json that is not a regular file", () => {
  const kinds: ReadonlyArray<readonly [string, (lab: Lab) => void, string]> = [
    ["a FIFO", (lab) => execFileSync("mkfifo", [lab.stateFile]), "it is a FIFO (named pipe), not a regular file"],
    ["a directory", (lab) => mkdirSync(lab.stateFile), "it is a directory, not a regular file"],
    ["a symlink to /dev/zero", (lab) => symlinkSync("/dev/zero", lab.stateFile), "its target /dev/zero is a character device, not a regular file"]
  ]

  it.each(kinds)("%s: commands fail naming it; the monitor keeps answering /healthz and /metrics with state_ok 0", { timeout: 60_000 }, async (_, make, what) => {
    const lab = homes.make()
    make(lab)
    // Not lab.cli: it reads the state file afterwards, and this test process would block on it.
    const cli = (...args: ReadonlyArray<string>) => CliHome.finish(lab.spawn(args))
    for (const args of [["ps", "-a"], ["run", "-d", "--", "sleep", "300"]]) {
      const result = await cli(...args)
      expect(result.code, args.join(" ")).toBe(1)
      expect(plain(result.stderr), args.join(" ")).toBe(`Error: cannot read state file ${lab.stateFile}: ${what}; nothing was read or written. Move it away, then retry\n`)
    }
    expect(lab.boxDirs()).toEqual([])
    const monitor = await lab.startMonitor(["--interval", "1", "--metrics-addr", "127.0.0.1:0"])
    const url = await metricsUrl(monitor)
    await waitFor("the monitor's report", () => monitor.logs.find((l) => l.message.includes(what)))
    for (let i = 0; i < 3; i++) {
      expect((await get(`${url}/healthz`)).status).toBe(200)
      const metrics = await get(`${url}/metrics`)
      expect(sample(metrics.body, "a3s_box_monitor_state_ok")).toBe(0)
      expect(sample(metrics.body, "a3s_box_total")).toBeUndefined()
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    await monitor.kill("SIGTERM")
    // the lab's cleanup reads the state file
    rmSync(lab.stateFile, { recursive: true, force: true })
  })
})

describe("symbolic links", () => {
  it("a dangling link is an error naming its target: no empty fleet, nothing written, the link stays", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    const target = path.join(lab.home, "elsewhere", "boxes.json")
    symlinkSync(target, lab.stateFile)
    const message = `Error: cannot read state file ${lab.stateFile}: it is a symbolic link to ${target}, which does not exist; nothing was read or written. Restore ${target} or remove the link, then retry\n`
    for (const args of [["ps", "-a"], ["run", "-d", "--name", "new", "--", "sleep", "300"]]) {
      const result = await lab.cli(...args)
      expect(result.code, args.join(" ")).toBe(1)
      expect(plain(result.stderr)).toBe(message)
    }
    expect(lstatSync(lab.stateFile).isSymbolicLink()).toBe(true)
    expect(existsSync(target)).toBe(false)
    expect(lab.boxDirs()).toEqual([])
    const monitor = await lab.startMonitor(["--interval", "1", "--metrics-addr", "127.0.0.1:0"])
    const url = await metricsUrl(monitor)
    await waitFor("the monitor's report", () => monitor.logs.find((l) => l.message.includes("which does not exist")))
    const metrics = await get(`${url}/metrics`)
    expect(sample(metrics.body, "a3s_box_monitor_state_ok")).toBe(0)
    expect(sample(metrics.body, "a3s_box_total")).toBeUndefined()
    await monitor.kill("SIGTERM")
  })

  it("a link to a regular file is followed: the target is updated, the link stays a link", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    mkdirSync(path.join(lab.home, "elsewhere"))
    const target = path.join(lab.home, "elsewhere", "state.json")
    writeFileSync(target, JSON.stringify([record(1)], null, 2), { mode: 0o600 })
    symlinkSync(target, lab.stateFile)
    const box = await lab.runDetached("--quiet", "--name", "web", "--", ...lab.markedCmd("web", "while :; do sleep 1; done"))
    expect(lstatSync(lab.stateFile).isSymbolicLink()).toBe(true)
    expect(readlinkSync(lab.stateFile)).toBe(target)
    const names = (JSON.parse(readFileSync(target, "utf8")) as Array<{ name: string }>).map((b) => b.name)
    expect(names).toStrictEqual(["box1", "web"])
    expect((await lab.cli("rm", "-f", box.id)).code).toBe(0)
    expect(lstatSync(lab.stateFile).isSymbolicLink()).toBe(true)
    expect((JSON.parse(readFileSync(target, "utf8")) as Array<{ name: string }>).map((b) => b.name)).toStrictEqual(["box1"])
  })
})

describe("bytes that are not UTF-8", () => {
  const cases: ReadonlyArray<readonly [string, () => Buffer]> = [
    ["go\\xffd in a known field", () => {
      const text = JSON.stringify([record(1, { name: "goXd" })], null, 2)
      const at = text.indexOf("goXd") + 2
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.of(0xff), Buffer.from(text.slice(at + 1))])
    }],
    ["\\xc3\\x28 in an unknown field", () => {
      const text = JSON.stringify([record(1, { x_note: "XY" })], null, 2)
      const at = text.indexOf("XY")
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.of(0xc3, 0x28), Buffer.from(text.slice(at + 2))])
    }]
  ]

  it.each(cases)("%s: corrupt, reported with the byte offset, never rewritten", { timeout: 60_000 }, async (_, make) => {
    const lab = homes.make()
    const bytes = make()
    writeFileSync(lab.stateFile, bytes)
    const offset = [...bytes].findIndex((b) => b === 0xff || b === 0xc3)
    for (const args of [["ps", "-a"], ["run", "-d", "--", "sleep", "300"], ["stop", "box1"]]) {
      const result = await lab.cli(...args)
      expect(result.code).toBe(1)
      expect(plain(result.stderr)).toBe(
        `Error: state file ${lab.stateFile} is corrupt and was left untouched: not valid UTF-8 at byte offset ${offset} (0x${bytes[offset]!.toString(16)}). Repair or move it away, then retry.\n`
      )
    }
    expect(readFileSync(lab.stateFile).equals(bytes)).toBe(true)
  })
})

describe("a writer SIGKILLed inside the lock", () => {
  it("the next run -d takes the abandoned lock over instead of waiting ~10 s for it to go stale", { timeout: 90_000 }, async () => {
    const lab = homes.make()
    const holder: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", path.join(repoRoot, "test/state/worker.ts"), "hold", lab.home],
      { cwd: repoRoot, env: lab.env, stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    holder.stdout!.on("data", (chunk) => (output += String(chunk)))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.once("exit", (_code, signal) => resolve(signal)))
    await waitFor("the holder to take the lock", () => output.includes("locked"), 60_000)
    holder.kill("SIGKILL") // our unreaped child
    expect(await exited).toBe("SIGKILL")
    expect(existsSync(path.join(lab.home, "boxes.json.lk"))).toBe(true)
    const start = performance.now()
    const box = await lab.runDetached("--quiet", "--name", "next", "--", ...lab.markedCmd("next", "while :; do sleep 1; done"))
    const ms = performance.now() - start
    console.log(`state attacks: run -d after a holder SIGKILLed inside the lock took ${Math.round(ms)} ms`)
    expect(box.name).toBe("next")
    // the stale rule alone waits 8-10 s (the holder refreshed its lock every 2 s)
    expect(ms).toBeLessThan(6_000)
  })
})

/**
 * A read-only home: the CLI runs in a private mount namespace where the home is bind-mounted
 * read-only (root ignores mode bits, so a chmod would prove nothing). Needs unshare and mount
 * (root); off CI the test skips where they are not permitted, on CI it must run.
 */
const canMountReadOnly = (() => {
  const probe = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", "mount --bind -o ro /tmp /tmp"], { stdio: "ignore" })
  if (probe.status !== 0 && process.env["CI"] === "true") throw new Error("CI=true but unshare/mount --bind -o ro is not permitted here")
  return probe.status === 0
})()
const withMount = canMountReadOnly ? it : it.skip

describe("a read-only home", () => {
  withMount("ps, inspect and logs work: reconciled in memory, said once on stderr, nothing written", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    const boxDir = path.join(lab.home, "boxes", "b1")
    mkdirSync(boxDir, { recursive: true })
    writeFileSync(path.join(boxDir, "console.log"), "hello from the box\n")
    // running, with a pid that is gone: a reconcile wants to write it dead
    writeFileSync(lab.stateFile, JSON.stringify([record(1, {
      status: "running",
      pid: 999_999,
      restart_policy: "no",
      box_dir: boxDir,
      console_log: path.join(boxDir, "console.log")
    })], null, 2))
    const before = readFileSync(lab.stateFile)
    const readOnly = (...args: ReadonlyArray<string>) => {
      const script = `mount --bind -o ro "$A3S_HOME" "$A3S_HOME" && exec "$0" "$@"`
      const result = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, process.execPath, bin, ...args], {
        env: lab.env,
        encoding: "utf8",
        timeout: 30_000
      })
      return { code: result.status, stdout: result.stdout, stderr: plain(result.stderr) }
    }
    const ps = readOnly("ps", "-a", "--quiet")
    expect(ps.code).toBe(0)
    expect(ps.stdout).toMatch(/box1\s+000000000000\s+dead/)
    const notice = ps.stderr.split("\n").filter((l) => l.includes("was not updated"))
    expect(notice).toHaveLength(1)
    expect(notice[0]).toMatch(new RegExp(`^Warning: cannot (lock|write) state file ${lab.stateFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*read-only file system.*; showing the boxes as reconciled in memory \\(the file was not updated\\)\\.$`, "i"))
    const inspect = readOnly("inspect", "box1")
    expect(inspect.code).toBe(0)
    expect((JSON.parse(inspect.stdout) as Array<{ status: string }>)[0]!.status).toBe("dead")
    expect(inspect.stderr).toContain("was not updated")
    const logs = readOnly("logs", "box1")
    expect(logs.code).toBe(0)
    expect(logs.stdout).toBe("hello from the box\n")
    expect(readFileSync(lab.stateFile).equals(before)).toBe(true)
  })
})
