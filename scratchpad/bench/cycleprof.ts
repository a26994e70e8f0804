import { cycleCpu } from "../../test/bench/cycle.js"
import { cleanupAll } from "../../test/bench/support.js"
try {
  const f = await cycleCpu([Number(process.argv[2] ?? 10000)], Number(process.argv[3] ?? 10))
  console.log(f.map((x) => `${x.title}: median ${x.median.toFixed(1)} p90 ${x.p90.toFixed(1)} ${x.notes?.join("; ")}`).join("\n"))
} finally { cleanupAll() }
