/**
 * Bad input to every command of the built CLI, flag by flag: out-of-range and malformed
 * numbers, malformed addresses, unknown policies, signals and formats, missing arguments,
 * contradictory flags. Each gets exit code 2 (anything wrong with the command line, whether
 * the parser or the command itself finds it) and a one-line `Error: ...` naming the flag or argument at fault,
 * and writes nothing: every file under the home (boxes.json included) keeps its bytes and
 * mtime, no unit file appears under XDG_CONFIG_HOME, no process is started or signalled.
 *
 * The cases test/cli/badInput.e2e.test.ts already checks (unknown policy, duplicate name,
 * unknown boxes, health values of 0, negative stop timeouts, unknown flags, ...) are not
 * repeated here.
 */
import { readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isAlive, Lab, plain, requireBuild, type StateBox } from "./support.js"

/** Every file under `dir`: relative path -> size and mtime. */
const tree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name)
      if (entry.isDirectory()) walk(full)
      const stat = statSync(full, { bigint: true })
      out[path.relative(dir, full)] = entry.isDirectory() ? "dir" : `${stat.size} ${stat.mtimeNs}`
    }
  }
  walk(dir)
  return out
}

type Case = readonly [args: ReadonlyArray<string>, code: number, message: string | RegExp]

const HELP = (command: string) => ` (see \`a3s-box ${command} --help\`)\n`
const notInteger = (command: string, flag: string, value: string) =>
  `Error: invalid ${flag} '${value}': expected an integer${HELP(command)}`
const RESTART_FORMS = "expected one of no, always, unless-stopped, on-failure, on-failure:N (N a positive integer)"

const cases: ReadonlyArray<readonly [string, ReadonlyArray<Case>]> = [
  ["a3s-box", [
    [["frobnicate"], 2, /^Error: unknown command 'frobnicate': use one of run, ps, stop, start, restart, rm, logs, inspect, events, monitor, completion \(see `a3s-box --help`\)\n$/],
    [["--bogus"], 2, "Error: '--bogus' is not an option of `a3s-box` (see `a3s-box --help`)\n"]
  ]],
  ["run", [
    [["run", "-d", "--restart", "on-failure:0", "--", "true"], 2, `Error: invalid restart policy 'on-failure:0': ${RESTART_FORMS}\n`],
    [["run", "-d", "--restart", "on-failure:-1", "--", "true"], 2, `Error: invalid restart policy 'on-failure:-1': ${RESTART_FORMS}\n`],
    [["run", "-d", "--restart", "on-failure:1.5", "--", "true"], 2, `Error: invalid restart policy 'on-failure:1.5': ${RESTART_FORMS}\n`],
    [["run", "-d", "--restart", "ALWAYS", "--", "true"], 2, `Error: invalid restart policy 'ALWAYS': ${RESTART_FORMS}\n`],
    [["run", "-d", "--restart", "", "--", "true"], 2, `Error: invalid restart policy '': ${RESTART_FORMS}\n`],
    [["run", "-d", "--health-cmd", "true", "--health-interval", "abc", "--", "true"], 2, notInteger("run", "--health-interval", "abc")],
    [["run", "-d", "--health-cmd", "true", "--health-retries", "1.5", "--", "true"], 2, notInteger("run", "--health-retries", "1.5")],
    [["run", "-d", "--health-cmd", "true", "--health-timeout", "99999999999999999999", "--", "true"], 2, notInteger("run", "--health-timeout", "99999999999999999999")],
    [["run", "-d", "--health-cmd", "true", "--health-start-period", "-1", "--", "true"], 2, "Error: invalid --health-start-period '-1': must be an integer of at least 0 seconds\n"],
    [["run", "-d", "--health-interval", "5", "--", "true"], 2, "Error: invalid --health-interval '5': needs --health-cmd, --health-http or --health-tcp\n"],
    [["run", "-d", "--health-http", "https://127.0.0.1/", "--", "true"], 2, /^Error: invalid --health-http 'https:\/\/127.0.0.1\/': only http:\/\/ URLs are supported/],
    [["run", "-d", "--health-tcp", "example.com:80", "--", "true"], 2, /^Error: invalid --health-tcp 'example.com:80': example.com is not this machine/],
    [["run", "-d", "--restart-delay", "0", "--", "true"], 2, /^Error: invalid --restart-delay '0': must be a number of seconds above 0/],
    [["run", "-d", "--restart-delay", "10", "--restart-max-delay", "5", "--", "true"], 2, /^Error: invalid --restart-max-delay '5': must be at least --restart-delay \(10\)/],
    [["run", "-d", "--log-max-size", "10 megs", "--", "true"], 2, /^Error: invalid --log-max-size '10 megs': expected a size such as 512k, 10m or 1g/],
    [["run", "-d", "--log-max-size", "1k", "--", "true"], 2, /^Error: invalid --log-max-size '1k': must be 0 \(never rotate\) or at least 4k/],
    [["run", "-d", "--log-max-files", "101", "--", "true"], 2, /^Error: invalid --log-max-files '101': must be a whole number from 1 to 100/],
    [["run", "-d", "--stop-timeout=abc", "--", "true"], 2, notInteger("run", "--stop-timeout", "abc")],
    [["run", "-d", "--stop-signal", "", "--", "true"], 2, /^Error: invalid --stop-signal '': expected a signal name such as SIGTERM/],
    [["run", "-d", "--stop-signal", "99", "--", "true"], 2, /^Error: invalid --stop-signal '99'/],
    [["run", "-d", "-e", "=v", "--", "true"], 2, "Error: invalid -e/--env '=v': expected KEY=VALUE with a non-empty KEY\n"],
    [["run", "-d", "-e", "A\nB=v", "--", "true"], 2, "Error: invalid -e/--env 'A\\nB=v': expected KEY=VALUE with a valid KEY: the variable name contains a newline\n"],
    [["run", "-d", "-e", "OK=1", "-e", "A\tB=v", "--", "true"], 2, "Error: invalid -e/--env 'A\\tB=v': expected KEY=VALUE with a valid KEY: the variable name contains the control character U+0009\n"],
    [["run", "-d", "--name", "", "--", "true"], 2, /^Error: invalid --name '': use letters, digits/],
    [["run", "-d", "--name", "-x", "--", "true"], 2, /^Error: invalid --name '-x': use letters, digits/]
  ]],
  ["ps", [
    [["ps", "--format", "yaml"], 2, `Error: invalid --format 'yaml': expected one of table, json${HELP("ps")}`],
    [["ps", "--format", ""], 2, `Error: invalid --format '': expected one of table, json${HELP("ps")}`],
    [["ps", "web"], 2, `Error: unknown argument 'web'${HELP("ps")}`],
    [["ps", "--format"], 2, `Error: '--format' is not an option of \`a3s-box ps\`, or is missing its value${HELP("ps")}`]
  ]],
  ["stop, restart, rm, start, logs, inspect", [
    [["stop", "-t", "abc", "web"], 2, notInteger("stop", "-t", "abc")],
    [["stop", "-t", "1.5", "web"], 2, notInteger("stop", "-t", "1.5")],
    [["restart", "-t", "-1", "web"], 2, "Error: invalid -t/--time '-1': must be 0 or more seconds\n"],
    [["restart", "-t", "soon", "web"], 2, notInteger("restart", "-t", "soon")],
    [["restart"], 2, `Error: missing argument BOX: \`a3s-box restart BOX\`${HELP("restart")}`],
    [["rm"], 2, `Error: missing argument BOX: \`a3s-box rm BOX\`${HELP("rm")}`],
    [["start"], 2, `Error: missing argument BOX: \`a3s-box start BOX\`${HELP("start")}`],
    [["logs"], 2, `Error: missing argument BOX: \`a3s-box logs BOX\`${HELP("logs")}`],
    [["logs", "--tail", "abc", "web"], 2, notInteger("logs", "--tail", "abc")],
    [["inspect"], 2, `Error: missing argument BOX: \`a3s-box inspect BOX\`${HELP("inspect")}`]
  ]],
  ["monitor", [
    [["monitor", "--interval", "0"], 2, `Error: --interval must be an integer >= 1 (seconds)${HELP("monitor")}`],
    [["monitor", "--interval", "-5"], 2, `Error: --interval must be an integer >= 1 (seconds)${HELP("monitor")}`],
    [["monitor", "--interval", "abc"], 2, notInteger("monitor", "--interval", "abc")],
    [["monitor", "--interval", "1.5"], 2, notInteger("monitor", "--interval", "1.5")],
    [["monitor", "--interval", ""], 2, notInteger("monitor", "--interval", "")],
    [["monitor", "--liveness-tick", "5"], 2, `Error: --liveness-tick must be an integer >= 10 (milliseconds)${HELP("monitor")}`],
    [["monitor", "--log-format", "xml"], 2, `Error: invalid --log-format 'xml': expected one of text, json${HELP("monitor")}`],
    [["monitor", "--interval"], 2, `Error: '--interval' is not an option of \`a3s-box monitor\`, or is missing its value${HELP("monitor")}`],
    [["monitor", "--metrics-addr"], 2, `Error: '--metrics-addr' is not an option of \`a3s-box monitor\`, or is missing its value${HELP("monitor")}`],
    [["monitor", "--intervall", "3"], 2, `Error: '--intervall' is not an option of \`a3s-box monitor\`, or is missing its value${HELP("monitor")}`],
    [["monitor", "frob"], 2, "Error: unknown argument 'frob' for `a3s-box monitor` (see `a3s-box monitor --help`)\n"],
    ...["localhost", ":9464", "127.0.0.1", "127.0.0.1:-1", "127.0.0.1:65536", "127.0.0.1:port", "::1:9464", "[::1]", "", "http://127.0.0.1:9464"].map(
      (bad): Case => [["monitor", "--metrics-addr", bad], 2, new RegExp(`^Error: --metrics-addr: invalid listen address ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*HOST:PORT`)]
    )
  ]],
  ["monitor install, uninstall, status", [
    [["monitor", "--install", "--uninstall"], 2, "Error: --install and --uninstall cannot be used together: give one of them\n"],
    [["monitor", "--install", "--interval", "0"], 2, `Error: --interval must be an integer >= 1 (seconds)${HELP("monitor")}`],
    [["monitor", "--install", "--metrics-addr", "localhost"], 2, /^Error: --metrics-addr: invalid listen address "localhost"/],
    [["monitor", "--linger"], 2, "Error: --linger only applies to --install\n"],
    [["monitor", "install", "--interval", "0"], 2, "Error: invalid --interval 0: it must be a whole number of seconds, at least 1\n"],
    [["monitor", "install", "--interval", "abc"], 2, notInteger("monitor install", "--interval", "abc")],
    [["monitor", "install", "--metrics-addr", "nope"], 2, /^Error: invalid --metrics-addr: invalid listen address "nope"/],
    [["monitor", "status", "--format", "yaml"], 2, `Error: invalid --format 'yaml': expected one of text, json${HELP("monitor status")}`],
    [["monitor", "uninstall", "now"], 2, `Error: unknown argument 'now'${HELP("monitor uninstall")}`]
  ]]
]

describe("bad input to every command: exit code, a message naming the culprit, nothing written", () => {
  let lab: Lab
  let web: StateBox
  let before: Record<string, string>
  const configHome = () => path.join(lab.userHome, ".config")

  beforeAll(async () => {
    requireBuild()
    lab = new Lab()
    web = await lab.runDetached("--quiet", "--name", "web", "--restart", "always", "--", ...lab.markedCmd("web", "while :; do sleep 1; done"))
    before = tree(lab.home)
  })
  afterAll(async () => {
    await lab?.cleanup()
  })

  for (const [group, table] of cases) {
    it.each(table.map(([args, code, message]) => [args.join(" "), args, code, message] as const))(
      `${group}: a3s-box %s`,
      async (_, args, code, message) => {
        const result = await lab.cli(...args)
        const stderr = plain(result.stderr)
        expect({ code: result.code, stderr }).toEqual({
          code,
          stderr: typeof message === "string" ? message : expect.stringMatching(message)
        })
        expect(stderr).not.toMatch(/^\s+at /m)
        expect(stderr.trimEnd().split("\n")).toHaveLength(1)
        expect(result.stdout).toBe("")
        // nothing written: the home's files (state file, box dirs, no monitor.json/lease), no unit file
        expect(tree(lab.home)).toEqual(before)
        expect(configHome()).not.toSatisfy((dir: string) => readdirSync(lab.userHome).includes(path.basename(dir)))
        expect(isAlive(web.pid!, web.pid_start_time)).toBe(true)
      }
    )
  }
})
