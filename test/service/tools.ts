import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** Whether an executable is on PATH (or an absolute path that exists). */
export const haveTool = (name: string): boolean => {
  if (path.isAbsolute(name)) return fs.existsSync(name)
  return (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && fs.existsSync(path.join(dir, name)))
}

/**
 * Tests that need real tools run when the tools are there; without them they are skipped only
 * outside CI (with CI=true a missing tool fails the run). Returns the reason to skip, if any.
 */
export const missingTools = (...names: ReadonlyArray<string>): string | undefined => {
  const missing = names.filter((n) => !haveTool(n))
  if (missing.length === 0) return undefined
  const reason = `missing ${missing.join(", ")} (apt-get install systemd python3)`
  if (process.env["CI"] === "true") throw new Error(`CI=true and the tests need real tools: ${reason}`)
  return reason
}

export interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export const run = (argv: ReadonlyArray<string>, env?: NodeJS.ProcessEnv, input?: string): Run => {
  const r = spawnSync(argv[0]!, argv.slice(1), { env: env ?? process.env, encoding: "utf8", input, timeout: 60_000 })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
