import { readFileSync, readdirSync } from "node:fs"
const dir = process.argv[2]
const prof = JSON.parse(readFileSync(`${dir}/${readdirSync(dir)[0]}`, "utf8"))
const lines = process.argv[3] ? readFileSync(process.argv[3], "utf8").split("\n") : []
const modAt = []; let cur = "?"
for (const l of lines) { const m = l.match(/^\/\/ ((?:node_modules|src)\/\S+)$/); if (m) cur = m[1]; modAt.push(cur) }
const self = new Map(), incl = new Map()
const walk = (n, stack) => {
  const cf = n.callFrame
  const key = `${cf.functionName || "(anon)"} ${modAt[cf.lineNumber] ?? cf.url.split("/").pop()}:${cf.lineNumber}`
  const s = n.selfSize
  self.set(key, (self.get(key) ?? 0) + s)
  const st = new Set(stack); st.add(key)
  for (const k of st) incl.set(k, (incl.get(k) ?? 0) + s)
  for (const c of n.children) walk(c, st)
}
walk(prof.head, new Set())
const show = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1024).toFixed(0).padStart(8)}K ${k}`).join("\n")
console.log("== self\n" + show(self, 25) + "\n== inclusive\n" + show(incl, 60))
