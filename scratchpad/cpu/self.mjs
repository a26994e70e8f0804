// usage: node self.mjs FILE.cpuprofile [skipSeconds]
import { readFileSync } from "node:fs"
const prof = JSON.parse(readFileSync(process.argv[2], "utf8"))
const skip = Number(process.argv[3] ?? 0) * 1e6
const counts = new Map()
let t = prof.startTime, total = 0
prof.samples.forEach((id, i) => { t += prof.timeDeltas[i] ?? 0; if (t - prof.startTime < skip) return; const d = prof.timeDeltas[i+1] ?? 0; counts.set(id, (counts.get(id) ?? 0) + d); total += d })
const byFile = new Map(), byFn = new Map()
for (const n of prof.nodes) {
  const v = counts.get(n.id) ?? 0; if (!v) continue
  const cf = n.callFrame
  const file = cf.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/main\//, "") || cf.functionName
  byFile.set(file, (byFile.get(file) ?? 0) + v)
  const k = `${cf.functionName || "(anon)"} ${file}:${cf.lineNumber}`
  byFn.set(k, (byFn.get(k) ?? 0) + v)
}
const show = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(1).padStart(8)} ${k}`).join("\n")
console.log(`total ${(total/1000).toFixed(0)} ms\n== by file\n` + show(byFile, 25) + "\n== by function\n" + show(byFn, Number(process.argv[4] ?? 45)))
