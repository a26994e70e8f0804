// Self time per original source (via the bundle's source map) over several .cpuprofile files.
const fs = require("node:fs"); const { SourceMap } = require("node:module")
const [dir, mapFile, by = "pkg"] = process.argv.slice(2)
const sm = new SourceMap(JSON.parse(fs.readFileSync(mapFile, "utf8")))
const sums = new Map(); let total = 0; const files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))
for (const f of files) {
  const p = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8")); const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  for (let i = 0; i < p.samples.length; i++) {
    const n = nodes.get(p.samples[i]); const cf = n.callFrame; const t = p.timeDeltas[i] ?? 0; total += t
    let key
    if (cf.url.endsWith("a3s-box.bundle.cjs")) {
      const e = sm.findEntry(cf.lineNumber, cf.columnNumber); const src = (e && e.originalSource) || "?"
      key = by === "pkg" ? src.replace(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, "$1").replace(/.*\/(src\/[^/]+)\/.*/, "$1") : `${src.replace(/.*node_modules\//, "")} ${e?.name ?? ""}`
    } else key = `${cf.url.replace(/^node:/, "node:")} ${cf.functionName}`.trim() || "(native)"
    sums.set(key, (sums.get(key) ?? 0) + t)
  }
}
console.log(`total ${(total / 1000 / files.length).toFixed(1)} ms per run`)
for (const [k, t] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30))) console.log(`${(t / 1000 / files.length).toFixed(1).padStart(7)} ${k}`)
