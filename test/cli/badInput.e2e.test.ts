/**
 * Bad input to the built CLI: a clear error, the right exit code (2 for anything wrong with
 * the command line, 1 for a failure doing the work: unknown box, duplicate name, running box), no stack trace, and nothing changed (boxes.json byte-identical, no box dir, no
 * process). A corrupt state file survives every command unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { CliHome, isAlive, plain, requireBuild, type StateBox } from "../support/CliHome.js"

const noStackTrace = (stderr: string) => {
  expect(stderr).not.toMatch(/^\s+at /m)
  expect(stderr).not.toContain("[object Object]")
}

describe("bad input changes nothing", () => {
  let h: CliHome
  let web: StateBox
  let before: Buffer

  beforeAll(async () => {
    requireBuild()
    h = new CliHome()
    web = await h.runDetached("--name", "web", "--", "sleep", "300")
    before = h.stateBytes()!
  })
  afterAll(async () => {
    await h?.cleanup()
  })

  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, number, string | RegExp]> = [
    [
      "an unknown restart policy",
      ["run", "-d", "--restart", "sometimes", "--", "true"],
      2,
      "Error: invalid restart policy 'sometimes': expected one of no, always, unless-stopped, on-failure, on-failure:N (N a positive integer)\n"
    ],
    [
      "a duplicate name",
      ["run", "-d", "--name", "web", "--", "true"],
      1,
      /^Error: the name 'web' is already in use by box \w{12}: remove that box/
    ],
    ["an unknown box (stop)", ["stop", "nosuch"], 1, "Error: no such box: nosuch (see `a3s-box ps -a` for the boxes of this home)\n"],
    ["an unknown box (start)", ["start", "nosuch"], 1, /^Error: no such box: nosuch/],
    ["an unknown box (restart)", ["restart", "nosuch"], 1, /^Error: no such box: nosuch/],
    ["an unknown box (rm)", ["rm", "-f", "nosuch"], 1, /^Error: no such box: nosuch/],
    ["an unknown box (logs)", ["logs", "nosuch"], 1, /^Error: no such box: nosuch/],
    ["an unknown box (inspect)", ["inspect", "nosuch"], 1, /^Error: no such box: nosuch/],
    [
      "a health interval below 1 s",
      ["run", "-d", "--health-cmd", "true", "--health-interval", "0", "--", "true"],
      2,
      "Error: invalid --health-interval '0': must be an integer of at least 1 second\n"
    ],
    [
      "a health timeout below 1 s",
      ["run", "-d", "--health-cmd", "true", "--health-timeout", "0", "--", "true"],
      2,
      "Error: invalid --health-timeout '0': must be an integer of at least 1 second\n"
    ],
    [
      "health retries below 1",
      ["run", "-d", "--health-cmd", "true", "--health-retries", "0", "--", "true"],
      2,
      "Error: invalid --health-retries '0': must be an integer of at least 1\n"
    ],
    [
      "a negative stop timeout",
      ["run", "-d", "--stop-timeout", "-1", "--", "true"],
      2,
      "Error: invalid --stop-timeout '-1': must be an integer of at least 0 seconds\n"
    ],
    ["a negative stop -t", ["stop", "-t", "-1", "web"], 2, "Error: invalid -t/--time '-1': must be 0 or more seconds\n"],
    ["an empty command", ["run", "-d"], 2, "Error: no command given: usage `a3s-box run [OPTIONS] -- CMD [ARG...]`\n"],
    ["an empty command after --", ["run", "-d", "--"], 2, /^Error: no command given/],
    ["a malformed -e", ["run", "-d", "-e", "NOVALUE", "--", "true"], 2, "Error: invalid -e/--env 'NOVALUE': expected KEY=VALUE with a non-empty KEY\n"],
    ["an unknown stop signal", ["run", "-d", "--stop-signal", "SIGNOPE", "--", "true"], 2, /^Error: invalid --stop-signal 'SIGNOPE'/],
    ["a missing workdir", ["run", "-d", "--workdir", "/nonexistent/dir", "--", "true"], 2, "Error: invalid --workdir '/nonexistent/dir': no such directory\n"],
    ["a bad name", ["run", "-d", "--name", "no spaces", "--", "true"], 2, /^Error: invalid --name 'no spaces'/],
    ["a negative --tail", ["logs", "--tail", "-1", "web"], 2, "Error: invalid --tail '-1': must be 0 or more lines\n"],
    ["a running box without rm -f", ["rm", "web"], 1, /^Error: box web is running: stop it first/],
    ["an unknown flag (run)", ["run", "--bogus", "--", "true"], 2, "Error: unknown option '--bogus' for `a3s-box run` (see `a3s-box run --help`)\n"],
    ["an unknown flag (run, no --)", ["run", "-d", "--nmae", "x", "sleep", "1"], 2, /^Error: unknown option '--nmae' for `a3s-box run`/],
    ["an unknown flag (stop)", ["stop", "--bogus", "web"], 2, "Error: unknown option '--bogus' for `a3s-box stop` (see `a3s-box stop --help`)\n"],
    ["an unknown flag (rm)", ["rm", "web", "--forse"], 2, /^Error: unknown option '--forse' for `a3s-box rm`/],
    ["an unknown flag (logs)", ["logs", "--follw", "web"], 2, /unknown|--follw/],
    ["an unknown flag (inspect)", ["inspect", "-x", "web"], 2, /^Error: unknown option '-x' for `a3s-box inspect`/],
    ["an unknown flag (ps)", ["ps", "--bogus"], 2, /--bogus/],
    ["an unknown ps format", ["ps", "--format", "yaml"], 2, /table, json/],
    ["a non-integer health interval", ["run", "--health-cmd", "true", "--health-interval", "1.5", "--", "true"], 2, /./],
    ["a missing box argument", ["stop"], 2, /BOX/],
    ["an unknown command", ["frobnicate"], 2, /./]
  ]

  it.each(cases)("%s", async (_, args, code, message) => {
    const result = await h.cli(...args)
    expect(result.code).toBe(code)
    const stderr = plain(result.stderr)
    if (typeof message === "string") expect(stderr).toBe(message)
    else expect(stderr).toMatch(message)
    noStackTrace(stderr)
    expect(h.stateBytes()).toEqual(before)
    expect(h.boxDirs()).toEqual([web.id])
    expect(isAlive(web.pid!, web.pid_start_time)).toBe(true)
  })
})

describe("a corrupt state file", () => {
  let h: CliHome
  const corrupt = `[{"id": "x", "name": oops}]\n`

  beforeAll(() => {
    requireBuild()
    h = new CliHome()
    writeFileSync(h.stateFile, corrupt)
  })
  afterAll(async () => {
    await h?.cleanup()
  })

  const commands: ReadonlyArray<ReadonlyArray<string>> = [
    ["ps"],
    ["ps", "-a", "--format", "json"],
    ["run", "-d", "--name", "new", "--", "sleep", "300"],
    ["run", "--", "echo", "attached"],
    ["stop", "x"],
    ["stop", "x", "y"],
    ["start", "x"],
    ["restart", "x"],
    ["rm", "x"],
    ["rm", "-f", "x"],
    ["logs", "x"],
    ["inspect", "x"]
  ]

  it.each(commands)("survives `a3s-box %s` unchanged", async (...args) => {
    const result = await h.cli(...args)
    expect(result.code).toBe(1)
    const stderr = plain(result.stderr)
    expect(stderr).toMatch(new RegExp(`^Error: state file ${h.stateFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is corrupt and was left untouched: [\\s\\S]+\\. Repair or move it away, then retry\\.\\n$`))
    noStackTrace(stderr)
    expect(readFileSync(h.stateFile, "utf8")).toBe(corrupt)
    expect(h.boxDirs()).toEqual([])
  })
})
