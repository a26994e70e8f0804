import { describe, expect, it } from "@effect/vitest"
import * as UsageErrors from "../../src/cli/UsageErrors.js"

const ROOT = "Invalid subcommand for a3s-box - use one of 'run', 'ps', 'stop', 'monitor'"

describe("UsageErrors.rewrite: @effect/cli's usage errors in the CLI's own words", () => {
  it.each([
    [["run", "-d", "--stop-timeout", "abc", "--", "true"], "'abc' is not a integer", "Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)"],
    [["run", "--stop-timeout=abc", "--", "sh", "-c", "abc"], "'abc' is not a integer", "Error: invalid --stop-timeout 'abc': expected an integer (see `a3s-box run --help`)"],
    [["monitor", "install", "--interval", "x"], "'x' is not a integer", "Error: invalid --interval 'x': expected an integer (see `a3s-box monitor install --help`)"],
    [["stop"], "Missing argument <BOX>", "Error: missing argument BOX: `a3s-box stop BOX` (see `a3s-box stop --help`)"],
    [["ps", "--format", "yaml"], "Expected one of the following cases: table, json", "Error: invalid --format 'yaml': expected one of table, json (see `a3s-box ps --help`)"],
    [["ps", "web"], "Received unknown argument: 'web'", "Error: unknown argument 'web' (see `a3s-box ps --help`)"],
    [["ps", "--format"], "Received unknown argument: '--format'", "Error: '--format' is not an option of `a3s-box ps`, or is missing its value (see `a3s-box ps --help`)"],
    [["monitor", "--interval"], ROOT, "Error: '--interval' is not an option of `a3s-box monitor`, or is missing its value (see `a3s-box monitor --help`)"],
    [["monitor", "--interval", "3", "--bogus"], ROOT, "Error: '--bogus' is not an option of `a3s-box monitor`, or is missing its value (see `a3s-box monitor --help`)"],
    [["frobnicate"], ROOT, "Error: unknown command 'frobnicate': use one of run, ps, stop, monitor (see `a3s-box --help`)"],
    [["monitor", "frob"], ROOT, "Error: unknown argument 'frob' for `a3s-box monitor` (see `a3s-box monitor --help`)"],
    [["monitor", "--interval", "0"], "--interval must be an integer >= 1 (seconds)", "Error: --interval must be an integer >= 1 (seconds) (see `a3s-box monitor --help`)"]
  ])("a3s-box %j: %s", (args, printed, expected) => {
    expect(UsageErrors.rewrite(`\u001b[31m${printed}\u001b[0m\n\n`, args)).toBe(expected)
  })

  it("leaves everything else alone: the CLI's own errors and warnings, and other output", () => {
    for (const text of ["Error: no such box: x", "Warning: 1 box is not supervised", "  systemctl --user daemon-reload", "", "tick 3"]) {
      expect(UsageErrors.rewrite(text, ["run"])).toBeUndefined()
    }
  })
})
