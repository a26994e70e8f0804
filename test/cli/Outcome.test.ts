import { describe, expect, it } from "@effect/vitest"
import { NoSuchBox } from "../../src/cli/BoxRef.js"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import { BoxFailures, BoxIsActive, InvalidFlag, MissingCommand, UnknownOption } from "../../src/cli/CliErrors.js"
import * as RestartPolicy from "../../src/domain/RestartPolicy.js"
import * as Outcome from "../../src/cli/Outcome.js"
import { StateFileCorrupt } from "../../src/state/StateStore.js"

describe("Outcome.errorLines", () => {
  it("prefixes an error's message with Error:", () => {
    expect(Outcome.errorLines(new NoSuchBox({ ref: "web" }))).toEqual([
      "Error: no such box: web (see `a3s-box ps -a` for the boxes of this home)"
    ])
  })

  it("names the state file when it is corrupt", () => {
    const [line] = Outcome.errorLines(new StateFileCorrupt({ path: "/h/boxes.json", detail: "Unexpected token" }))
    expect(line).toMatch(/^Error: state file \/h\/boxes\.json is corrupt/)
  })

  it("reports each failure of a multi-box command on its own line", () => {
    const failures = new BoxFailures({
      failures: [new NoSuchBox({ ref: "a" }), new BoxIsActive({ box: "b", status: "running" })]
    })
    const lines = Outcome.errorLines(failures)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain("Error: no such box: a")
    expect(lines[1]).toContain("Error: box b is running: stop it first")
  })
})

describe("Outcome.isUsageError: the one exit-code rule", () => {
  it("a bad command line, whoever finds it, is a usage error (exit 2)", () => {
    expect(Outcome.isUsageError(new InvalidFlag({ flag: "--tail", value: "-1", reason: "must be 0 or more lines" }))).toBe(true)
    expect(Outcome.isUsageError(new MissingCommand())).toBe(true)
    expect(Outcome.isUsageError(new UnknownOption({ command: "stop", option: "--bogus" }))).toBe(true)
    expect(Outcome.isUsageError(new RestartPolicy.InvalidRestartPolicy({ input: "sometimes" }))).toBe(true)
    expect(Outcome.isUsageError(ValidationError.invalidValue(HelpDoc.p("'abc' is not a integer")))).toBe(true)
  })

  it("a failure doing the work is not (exit 1)", () => {
    expect(Outcome.isUsageError(new NoSuchBox({ ref: "web" }))).toBe(false)
    expect(Outcome.isUsageError(new StateFileCorrupt({ path: "/h/boxes.json", detail: "x" }))).toBe(false)
    expect(Outcome.isUsageError(new BoxIsActive({ box: "b", status: "running" }))).toBe(false)
    expect(Outcome.isUsageError(new Error("boom"))).toBe(false)
  })
})
