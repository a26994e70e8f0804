import { readFileSync, readdirSync } from "node:fs"
const dir = process.argv[2]
const prof = JSON.parse(readFileSync(`${dir}/${readdirSync(dir)[0]}`, "utf8"))
const counts = new Map()
prof.samples.forEach((id, i) => counts.set(id, (counts.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)))
const byFile = new Map(), byFn = new Map()
for (const n of prof.nodes) {
  const t = counts.get(n.id) ?? 0; if (!t) continue
  const cf = n.callFrame
  const file = cf.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/main\//, "") || cf.functionName
  byFile.set(file, (byFile.get(file) ?? 0) + t)
  const k = `${cf.functionName || "(anon)"} ${file}:${cf.lineNumber}`
  byFn.set(k, (byFn.get(k) ?? 0) + t)
}
const show = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(1).padStart(7)} ${k}`).join("\n")
console.log("== by file\n" + show(byFile, 25) + "\n== by function\n" + show(byFn, 40))
