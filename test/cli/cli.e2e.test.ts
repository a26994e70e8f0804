/**
 * The built CLI against a temp A3S_HOME with real box processes: run, ps, stop, start,
 * restart, rm, logs, inspect, box references, attached runs.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { CliHome, isAlive, isUuid, plain, requireBuild, waitFor } from "../support/CliHome.js"

beforeAll(requireBuild)

let homes: Array<CliHome> = []
const newHome = (): CliHome => {
  const home = new CliHome()
  homes.push(home)
  return home
}
afterEach(async () => {
  const current = homes
  homes = []
  await Promise.all(current.map((home) => home.cleanup()))
})

/** A box that prints a line per tick and never ends by itself. */
const TICKER = ["sh", "-c", "echo started; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]

describe("run -d, ps, logs, inspect", () => {
  it("run -d prints the new id and the box runs; ps, logs and inspect show it", async () => {
    const h = newHome()
    const result = await h.cli("run", "-d", "--name", "web", "-e", "GREETING=hello world", "--", "sh", "-c", "echo $GREETING; sleep 300")
    expect(result.code).toBe(0)
    const id = result.stdout.trim()
    expect(isUuid(id)).toBe(true)
    expect(result.stderr).toBe("")

    const box = h.box(id)!
    expect(box).toMatchObject({ name: "web", status: "running", short_id: id.replaceAll("-", "").slice(0, 12) })
    expect(box.box_dir).toBe(path.join(h.home, "boxes", id))
    expect(box.console_log).toBe(path.join(h.home, "boxes", id, "console.log"))
    expect(box.env).toEqual({ GREETING: "hello world" })
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(true)

    const ps = await h.cli("ps")
    expect(ps.code).toBe(0)
    const lines = ps.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^NAME\s+ID\s+STATUS\s+CREATED\s+COMMAND$/)
    expect(lines[1]).toMatch(new RegExp(`^web\\s+${box.short_id}\\s+running\\s+.* ago\\s+sh -c "echo \\$GREETING; sleep 300"$`))

    await waitFor("the box's output", () => existsSync(box.console_log) && readFileSync(box.console_log, "utf8").includes("hello"))
    const logs = await h.cli("logs", "web")
    expect(logs).toMatchObject({ code: 0, stdout: "hello world\n" })

    const inspect = await h.cli("inspect", "web")
    expect(inspect.code).toBe(0)
    const records = JSON.parse(inspect.stdout) as Array<Record<string, unknown>>
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ id, name: "web", status: "running", cmd: ["sh", "-c", "echo $GREETING; sleep 300"] })

    const json = await h.cli("ps", "--format", "json")
    expect((JSON.parse(json.stdout) as Array<{ id: string }>).map((b) => b.id)).toEqual([id])
  })

  it("ps hides stopped and dead boxes unless -a, and shows why they ended", async () => {
    const h = newHome()
    await h.runDetached("--name", "crasher", "--", "sh", "-c", "exit 3")
    await h.runDetached("--name", "sleeper", "--", "sleep", "300")
    await waitFor("the crasher to end", () => !isAlive(h.box("crasher")!.pid!, h.box("crasher")!.pid_start_time))
    const ps = await h.cli("ps")
    expect(ps.stdout).toContain("sleeper")
    expect(ps.stdout).not.toContain("crasher")
    const all = await h.cli("ps", "-a")
    expect(all.stdout).toMatch(/crasher\s+\w{12}\s+dead \(Exit 3\)/)
    // ps reconciled: the record says dead now.
    expect(h.box("crasher")).toMatchObject({ status: "dead", pid: null, exit_code: 3 })
  })

  it("logs --tail prints the last lines; logs -f follows until the box ends", async () => {
    const h = newHome()
    const box = await h.runDetached("--", "sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 1; echo late; sleep 1; echo last")
    const follow = await h.cli("logs", "-f", box.name)
    expect(follow.code).toBe(0)
    expect(follow.stdout).toBe("line 1\nline 2\nline 3\nline 4\nline 5\nlate\nlast\n")
    const tail = await h.cli("logs", "--tail", "2", box.short_id)
    expect(tail.stdout).toBe("late\nlast\n")
  })
})

describe("stop, start, restart, rm", () => {
  it("stop marks the box stopped by the user and its process is gone; start brings it back", async () => {
    const h = newHome()
    const box = await h.runDetached("--name", "web", "--restart", "always", "--", ...TICKER)
    const stop = await h.cli("stop", "web")
    expect(stop).toMatchObject({ code: 0, stdout: "web\n", stderr: "" })
    expect(h.box("web")).toMatchObject({ status: "stopped", stopped_by_user: true, pid: null, pid_start_time: null, exit_code: 143 })
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
    expect((await h.cli("ps", "-a")).stdout).toMatch(/web\s+\w{12}\s+stopped \(Exit 143\)/)

    // Stopping a stopped box is fine (docker does the same).
    expect((await h.cli("stop", "web")).code).toBe(0)

    const start = await h.cli("start", box.short_id)
    expect(start).toMatchObject({ code: 0, stdout: `${box.short_id}\n` })
    const started = h.box("web")!
    expect(started).toMatchObject({ status: "running", stopped_by_user: false, exit_code: null, restart_count: 0 })
    expect(started.pid).not.toBe(box.pid)
    expect(isAlive(started.pid!, started.pid_start_time)).toBe(true)
    expect(Date.parse(started.started_at!)).toBeGreaterThan(Date.parse(box.started_at!))
  })

  it("restart gives a running box a new process", async () => {
    const h = newHome()
    const box = await h.runDetached("--name", "web", "--", ...TICKER)
    const restart = await h.cli("restart", "-t", "5", "web")
    expect(restart).toMatchObject({ code: 0, stdout: "web\n" })
    const after = h.box("web")!
    expect(after.status).toBe("running")
    expect(after.pid).not.toBe(box.pid)
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
    expect(isAlive(after.pid!, after.pid_start_time)).toBe(true)
  })

  it("stop -t bounds the wait for a box that ignores its stop signal, then kills it", async () => {
    const h = newHome()
    const box = await h.runDetached("--name", "stubborn", "--", "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done")
    await waitFor("the trap to be set", () => readFileSync(box.console_log, "utf8").includes("ready"))
    const stop = await h.cli("stop", "-t", "1", "stubborn")
    expect(stop.code).toBe(0)
    expect(h.box("stubborn")).toMatchObject({ status: "stopped", exit_code: 137 })
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
  })

  it("rm refuses a running box without -f; rm -f stops it and removes record and directory", async () => {
    const h = newHome()
    const box = await h.runDetached("--name", "web", "--", ...TICKER)
    const before = h.stateBytes()
    const refused = await h.cli("rm", "web")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe("Error: box web is running: stop it first (`a3s-box stop web`) or use `a3s-box rm -f web`\n")
    expect(h.stateBytes()).toEqual(before)
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(true)

    const forced = await h.cli("rm", "-f", "web")
    expect(forced).toMatchObject({ code: 0, stdout: "web\n" })
    expect(h.state()).toEqual([])
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
    expect(existsSync(box.box_dir)).toBe(false)
  })

  it("rm removes a stopped box", async () => {
    const h = newHome()
    const box = await h.runDetached("--", "sleep", "300")
    await h.cli("stop", box.name)
    expect((await h.cli("rm", box.id)).code).toBe(0)
    expect(h.state()).toEqual([])
    expect(h.boxDirs()).toEqual([])
  })

  it("a multi-box command does every box it can and fails naming the others", async () => {
    const h = newHome()
    const a = await h.runDetached("--name", "a", "--", "sleep", "300")
    const b = await h.runDetached("--name", "b", "--", "sleep", "300")
    const stop = await h.cli("stop", "a", "nosuch", "b")
    expect(stop.code).toBe(1)
    expect(stop.stdout).toBe("a\nb\n")
    expect(stop.stderr).toBe("Error: no such box: nosuch (see `a3s-box ps -a` for the boxes of this home)\n")
    expect(h.box("a")!.status).toBe("stopped")
    expect(h.box("b")!.status).toBe("stopped")
    expect(isAlive(a.pid!, a.pid_start_time) || isAlive(b.pid!, b.pid_start_time)).toBe(false)
  })

  it("a --rm box is removed when stopped", async () => {
    const h = newHome()
    const box = await h.runDetached("--rm", "--", "sleep", "300")
    expect(box.auto_remove).toBe(true)
    expect((await h.cli("stop", box.name)).code).toBe(0)
    expect(h.state()).toEqual([])
    expect(h.boxDirs()).toEqual([])
  })
})

describe("supervision warning (SPEC §11)", () => {
  it("run -d, start and ps warn on stderr when a box needs a monitor and none runs; --quiet silences it", async () => {
    const h = newHome()
    const run = await h.cli("run", "-d", "--name", "web", "--restart", "always", "--", "sleep", "300")
    expect(run.code).toBe(0)
    expect(isUuid(run.stdout.trim())).toBe(true)
    expect(run.stderr).toMatch(/^Warning: 1 box with a restart policy or health check is not supervised: no a3s-box monitor is running for /)
    const ps = await h.cli("ps")
    expect(ps.stderr).toMatch(/^Warning: 1 box/)
    expect(ps.stdout).not.toContain("Warning")
    expect((await h.cli("ps", "--quiet")).stderr).toBe("")
    expect((await h.cli("run", "-d", "--quiet", "--restart", "no", "--", "sleep", "300")).stderr).toBe("")
    await h.cli("stop", "web")
    expect((await h.cli("start", "--quiet", "web")).stderr).toBe("")
    expect((await h.cli("stop", "web")).stderr).toBe("")
    expect((await h.cli("start", "web")).stderr).toMatch(/^Warning: 1 box/)
  })
})

describe("box references", () => {
  const seeded = (id: string, name: string, status = "stopped") => ({
    id,
    short_id: id.replaceAll("-", "").slice(0, 12),
    name,
    status,
    pid: null,
    cmd: ["true"],
    box_dir: `/nonexistent/${id}`,
    console_log: `/nonexistent/${id}/console.log`,
    created_at: "2026-01-01T00:00:00Z",
    exit_code: 0
  })

  it("a box is found by name, full id, short id or unique prefix; an ambiguous prefix lists the matches", async () => {
    const h = newHome()
    writeFileSync(h.stateFile, JSON.stringify([
      seeded("abc12345-0000-4000-8000-000000000001", "first"),
      seeded("abc67890-0000-4000-8000-000000000002", "second")
    ], null, 2))
    const names = async (ref: string) => {
      const result = await h.cli("inspect", ref)
      return result.code === 0 ? (JSON.parse(result.stdout) as Array<{ name: string }>).map((b) => b.name) : result.stderr
    }
    expect(await names("first")).toEqual(["first"])
    expect(await names("abc12345-0000-4000-8000-000000000001")).toEqual(["first"])
    expect(await names("abc123450000")).toEqual(["first"])
    expect(await names("abc6")).toEqual(["second"])
    const ambiguous = await h.cli("inspect", "abc")
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toBe(
      "Error: box reference 'abc' is ambiguous: it matches first (abc123450000), second (abc678900000); use a longer prefix or the name\n"
    )
    const unknown = await h.cli("logs", "zzz")
    expect(unknown).toMatchObject({ code: 1, stderr: "Error: no such box: zzz (see `a3s-box ps -a` for the boxes of this home)\n" })
  })
})

describe("attached run", () => {
  it("streams the box's output and exits with its exit code", async () => {
    const h = newHome()
    const result = await h.cli("run", "--name", "job", "--", "sh", "-c", "echo one; echo two >&2; sleep 0.3; echo three; exit 3")
    expect(result.code).toBe(3)
    expect(result.stdout).toBe("one\ntwo\nthree\n")
    expect(h.box("job")).toMatchObject({ status: "dead", exit_code: 3, pid: null })
  })

  it("exits 0 for a box that succeeds, and --rm removes it", async () => {
    const h = newHome()
    const result = await h.cli("run", "--rm", "--", "echo", "bye")
    expect(result).toMatchObject({ code: 0, stdout: "bye\n" })
    expect(h.state()).toEqual([])
    expect(h.boxDirs()).toEqual([])
  })

  it("Ctrl-C stops the box, records it stopped, and exits with the box's code", async () => {
    const h = newHome()
    const child = h.spawn(["run", "--name", "fg", "--", ...TICKER])
    const done = CliHome.finish(child)
    await waitFor("the box's first ticks", () => done.stdout().includes("tick 2"))
    const box = h.box("fg")!
    child.kill("SIGINT")
    const result = await done
    expect(result.code).toBe(143)
    expect(result.stdout.startsWith("started\ntick 1\ntick 2\n")).toBe(true)
    expect(h.box("fg")).toMatchObject({ status: "stopped", stopped_by_user: true, exit_code: 143, pid: null })
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
  })
})

describe("attached run, Ctrl-C", () => {
  it("prints what the box writes while it stops before the command exits", async () => {
    const h = newHome()
    // The box answers SIGTERM with two last lines, a moment apart, then exits 7.
    const script = "trap 'echo stopping; sleep 0.3; echo last words; exit 7' TERM; echo started; while :; do sleep 0.1; done"
    const child = h.spawn(["run", "--name", "last", "--", "sh", "-c", script])
    const done = CliHome.finish(child)
    await waitFor("the box to start", () => done.stdout().includes("started"))
    child.kill("SIGINT")
    const result = await done
    expect(result.code).toBe(7)
    // (sh may also report its killed `sleep`: "Terminated")
    expect(result.stdout.startsWith("started\n")).toBe(true)
    expect(result.stdout.endsWith("stopping\nlast words\n")).toBe(true)
    expect(h.box("last")).toMatchObject({ status: "stopped", exit_code: 7 })
  })
})

describe("attached run with --rm", () => {
  it("Ctrl-C stops and removes the box", async () => {
    const h = newHome()
    const child = h.spawn(["run", "--rm", "--name", "tmp", "--", ...TICKER])
    const done = CliHome.finish(child)
    await waitFor("the box's first tick", () => done.stdout().includes("tick 1"))
    const box = h.box("tmp")!
    child.kill("SIGINT")
    expect((await done).code).toBe(143)
    expect(h.state()).toEqual([])
    expect(h.boxDirs()).toEqual([])
    expect(isAlive(box.pid!, box.pid_start_time)).toBe(false)
  })
})

describe("concurrency", () => {
  it("of concurrent `run --name x` exactly one wins", async () => {
    const h = newHome()
    const results = await Promise.all(
      Array.from({ length: 4 }, () => h.cli("run", "-d", "--name", "x", "--", "sleep", "300"))
    )
    expect(results.filter((r) => r.code === 0)).toHaveLength(1)
    const losers = results.filter((r) => r.code !== 0)
    expect(losers).toHaveLength(3)
    for (const loser of losers) expect(loser.stderr).toMatch(/^Error: the name 'x' is already in use by box \w{12}/)
    expect(h.state().map((b) => b.name)).toEqual(["x"])
    expect(h.boxDirs()).toHaveLength(1)
  })

  it("a box whose process cannot start leaves no record and no directory", async () => {
    const h = newHome()
    await h.runDetached("--name", "keep", "--", "sleep", "300")
    const before = h.state()
    const result = await h.cli("run", "-d", "--name", "broken", "--", "/nonexistent/program")
    expect(result.code).toBe(1)
    expect(plain(result.stderr)).toMatch(/^Error: cannot start box broken: \/nonexistent\/program is not an executable file\n$/)
    expect(h.state()).toEqual(before)
    expect(h.boxDirs()).toEqual([before[0]!.id])
  })
})
