// Self time of a .cpuprofile, by bundled source module (from esbuild's "// path" comments in an unminified bundle).
import { readFileSync, readdirSync } from "node:fs"
const [dir, bundle] = process.argv.slice(2)
const prof = JSON.parse(readFileSync(`${dir}/${readdirSync(dir)[0]}`, "utf8"))
const lines = readFileSync(bundle, "utf8").split("\n")
const modAt = []
let cur = "(banner)"
for (const l of lines) { const m = l.match(/^\/\/ ((?:node_modules|src)\/\S+)$/); if (m) cur = m[1]; modAt.push(cur) }
const counts = new Map()
const skipMs = Number(process.env.SKIP_MS ?? 0)
let at = 0, total = 0
prof.samples.forEach((id, i) => { at += prof.timeDeltas[i] ?? 0; if (at / 1000 < skipMs) return; total += prof.timeDeltas[i] ?? 0; counts.set(id, (counts.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)) })
console.log("window ms", (total / 1000).toFixed(0))
const byMod = new Map(), byPkg = new Map(), byFn = new Map()
for (const n of prof.nodes) {
  const t = counts.get(n.id) ?? 0
  if (!t) continue
  const cf = n.callFrame
  const mod = cf.url.endsWith(bundle.split("/").pop()) ? modAt[cf.lineNumber] ?? "?" : `${cf.url || cf.functionName}`
  byMod.set(mod, (byMod.get(mod) ?? 0) + t)
  const pm = mod.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  const pkg = pm ? pm[1] : mod.startsWith("src/") ? "src" : mod
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t)
  const fk = `${cf.functionName || "(anon)"} ${mod}:${cf.lineNumber}`
  byFn.set(fk, (byFn.get(fk) ?? 0) + t)
}
const show = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000).toFixed(1).padStart(7)} ${k}`).join("\n")
console.log("== by package\n" + show(byPkg, 20) + "\n== by module\n" + show(byMod, 30) + "\n== by function\n" + show(byFn, 30))
