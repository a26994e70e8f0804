/**
 * A box is its process group (issue 10, SPEC §12): what its command started dies with it. A
 * `kill -9` of the box's shell must not leave its server child holding the port (every restart
 * would then fail with "Address already in use"), and `rm -f` must not leave a child behind.
 * Processes are found by their pids and start times in /proc, never by name.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import * as http from "node:http"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { isAlive, labs, procStat, requireBuild, waitFor } from "./support.js"
import { freePort } from "../support/freePort.js"

beforeAll(requireBuild)

const homes = labs()
afterEach(() => homes.cleanupAll())

const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"
const havePython = spawnSync(python, ["-c", "0"]).status === 0

interface Proc {
  readonly pid: number
  readonly startTime: number
}

/** Every live process whose process group id is `pgid`, from /proc. */
const groupOf = (pgid: number): Array<Proc> =>
  readdirSync("/proc").flatMap((entry) => {
    if (!/^[0-9]+$/.test(entry)) return []
    const stat = procStat(Number(entry))
    if (stat === undefined || stat.pgid !== pgid || stat.state === "Z" || stat.state === "X") return []
    return [{ pid: Number(entry), startTime: stat.startTime }]
  })

const serves = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/", timeout: 1_000 }, (response) => {
      response.resume()
      resolve(response.statusCode === 200)
    })
    request.once("error", () => resolve(false))
    request.once("timeout", () => {
      request.destroy()
      resolve(false)
    })
  })

const waitServes = async (port: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await serves(port))) {
    if (Date.now() > deadline) throw new Error(`nothing serves on port ${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("a box is its process group", () => {
  // CI installs python3 (.ci/run); elsewhere a machine without it skips, saying why.
  it.skipIf(!havePython && process.env["CI"] !== "true")(
    "kill -9 of the box's shell: its server child is killed too, and the restarted box serves on the same port",
    { timeout: 90_000 },
    async () => {
      const lab = homes.make()
      const port = await freePort()
      const monitor = await lab.startMonitor(["--interval", "1"])
      try {
        const script = `${python} -m http.server ${port} --bind 127.0.0.1; echo exited`
        const box = await lab.runDetached("--quiet", "--name", "web", "--restart", "always", "--", "sh", "-c", script)
        await waitServes(port, 20_000)
        const first = groupOf(box.pid!)
        // The sh and its python child, in the group the sh leads.
        expect(first.map((p) => p.pid)).toContain(box.pid)
        expect(first).toHaveLength(2)
        const child = first.find((p) => p.pid !== box.pid)!
        expect(isAlive(box.pid!, box.pid_start_time)).toBe(true)
        process.kill(box.pid!, "SIGKILL")

        const restarted = await waitFor("the box to be restarted", () => {
          const now = lab.box("web")
          return now !== undefined && now.status === "running" && now.pid !== box.pid && now.pid !== null ? now : undefined
        }, 30_000)
        await waitServes(port, 20_000)
        // The orphaned python of the first run is gone: the port was free for the new one.
        expect(isAlive(child.pid, child.startTime)).toBe(false)
        expect(groupOf(box.pid!)).toEqual([])
        // Exactly one group's worth of the box: the new sh and its python.
        const second = groupOf(restarted.pid!)
        expect(second).toHaveLength(2)
        expect(second.map((p) => p.pid)).toContain(restarted.pid)
        expect(lab.box("web")!.restart_count).toBe(1)
        expect(monitor.logs.some((l) => l.message.includes(`killed the 1 process left in its process group (${child.pid})`))).toBe(true)
        expect(monitor.logs.some((l) => l.message.includes("Address already in use"))).toBe(false)
      } finally {
        await monitor.kill()
      }
    }
  )

  it("an attached run whose command exits leaves none of its children running", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    // The child's pid and start time (field 22 of its /proc stat), printed before the shell exits.
    const result = await lab.cli("run", "--quiet", "--", "sh", "-c", "sleep 1000 & echo child $! $(cut -d' ' -f22 /proc/$!/stat)")
    expect(result.code).toBe(0)
    const match = /child (\d+) (\d+)/.exec(result.stdout)
    expect(match).not.toBeNull()
    expect(isAlive(Number(match![1]), Number(match![2]))).toBe(false)
  })

  it("rm -f: no child of the box is left, even one that ignores the stop signal", { timeout: 60_000 }, async () => {
    const lab = homes.make()
    const scripts = {
      plain: "sleep 1000 & wait",
      // The child ignores SIGTERM; the shell (the group's leader) dies of it at once.
      stubborn: "(trap '' TERM; exec sleep 1000) & wait"
    }
    for (const [name, script] of Object.entries(scripts)) {
      const box = await lab.runDetached("--quiet", "--name", name, "--stop-timeout", "1", "--", "sh", "-c", script)
      const members = await waitFor(`${name}'s child to start`, () => {
        const group = groupOf(box.pid!)
        return group.length === 2 ? group : undefined
      })
      const child = members.find((p) => p.pid !== box.pid)!
      const result = await lab.cli("rm", "-f", name)
      expect({ name, code: result.code, stderr: result.stderr }).toEqual({ name, code: 0, stderr: "" })
      expect(lab.box(name)).toBeUndefined()
      expect({ name, childAlive: isAlive(child.pid, child.startTime) }).toEqual({ name, childAlive: false })
      expect(groupOf(box.pid!)).toEqual([])
    }
  })
})
