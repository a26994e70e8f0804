// Callers (stack up to depth 6) of a function in a --cpu-prof, by self time.
import { readFileSync, readdirSync } from "node:fs"
import { SourceMap } from "node:module"
const [dir, name] = process.argv.slice(2)
const map = new SourceMap(JSON.parse(readFileSync(["dist/a3s-box.cjs.map", "dist/a3s-box.bundle.cjs.map"].find((f) => { try { readFileSync(f); return true } catch { return false } }), "utf8")))
const label = (cf) => {
  if (cf.url.includes("a3s-box")) { const e = map.findEntry(cf.lineNumber, cf.columnNumber); if (e?.originalSource) return `${e.name ?? cf.functionName} ${e.originalSource.replace(/^.*\/(src|dist)\//, "")}:${e.originalLine + 1}` }
  return `${cf.functionName || "(anon)"} ${cf.url.replace(/^.*\//, "")}:${cf.lineNumber}`
}
const stacks = new Map()
for (const f of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
  const prof = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"))
  const parent = new Map(); const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const counts = new Map()
  // LAST=ms: only the samples of the profile's last ms (minus SKIP=ms at its very end)
  const times = []; let tt = prof.startTime; for (const d of prof.timeDeltas) { tt += d; times.push(tt) }
  const hi = prof.endTime - Number(process.env.SKIP ?? 0) * 1000, lo = process.env.LAST ? hi - Number(process.env.LAST) * 1000 : -Infinity
  prof.samples.forEach((id, i) => { if (times[i] >= lo && times[i] <= hi) counts.set(id, (counts.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)) })
  for (const n of prof.nodes) {
    const t = counts.get(n.id) ?? 0
    if (!t || !label(n.callFrame).startsWith(name)) continue
    const chain = []; let p = parent.get(n.id)
    while (p !== undefined && chain.length < Number(process.argv[4] ?? 8)) { chain.push(label(byId.get(p).callFrame)); p = parent.get(p) }
    const k = chain.join(" < ")
    stacks.set(k, (stacks.get(k) ?? 0) + t)
  }
}
for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log((v / 1000).toFixed(1).padStart(7), k)
