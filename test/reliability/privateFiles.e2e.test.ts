/**
 * Issue 16, item 5: in a home that already exists with mode 0755 and under umask 022, box dirs
 * were created 0755 and console.log/exit_code 0644, so a box printing a token (`-e API_KEY=...`)
 * showed it to every local user. Box dirs are now 0700 and their files 0600 whatever the home's
 * mode and the umask, and `ps`/`run` say once that the home is open, with the chmod that fixes it.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, existsSync, statSync } from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { bin, labs, plain, requireBuild, waitFor } from "./support.js"

const lab = labs()
beforeAll(() => requireBuild())
afterEach(() => lab.cleanupAll())

const mode = (file: string): number => statSync(file).mode & 0o777

const WARNING = /^Warning: the a3s-box home .* is open to other users \(mode 0755\): .* Run `chmod go-rwx (.*)` \(--quiet hides this warning\)\.$/

/** The lines of `stderr` that are the open-home warning. */
const homeWarnings = (stderr: string): ReadonlyArray<string> => plain(stderr).split("\n").filter((line) => WARNING.test(line))

describe("private box files in a 0755 home under umask 022", () => {
  it("box dir 0700, console.log and exit_code 0600; ps and run warn once with a chmod that fixes it; --quiet hides it", async () => {
    const l = lab.make()
    chmodSync(l.home, 0o755)
    const previous = process.umask(0o022)
    try {
      const run = await l.cli("run", "-d", "--name", "tok", "-e", "API_KEY=s3cret", "--", "sh", "-c", "echo \"token=$API_KEY\"; exit 3")
      expect(run.code).toBe(0)
      expect(homeWarnings(run.stderr)).toHaveLength(1)
      const box = l.box("tok")!
      await waitFor("the box's exit code", () => existsSync(path.join(box.box_dir, "exit_code")))
      expect(mode(path.join(l.home, "boxes"))).toBe(0o700)
      expect(mode(box.box_dir)).toBe(0o700)
      expect(mode(box.console_log)).toBe(0o600)
      expect(mode(path.join(box.box_dir, "exit_code"))).toBe(0o600)
      expect(mode(l.stateFile)).toBe(0o600)

      // An attached run warns once too.
      const attached = await l.cli("run", "--rm", "--", "sh", "-c", "echo attached")
      expect(attached.code).toBe(0)
      expect(homeWarnings(attached.stderr)).toHaveLength(1)

      const ps = await l.cli("ps", "-a")
      expect(ps.code).toBe(0)
      const warnings = homeWarnings(ps.stderr)
      expect(warnings).toHaveLength(1)
      expect((await l.cli("ps", "-a", "--quiet")).stderr).toBe("")

      // The chmod the warning names is a working shell command, and silences it.
      const chmod = WARNING.exec(warnings[0]!)![1]!
      execFileSync("sh", ["-c", `chmod go-rwx ${chmod}`])
      expect(mode(l.home)).toBe(0o700)
      expect(homeWarnings((await l.cli("ps", "-a")).stderr)).toEqual([])
    } finally {
      process.umask(previous)
    }
  })

  it("a home the tool creates is 0700 and never warned about", async () => {
    const l = lab.make()
    const home = path.join(l.home, "fresh home")
    const previous = process.umask(0o022)
    try {
      // (the box's HOME is the lab's: its cleanup finds it)
      const result = spawnSync(process.execPath, [bin, "run", "-d", "--", "true"], { env: { ...l.env, A3S_HOME: home }, encoding: "utf8" })
      expect(result.status).toBe(0)
      expect(homeWarnings(result.stderr)).toEqual([])
      expect(mode(home)).toBe(0o700)
    } finally {
      process.umask(previous)
    }
  })
})
