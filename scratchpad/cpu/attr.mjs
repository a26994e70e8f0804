// usage: node attr.mjs PROFILE BUNDLE [skipSeconds]: self time per bundled module, and per innermost src/ frame (responsible app code)
import { readFileSync } from "node:fs"
const prof = JSON.parse(readFileSync(process.argv[2], "utf8"))
const lines = readFileSync(process.argv[3], "utf8").split("\n")
const BUNDLE = process.argv[3].split("/").pop()
const skip = Number(process.argv[4] ?? 0) * 1e6
const mods = [] // [startLine, name]
lines.forEach((l, i) => { const m = /^\/\/ ((?:src|test|node_modules)\/\S+)$/.exec(l); if (m) mods.push([i, m[1].replace(/^node_modules\//, "")]) })
const modOf = (line) => { let lo = 0, hi = mods.length - 1, r = "?"; while (lo <= hi) { const mid = (lo + hi) >> 1; if (mods[mid][0] <= line) { r = mods[mid][1]; lo = mid + 1 } else hi = mid - 1 } return r }
const byId = new Map(prof.nodes.map((n) => [n.id, n])); const parent = new Map()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const counts = new Map(); let t = prof.startTime, total = 0
prof.samples.forEach((id, i) => { t += prof.timeDeltas[i] ?? 0; if (t - prof.startTime < skip) return; const d = prof.timeDeltas[i + 1] ?? 0; counts.set(id, (counts.get(id) ?? 0) + d); total += d })
const label = (n) => { const cf = n.callFrame; if (cf.url.endsWith(BUNDLE)) return `${cf.functionName || "(anon)"} ${modOf(cf.lineNumber)}:${cf.lineNumber}`; return `${cf.functionName || "(anon)"} ${cf.url.replace(/^node:internal\//, "")}` }
const selfMod = new Map(), resp = new Map(), chain = new Map()
for (const [id, v] of counts) {
  const n = byId.get(id); if (n.callFrame.functionName === "(idle)") continue
  const cf = n.callFrame
  const m = cf.url.endsWith(BUNDLE) ? modOf(cf.lineNumber) : (cf.url || cf.functionName)
  selfMod.set(m, (selfMod.get(m) ?? 0) + v)
  let cur = id, found = "(no src frame)", path = []
  while (cur !== undefined) { const c = byId.get(cur); const cc = c.callFrame; if (cc.url.endsWith(BUNDLE) && modOf(cc.lineNumber).startsWith("src/")) { found = label(c); break } cur = parent.get(cur) }
  resp.set(found, (resp.get(found) ?? 0) + v)
}
const show = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([a, v]) => `${(v / 1000).toFixed(1).padStart(8)} ${a}`).join("\n")
console.log(`total ${(total / 1000).toFixed(0)} ms\n== self by module\n${show(selfMod, 25)}\n== by innermost src/ frame\n${show(resp, 40)}`)
