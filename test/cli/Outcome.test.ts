import { describe, expect, it } from "@effect/vitest"
import { NoSuchBox } from "../../src/cli/BoxRef.js"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import { BoxFailures, BoxIsActive, InvalidFlag, MissingCommand, UnknownOption } from "../../src/cli/CliErrors.js"
import * as RestartPolicy from "../../src/domain/RestartPolicy.js"
import * as Outcome from "../../src/cli/Outcome.js"
import { StateFileCorrupt } from "../../src/state/StateStore.js"
import * as Effect from "effect/Effect"
import { capturedConsole } from "../service/CapturedConsole.js"

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

describe("Outcome: the one exit-code module", () => {
  it("0 success, 1 a failure while doing the work, 2 a usage error", () => {
    expect([Outcome.EXIT_OK, Outcome.EXIT_FAILURE, Outcome.EXIT_USAGE]).toEqual([0, 1, 2])
  })

  it.effect("failure prints the error as report does and gives exit code 1 (for commands that return their code)", () =>
    Effect.gen(function*() {
      const captured = capturedConsole()
      const code = yield* Outcome.failure({ message: "cannot write the unit\nsecond line" }).pipe(
        Effect.withConsole(captured.console)
      )
      expect(code).toBe(Outcome.EXIT_FAILURE)
      expect(captured.err).toEqual(["Error: cannot write the unit", "second line"])
    }))

  it.effect("exitWith leaves the exit code alone on success and sets it on failure", () =>
    Effect.gen(function*() {
      const before = process.exitCode
      try {
        process.exitCode = undefined
        yield* Outcome.exitWith(Outcome.EXIT_OK)
        expect(process.exitCode).toBeUndefined()
        yield* Outcome.exitWith(Outcome.EXIT_USAGE)
        expect(process.exitCode).toBe(2)
      } finally {
        process.exitCode = before
      }
    }))
})
