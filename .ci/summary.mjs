// Prints the closing line CI reads ("N passed, N failed[, N skipped]") from vitest's JSON reports.
import { readFileSync } from "node:fs"

let passed = 0
let failed = 0
let skipped = 0
for (const file of process.argv.slice(2)) {
  try {
    const report = JSON.parse(readFileSync(file, "utf8"))
    passed += report.numPassedTests ?? 0
    failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0)
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  } catch (error) {
    console.log(`no test report at ${file}: ${error.message}`)
    failed += 1
  }
}
console.log(`${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ""))
process.exit(failed > 0 || passed === 0 ? 1 : 0)
