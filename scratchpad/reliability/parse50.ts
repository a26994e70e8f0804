// Times parseStateFile on a large state file: npx tsx scratchpad/reliability/parse50.ts FILE
import { readFileSync } from "node:fs"
import { parseStateFile } from "../../src/domain/BoxRecord.js"
const text = readFileSync(process.argv[2]!, "utf8")
for (let i = 0; i < 2; i++) {
  const t = performance.now()
  const r = parseStateFile(text)
  console.log(`${r._tag} in ${Math.round(performance.now() - t)} ms`)
}
const t = performance.now(); JSON.parse(text); console.log(`JSON.parse ${Math.round(performance.now() - t)} ms`)
