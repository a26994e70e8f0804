/**
 * The built CLI's help, version, colour and shell completion, as a user meets them: `--help` of
 * every command (exit 0, docker-style, no escapes in a pipe), `NO_COLOR`/`TERM=dumb`/
 * `FORCE_COLOR` and a real pseudo-terminal (`script`), and the bash and zsh completion scripts
 * run by the real shells against a home with boxes.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bin, CliHome, requireBuild } from "../support/CliHome.js"

const ESC = "\x1b["

let h: CliHome

beforeAll(() => {
  requireBuild()
  h = new CliHome()
})
afterAll(async () => {
  await h?.cleanup()
})

/** Runs the CLI with exactly these extra environment variables (no NO_COLOR unless given). */
const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const base: NodeJS.ProcessEnv = { ...h.env, ...env }
  if (!("NO_COLOR" in env)) delete base["NO_COLOR"]
  delete base["FORCE_COLOR"]
  if ("FORCE_COLOR" in env) base["FORCE_COLOR"] = env["FORCE_COLOR"]
  const result = spawnSync(process.execPath, [bin, ...args], { env: base, encoding: "utf8" })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const hasTool = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0

describe("help and version", () => {
  it("--version prints exactly the name and version", () => {
    expect(run(["--version"])).toEqual({ code: 0, stdout: "a3s-box 0.1.0\n", stderr: "" })
  })

  it.each([
    [[]],
    [["--help"]],
    [["-h"]],
    ...["run", "ps", "stop", "start", "restart", "rm", "logs", "inspect", "events", "monitor", "completion"].map((c) => [[c, "--help"]]),
    [["monitor", "install", "--help"]],
    [["monitor", "status", "-h"]]
  ])("a3s-box %j: usage first, at most 100 columns, no escapes in a pipe, exit 0", (args) => {
    const result = run(args)
    expect(result.code).toBe(0)
    expect(result.stderr).toBe("")
    const command = ["a3s-box", ...args.filter((a) => !a.startsWith("-"))].join(" ")
    expect(result.stdout.startsWith(`Usage: ${command}`)).toBe(true)
    expect(result.stdout).not.toContain(ESC)
    for (const line of result.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(100)
  })

  it("NO_COLOR (any value) and TERM=dumb keep escapes out even when FORCE_COLOR is not set; FORCE_COLOR forces them", () => {
    expect(run(["--help"], { NO_COLOR: "" }).stdout).not.toContain(ESC)
    expect(run(["--help"], { TERM: "dumb" }).stdout).not.toContain(ESC)
    expect(run(["--help"], { FORCE_COLOR: "1" }).stdout).toContain(ESC)
  })

  it("on a terminal, the headings are bold unless NO_COLOR or TERM=dumb", (context) => {
    if (!hasTool("script")) {
      if (process.env["CI"] === "true") throw new Error("`script` (util-linux) is needed for this test on CI")
      context.skip()
    }
    const env: NodeJS.ProcessEnv = { ...h.env, TERM: "xterm" }
    delete env["NO_COLOR"]
    delete env["FORCE_COLOR"]
    const onTty = (vars: string) =>
      spawnSync("script", ["-qec", `env ${vars} ${process.execPath} ${bin} --help`, "/dev/null"], { env, encoding: "utf8" }).stdout
    expect(onTty("-u NO_COLOR")).toContain(`${ESC}1mUsage:`)
    expect(onTty("NO_COLOR=1")).not.toContain(ESC)
    expect(onTty("-u NO_COLOR TERM=dumb")).not.toContain(ESC)
  })

  it("a usage error has no escapes either, and exits 2", () => {
    const result = run(["ps", "--format", "yaml"], { FORCE_COLOR: "1" })
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: "Error: invalid --format 'yaml': expected one of table, json (see `a3s-box ps --help`)\n"
    })
  })
})

describe("shell completion", () => {
  /** A directory with an `a3s-box` on PATH that runs the built CLI on the test's home. */
  const pathDir = () => {
    const dir = path.join(h.home, "bin")
    spawnSync("mkdir", ["-p", dir])
    const wrapper = path.join(dir, "a3s-box")
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`)
    chmodSync(wrapper, 0o755)
    return dir
  }

  beforeAll(async () => {
    await h.runDetached("--name", "web", "--", "sleep", "300")
    await h.runDetached("--name", "worker", "--", "sleep", "300")
  })

  it("the hidden names command lists the home's boxes and is not in the help", () => {
    expect(run(["__box-names"]).stdout.split("\n").filter((l) => l !== "").sort()).toEqual(["web", "worker"])
    expect(run(["--help"]).stdout).not.toContain("__box-names")
  })

  it("bash: commands, flags, and box names for stop/start/restart/rm/logs/inspect", () => {
    const dir = pathDir()
    const script = run(["completion", "bash"]).stdout
    writeFileSync(path.join(h.home, "completion.bash"), script)
    const complete = (words: ReadonlyArray<string>) => {
      const program = [
        `source ${path.join(h.home, "completion.bash")}`,
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}`,
        "_a3s_box",
        `printf '%s\\n' "\${COMPREPLY[@]}"`
      ].join("\n")
      const result = spawnSync("bash", ["-c", program], { env: { ...h.env, PATH: `${dir}:${process.env["PATH"]}` }, encoding: "utf8" })
      expect(result.stderr).toBe("")
      return result.stdout.split("\n").filter((l) => l !== "").sort()
    }
    expect(complete(["a3s-box", "re"])).toEqual(["restart"])
    expect(complete(["a3s-box", "ps", "--f"])).toEqual(["--format"])
    for (const command of ["stop", "start", "restart", "rm", "logs", "inspect"]) {
      expect(complete(["a3s-box", command, "w"]), command).toEqual(["web", "worker"])
      expect(complete(["a3s-box", command, "wo"]), command).toEqual(["worker"])
    }
    expect(complete(["a3s-box", "ps", "w"])).toEqual([])
  })

  it("zsh: box names for the box commands", (context) => {
    if (!hasTool("zsh")) {
      if (process.env["CI"] === "true") throw new Error("zsh is needed for this test on CI (.ci/run installs it)")
      context.skip()
    }
    const dir = pathDir()
    writeFileSync(path.join(h.home, "_a3s-box"), run(["completion", "zsh"]).stdout)
    // compadd and _describe need the completion system running: stand-ins that print what is offered.
    const complete = (words: ReadonlyArray<string>) => {
      const program = [
        "compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2} || { shift; print -rl -- $@ } }",
        "_describe() { print -rl -- ${(P)2} }",
        `source ${path.join(h.home, "_a3s-box")}`,
        `words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; PREFIX='${words.at(-1)}'`,
        "_a3s_box"
      ].join("\n")
      const result = spawnSync("zsh", ["-f", "-c", program], { env: { ...h.env, PATH: `${dir}:${process.env["PATH"]}` }, encoding: "utf8" })
      expect(result.stderr).toBe("")
      return result.stdout.split("\n").filter((l) => l !== "").sort()
    }
    for (const command of ["stop", "start", "restart", "rm", "logs", "inspect"]) {
      expect(complete(["a3s-box", command, ""]), command).toEqual(["web", "worker"])
    }
    expect(complete(["a3s-box", "logs", "-"])).toContain("--follow")
    expect(complete(["a3s-box", ""]).some((line) => line.startsWith("monitor:"))).toBe(true)
  })
})
