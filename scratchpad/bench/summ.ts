import { parseStateFile } from "../../src/domain/BoxRecord.js"
import { summarize } from "../../src/metrics/Exposition.js"
import { idleFleet } from "../../test/bench/fleet.js"
import { isActive } from "../../src/domain/BoxRecord.js"
const text = JSON.stringify(idleFleet(1000, [{ pid: 1, startTime: 1 }], "/tmp/x"), null, 2)
const p = parseStateFile(text)
if (p._tag === "Left") throw new Error()
const recs = p.right.records
for (let r = 0; r < 5; r++) { const t = performance.now(); for (let i = 0; i < 100; i++) summarize(recs); console.log("summarize x100:", (performance.now() - t).toFixed(1), "ms") }
const plain = recs.map((r) => ({ ...r }))
for (let r = 0; r < 3; r++) { const t = performance.now(); for (let i = 0; i < 100; i++) summarize(plain); console.log("summarize unfrozen copies x100:", (performance.now() - t).toFixed(1), "ms") }

const frozenCopies = recs.map((r) => Object.freeze({ ...r }))
for (let r = 0; r < 4; r++) { const t = performance.now(); for (let i = 0; i < 100; i++) summarize(frozenCopies); console.log("summarize frozen copies x100:", (performance.now() - t).toFixed(1), "ms") }

const deprecated = new Function("a", "return %DebugPrint(a)")
