import { mkdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { isAlive, requireBuild, waitFor, World } from "./e2e.js"

/**
 * Issue 10, "same environment on every boot": a box keeps the environment of the `run` that
 * created it (its base variables and -e values) when a monitor started under a service
 * manager's minimal environment (here `env -i`) restarts it, and when `restart` is run from
 * another environment.
 */

let world: World

beforeAll(() => requireBuild())

afterEach(async () => {
  await world.cleanup()
})

const environOf = (pid: number): ReadonlyArray<string> => readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").filter((v) => v !== "")

describe("a box's environment is fixed when it is created", () => {
  it("a box restarted by a monitor under env -i, and by `restart` from another shell, has the PATH and HOME of its run", async () => {
    const w = (world = new World())
    const callerHome = path.join(w.home, "caller home")
    mkdirSync(callerHome)
    const callerPath = `/some/extra:${process.env["PATH"] ?? "/usr/bin:/bin"}`
    const caller = { ...w.env, PATH: callerPath, HOME: callerHome }
    const run = w.cliWith(caller, "run", "-d", "--name", "env", "--restart", "always", "-e", "API_KEY=s3cret", "--", "sleep", "1000")
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    const first = w.box("env")!
    const expected = [`PATH=${callerPath}`, `HOME=${callerHome}`, "API_KEY=s3cret"]
    expect(environOf(first.pid!)).toEqual(expect.arrayContaining(expected))

    const minimalPath = "/usr/bin:/bin"
    const monitor = await w.startMonitorWith({ env: {}, prefix: ["env", "-i", `A3S_HOME=${w.home}`, `PATH=${minimalPath}`] }, "--interval", "1")
    // The monitor really runs with nothing but A3S_HOME and a minimal PATH.
    expect([...environOf(monitor.pid!)].sort()).toEqual([`A3S_HOME=${w.home}`, `PATH=${minimalPath}`])

    process.kill(first.pid!, "SIGKILL")
    const restarted = await waitFor("the box to be restarted by the monitor", () => {
      const box = w.box("env")
      return box?.status === "running" && box.pid !== first.pid && box.pid !== null && isAlive(box.pid, box.pid_start_time) ? box : undefined
    })
    await waitFor("the restarted box to exec its command", () => readFileSync(`/proc/${restarted.pid}/cmdline`, "latin1").startsWith("sleep"))
    const environ = environOf(restarted.pid!)
    expect(environ).toEqual(expect.arrayContaining(expected))
    expect(environ).not.toContain(`PATH=${minimalPath}`)
    expect(environ.filter((v) => v.startsWith("A3S_HOME="))).toEqual([])

    // `restart` from a shell with another PATH and HOME: still the environment of the run.
    const other = { PATH: minimalPath, HOME: "/nonexistent-other-home", A3S_HOME: w.home, A3S_NO_MONITOR_WARNING: "1" }
    const again = w.cliWith(other, "restart", "env")
    expect(again.stderr).toBe("")
    expect(again.status).toBe(0)
    const third = await waitFor("the box restarted by `restart`", () => {
      const box = w.box("env")
      return box?.status === "running" && box.pid !== restarted.pid && box.pid !== null ? box : undefined
    })
    await waitFor("the box to exec its command", () => readFileSync(`/proc/${third.pid}/cmdline`, "latin1").startsWith("sleep"))
    expect(environOf(third.pid!)).toEqual(expect.arrayContaining(expected))
  })
})
