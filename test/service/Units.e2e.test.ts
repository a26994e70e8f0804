/**
 * Every rendered unit against the real tools: `systemd-analyze --user verify` (exit 0 and empty
 * stderr) and Python's strict `plistlib`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Units from "../../src/service/Units.js"
import { missingTools, run } from "./tools.js"

const skipSystemd = missingTools("systemd-analyze")
const skipPython = missingTools("python3")
if (skipSystemd !== undefined) console.warn(`skipping systemd-analyze verify: ${skipSystemd}`)
if (skipPython !== undefined) console.warn(`skipping plistlib checks: ${skipPython}`)

let root = ""
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-units-"))
})
afterAll(() => {
  if (root !== "") fs.rmSync(root, { recursive: true, force: true })
})

/** Directory names that need care in a unit; the Node binary's may not hold quotes or backslashes. */
const executableDirs = ["plain", "with space", "100%", "$HOME", "${X} %h $$", "amp&<lt>;#=", "unicodé ☃"]
const otherDirs = [
  ...executableDirs,
  `quote"d`,
  "apo'strophe",
  "back\\slash",
  "tab\tnewline\n",
  "trailing\\"
]

/** Real files at awkward paths: systemd checks the executable exists. */
const makeSpec = (nodeDir: string, scriptDir: string, homeDir: string, metrics: Option.Option<string>) => {
  const node = path.join(root, "bin", nodeDir, "node")
  fs.mkdirSync(path.dirname(node), { recursive: true })
  if (!fs.existsSync(node)) fs.symlinkSync(process.execPath, node)
  const script = path.join(root, "lib", scriptDir, "a3s-box.mjs")
  fs.mkdirSync(path.dirname(script), { recursive: true })
  fs.writeFileSync(script, "")
  const home = path.join(root, "home", homeDir)
  return { node, script, intervalSecs: 7, metricsAddr: metrics, home } satisfies Units.ServiceSpec
}

const cases = otherDirs.map((scriptDir, i) => {
  const nodeDir = executableDirs[i % executableDirs.length]!
  const homeDir = otherDirs[(i + 3) % otherDirs.length]!
  return {
    name: `node in ${JSON.stringify(nodeDir)}, script in ${JSON.stringify(scriptDir)}, home ${JSON.stringify(homeDir)}`,
    spec: () => makeSpec(nodeDir, scriptDir, homeDir, i % 2 === 0 ? Option.some("127.0.0.1:9464") : Option.none())
  }
})

// Skipped only on a machine without the tool, with the reason printed above; with CI=true a missing
// tool throws at load time (missingTools / the check above), so CI never skips this.
describe.skipIf(skipSystemd !== undefined)("systemd-analyze --user verify", () => {
  it.each(cases)("accepts the unit with $name", ({ spec }) => {
    const s = spec()
    const dir = fs.mkdtempSync(path.join(root, "verify-"))
    const runtime = path.join(dir, "runtime")
    fs.mkdirSync(runtime, { mode: 0o700 })
    const file = path.join(dir, Units.UNIT_NAME)
    fs.writeFileSync(file, Either.getOrThrow(Units.systemdUnit(s)))
    const result = run(["systemd-analyze", "--user", "verify", file], {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_RUNTIME_DIR: runtime
    })
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" })
  })

  it("reports a Node binary that does not exist (why Type=exec matters)", () => {
    const s = makeSpec("plain", "plain", "plain", Option.none())
    const dir = fs.mkdtempSync(path.join(root, "verify-"))
    const runtime = path.join(dir, "runtime")
    fs.mkdirSync(runtime, { mode: 0o700 })
    const file = path.join(dir, Units.UNIT_NAME)
    fs.writeFileSync(file, Either.getOrThrow(Units.systemdUnit({ ...s, node: path.join(root, "gone", "node") })))
    const result = run(["systemd-analyze", "--user", "verify", file], { PATH: process.env["PATH"] ?? "", HOME: dir, XDG_RUNTIME_DIR: runtime })
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain("is not executable")
  })
})

const PLIST_DUMP = `
import json, plistlib, sys
out = {}
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        d = plistlib.load(f)
    out[name] = {k: [type(v).__name__, v] for k, v in d.items()}
print(json.dumps(out))
`

// Skipped only on a machine without the tool, with the reason printed above; with CI=true a missing
// tool throws at load time (missingTools / the check above), so CI never skips this.
describe.skipIf(skipPython !== undefined)("python3 plistlib", () => {
  // One python process for every case (python start-up dominates).
  const parsed = new Map<string, unknown>()
  const specs = new Map<string, Units.ServiceSpec>()
  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(root, "plist-"))
    const files = cases.map(({ name, spec }, i) => {
      const s = spec()
      specs.set(name, s)
      const file = path.join(dir, `${i}-${Units.LAUNCHD_LABEL}.plist`)
      fs.writeFileSync(file, Either.getOrThrow(Units.launchdPlist(s)))
      return [name, file] as const
    })
    const result = run(["python3", "-c", PLIST_DUMP, ...files.map(([, file]) => file)])
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const byFile = JSON.parse(result.stdout) as Record<string, unknown>
    for (const [name, file] of files) parsed.set(name, byFile[file])
  })

  it.each(cases)("parses the plist with $name, keys and types right", ({ name }) => {
    const s = specs.get(name)!
    const log = path.join(s.home, "monitor.log")
    expect(parsed.get(name)).toEqual({
      Label: ["str", "com.a3s-box.monitor"],
      ProgramArguments: ["list", Units.programArguments(s)],
      EnvironmentVariables: ["dict", { A3S_HOME: s.home }],
      RunAtLoad: ["bool", true],
      KeepAlive: ["bool", true],
      AbandonProcessGroup: ["bool", true],
      StandardOutPath: ["str", log],
      StandardErrorPath: ["str", log]
    })
  })

  it("plistlib rejects what the escaping prevents (an unescaped &), so the check has teeth", () => {
    const file = path.join(root, "bad.plist")
    const good = Either.getOrThrow(Units.launchdPlist(makeSpec("plain", "amp&<lt>;#=", "plain", Option.none())))
    fs.writeFileSync(file, good.replace("&amp;", "&"))
    expect(run(["python3", "-c", PLIST_DUMP, file]).status).not.toBe(0)
  })
})
