import { describe, expect, it } from "@effect/vitest"
import { youngGenerationFlag } from "../../src/cli/MonitorRun.js"

describe("the monitor's young generation cap", () => {
  it("caps the semi-spaces at 1 MiB unless Node was given its own size", () => {
    expect(youngGenerationFlag([], undefined)).toBe("--max-semi-space-size=1")
    expect(youngGenerationFlag(["--enable-source-maps"], "--trace-warnings")).toBe("--max-semi-space-size=1")
    expect(youngGenerationFlag(["--max-semi-space-size=8"], undefined)).toBeUndefined()
    expect(youngGenerationFlag(["--max_semi_space_size", "8"], undefined)).toBeUndefined()
    expect(youngGenerationFlag([], " --max-semi-space-size=4 --trace-gc")).toBeUndefined()
    // Other sizes are not this one.
    expect(youngGenerationFlag(["--max-old-space-size=100", "--semi-space-growth-factor=2"], "--max-semi-space")).toBe(
      "--max-semi-space-size=1"
    )
  })
})
