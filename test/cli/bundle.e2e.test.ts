/**
 * The built entries (scripts/bundle.mjs): `dist/a3s-box.cjs` (package.json "bin") and
 * `dist/a3s-box.mjs` (its earlier name) run the same program; the bundle's V8 code cache is used
 * when it was made from that very bundle, and a missing, foreign or corrupt cache only costs the
 * compile (same output).
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { repoRoot } from "../support/CliHome.js"

const dist = path.join(repoRoot, "dist")
const temps: Array<string> = []
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const run = (entry: string, args: ReadonlyArray<string>) => {
  const home = mkdtempSync(path.join(tmpdir(), "a3s-bundle-home-"))
  temps.push(home)
  const result = spawnSync(process.execPath, [entry, ...args], {
    encoding: "utf8",
    env: { ...process.env, A3S_HOME: home, A3S_BOX_CODE_CACHE_REPORT: "1" },
    timeout: 60_000
  })
  const report = /^a3s-box code cache: (\w+)$/m.exec(result.stderr)?.[1]
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.replace(/^a3s-box code cache: \w+\n/m, ""), cache: report }
}

/** A copy of the built entry, bundle and cache in a temp dir, to tamper with. */
const copyOfBuild = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "a3s-bundle-"))
  temps.push(dir)
  for (const file of ["a3s-box.cjs", "a3s-box.mjs", "a3s-box.bundle.cjs", "a3s-box.bundle.cache"]) {
    copyFileSync(path.join(dist, file), path.join(dir, file))
  }
  return dir
}

describe("built entries", () => {
  it("package.json's bin is the CommonJS entry, executable, with a shebang", () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"))
    expect(pkg.bin).toEqual({ "a3s-box": "dist/a3s-box.cjs" })
    for (const entry of ["a3s-box.cjs", "a3s-box.mjs"]) {
      const file = path.join(dist, entry)
      expect(readFileSync(file, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
      expect(statSync(file).mode & 0o111).toBe(0o111)
    }
  })

  it("both entries run the same program with the bundle's code cache", () => {
    for (const args of [["--help"], ["--version"], ["ps"], ["monitor", "--help"], ["stop"]]) {
      const cjs = run(path.join(dist, "a3s-box.cjs"), args)
      const mjs = run(path.join(dist, "a3s-box.mjs"), args)
      expect(cjs.cache).toBe("used")
      expect(mjs.cache).toBe("used")
      expect({ ...mjs, cache: undefined }).toEqual({ ...cjs, cache: undefined })
    }
    const help = run(path.join(dist, "a3s-box.cjs"), ["--help"])
    expect(help.code).toBe(0)
    expect(help.stdout.startsWith("Usage: a3s-box")).toBe(true)
    expect(run(path.join(dist, "a3s-box.cjs"), ["--version"]).stdout).toBe("a3s-box 0.1.0\n")
    expect(run(path.join(dist, "a3s-box.cjs"), ["stop"]).code).toBe(2)
  })

  it("a missing, foreign or corrupt cache is not used and only costs the compile", () => {
    const expected = run(path.join(dist, "a3s-box.cjs"), ["--help"])
    expect(expected.cache).toBe("used")

    const missing = copyOfBuild()
    rmSync(path.join(missing, "a3s-box.bundle.cache"))
    expect(run(path.join(missing, "a3s-box.cjs"), ["--help"])).toEqual({ ...expected, cache: "none" })

    // A cache made from another build (another id): never handed to V8.
    const foreign = copyOfBuild()
    const cacheFile = path.join(foreign, "a3s-box.bundle.cache")
    const cache = readFileSync(cacheFile)
    cache.write("0".repeat(32), 0, "latin1")
    writeFileSync(cacheFile, cache)
    expect(run(path.join(foreign, "a3s-box.cjs"), ["--help"])).toEqual({ ...expected, cache: "none" })

    // The right id but bytes V8 does not accept (another Node, or damage): rejected by V8.
    const corrupt = copyOfBuild()
    const corruptFile = path.join(corrupt, "a3s-box.bundle.cache")
    const bytes = readFileSync(corruptFile)
    bytes.fill(0x5a, 32, Math.min(bytes.length, 4096))
    writeFileSync(corruptFile, bytes)
    expect(run(path.join(corrupt, "a3s-box.mjs"), ["--help"])).toEqual({ ...expected, cache: "rejected" })
  })
})
