import { parseStateFile } from "../../src/domain/BoxRecord.js"
import { idleFleet } from "../../test/bench/fleet.js"
const N = Number(process.argv[2] ?? 1000)
for (let r = 0; r < 5; r++) {
  const text = JSON.stringify(idleFleet(N, [{ pid: 1000 + r, startTime: 1 }], "/tmp/x"), null, 2)
  const t = performance.now(); parseStateFile(text); console.log(`uncached parseStateFile ${N}: ${(performance.now() - t).toFixed(1)} ms`)
}
