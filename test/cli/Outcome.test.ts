import { describe, expect, it } from "@effect/vitest"
import { NoSuchBox } from "../../src/cli/BoxRef.js"
import { BoxFailures, BoxIsActive } from "../../src/cli/CliErrors.js"
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
