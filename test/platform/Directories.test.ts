import { afterEach, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeDirectories } from "../../src/platform/Directories.js"

const temps: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-dirs-"))
  temps.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe("makeDirectories", () => {
  it("creates every missing level with the given mode", async () => {
    const root = tempDir()
    const leaf = path.join(root, "a", "b", "c")
    await makeDirectories(leaf, 0o700)
    for (const dir of [path.join(root, "a"), path.join(root, "a", "b"), leaf]) {
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700)
    }
    await makeDirectories(leaf, 0o700) // already there: fine
  })

  it("fails (instead of looping like Node's recursive mkdir) where the parent refuses new entries", async () => {
    await expect(makeDirectories("/proc/a3s-box-no-such-dir/x")).rejects.toMatchObject({ code: "ENOENT" })
  })

  it("fails naming the path when a file is in the way", async () => {
    const root = tempDir()
    fs.writeFileSync(path.join(root, "file"), "")
    await expect(makeDirectories(path.join(root, "file", "sub"))).rejects.toThrow(/file exists and is not a directory|not a directory/)
  })
})
