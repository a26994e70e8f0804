import { parseStateFile, renderStateFile } from "../../src/domain/BoxRecord.js"
import { idleFleet } from "../../test/bench/fleet.js"
const N = Number(process.argv[2] ?? 1000)
const text = JSON.stringify(idleFleet(N, [{ pid: 1, startTime: 1 }], "/tmp/x"), null, 2)
const time = (name: string, f: () => unknown) => { for (let r = 0; r < 4; r++) { const t = performance.now(); f(); if (r >= 1) console.log(name.padEnd(30), (performance.now() - t).toFixed(1), "ms") } }
time(`first parse ${N}`, () => { parseStateFile(text + " ".repeat(Math.random() * 5)) })
const p = parseStateFile(text)
if (p._tag === "Left") throw new Error("bad")
time("render unchanged", () => renderStateFile(p.right.records, p.right.raw))
time("render changed", () => renderStateFile(p.right.records.map((r) => ({ ...r, restart_count: 5 })), p.right.raw))
