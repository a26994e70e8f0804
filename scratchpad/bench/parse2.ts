import { parseStateFile } from "../../src/domain/BoxRecord.js"
import { idleFleet } from "../../test/bench/fleet.js"
const N = Number(process.argv[2] ?? 1000)
const text = JSON.stringify(idleFleet(N, [{ pid: 1, startTime: 1 }], "/tmp/x"), null, 2)
for (let r = 0; r < 3; r++) {
  let t = performance.now(); const j = JSON.parse(text) as Array<unknown>; const a = performance.now() - t
  t = performance.now(); for (const x of j) JSON.stringify(x); const b = performance.now() - t
  t = performance.now(); parseStateFile(text); const c = performance.now() - t
  console.log(`JSON.parse ${a.toFixed(1)} stringify ${b.toFixed(1)} parseStateFile ${c.toFixed(1)}`)
}
