// Interleaved A/B of commands: median and p90 of wall and CPU (user+sys of the child) over N runs each.
import { spawnSync } from "node:child_process"
const n = Number(process.argv[2])
const cmds = process.argv.slice(3).map((c) => c.split(" "))
const res = cmds.map(() => ({ wall: [], cpu: [] }))
for (let i = 0; i < n; i++) {
  cmds.forEach((c, k) => {
    const t = process.hrtime.bigint()
    const r = spawnSync("/usr/bin/time", ["-f", "%U %S", ...c], { encoding: "utf8" })
    const wall = Number(process.hrtime.bigint() - t) / 1e6
    const [u, s] = r.stderr.trim().split("\n").at(-1).split(" ").map(Number)
    res[k].wall.push(wall); res[k].cpu.push((u + s) * 1000)
  })
}
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
cmds.forEach((c, k) => console.log(`${c.slice(-2).join(" ").padEnd(40)} wall med ${q(res[k].wall, .5).toFixed(0)} p90 ${q(res[k].wall, .9).toFixed(0)} | cpu med ${q(res[k].cpu, .5).toFixed(0)} p90 ${q(res[k].cpu, .9).toFixed(0)}`))
