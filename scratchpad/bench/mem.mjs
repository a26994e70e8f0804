import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const home = mkdtempSync(path.join(tmpdir(), "a3s-bench-mem-"))
const mon = spawn(process.execPath, [process.env.BIN ?? "dist/a3s-box.mjs", "monitor", ...process.argv.slice(2)], { env: { ...process.env, A3S_HOME: home, NODE_OPTIONS: "--require /tmp/memprint.cjs" }, stdio: ["ignore", "ignore", "pipe"] })
let lines = []
mon.stderr.on("data", (d) => lines.push(...String(d).split("\n").filter((l) => l.startsWith("MEM"))))
await new Promise((r) => setTimeout(r, 21000))
mon.kill("SIGTERM"); await new Promise((r) => mon.once("exit", r))
rmSync(home, { recursive: true, force: true })
console.log(lines.join("\n"))
