import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { WRAPPER_SCRIPT } from "../../../src/runtime/internal/wrapperScript.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const scriptFile = path.join(root, "src/runtime/internal/wrapper.sh")

const bashN = (args: ReadonlyArray<string>) => spawnSync("bash", ["-n", ...args], { encoding: "utf8" })

describe("the box wrapper program", () => {
  it("wrapper.sh is valid bash (bash -n)", () => {
    const result = bashN([scriptFile])
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  it("the program the launcher runs (WRAPPER_SCRIPT) is valid bash (bash -n -c)", () => {
    const result = bashN(["-c", WRAPPER_SCRIPT])
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  it("wrapperScript.ts is what wrapper.sh generates (else: npm run generate)", () => {
    const check = spawnSync(process.execPath, [path.join(root, "scripts/wrapper-script.mjs"), "--check"], { encoding: "utf8" })
    expect(check.stderr).toBe("")
    expect(check.status).toBe(0)
  })

  it("WRAPPER_SCRIPT is wrapper.sh's lines without its comment and blank lines, in order", () => {
    const program = readFileSync(scriptFile, "utf8").split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"))
    expect(WRAPPER_SCRIPT.split("\n")).toEqual(program)
    expect(WRAPPER_SCRIPT).not.toMatch(/^\s*#/m)
  })
})
