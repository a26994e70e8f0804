// Sums a --cpu-prof's self time by original source position (dist/a3s-box.cjs.map), function and file.
import { readFileSync, readdirSync } from "node:fs"
import { SourceMap } from "node:module"
const dir = process.argv[2]
const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))
const map = new SourceMap(JSON.parse(readFileSync(["dist/a3s-box.cjs.map", "dist/a3s-box.bundle.cjs.map"].find((f) => { try { readFileSync(f); return true } catch { return false } }), "utf8")))
const byFile = new Map(), byFn = new Map(), total = new Map()
for (const f of files) {
  const prof = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"))
  const counts = new Map()
  // LAST=ms: only the samples of the profile's last ms (minus SKIP=ms at its very end)
  const times = []; let tt = prof.startTime; for (const d of prof.timeDeltas) { tt += d; times.push(tt) }
  const hi = prof.endTime - Number(process.env.SKIP ?? 0) * 1000, lo = process.env.LAST ? hi - Number(process.env.LAST) * 1000 : -Infinity
  prof.samples.forEach((id, i) => { if (times[i] >= lo && times[i] <= hi) counts.set(id, (counts.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)) })
  for (const n of prof.nodes) {
    const t = counts.get(n.id) ?? 0; if (!t) continue
    const cf = n.callFrame
    let file = cf.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/main\//, "") || cf.functionName
    let fn = cf.functionName || "(anon)", line = cf.lineNumber
    if (cf.url.includes("a3s-box")) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber)
      if (e && e.originalSource) { file = e.originalSource.replace(/^.*node_modules\//, "").replace(/^.*\/src\//, "src/"); line = e.originalLine + 1; fn = e.name ?? fn }
    }
    byFile.set(file, (byFile.get(file) ?? 0) + t)
    const k = `${fn} ${file}:${line}`
    byFn.set(k, (byFn.get(k) ?? 0) + t)
  }
}
const show = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(1).padStart(7)} ${k}`).join("\n")
console.log("== by file\n" + show(byFile, 30) + "\n== by function\n" + show(byFn, Number(process.argv[3] ?? 50)))
