// Prototype: ONE bash launcher per batch forks every box's wrapper (gate + pid + exit over one socketpair per box, fd 3+i).
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
const N = Number(process.argv[2] ?? 100), heapMB = Number(process.argv[3] ?? 40)
const ballast = []; for (let i = 0; i < heapMB * 1024; i++) ballast.push({ a: "x".repeat(900), i })
const dir = mkdtempSync(path.join(tmpdir(), "a3s-launch-"))
// args per box: fd exit_file log cwd nenv k=v... ncmd cmd...
const L = String.raw`
G=$((3 + N))
closeall=
for ((f = 3; f < G; f++)); do closeall+=" $f>&-"; done
while [ $# -gt 0 ]; do
  fd=$1 exit_file=$2 log=$3 cwd=$4 n=$5; shift 5
  envs=("${"$"}{@:1:n}"); shift "$n"; n=$1; shift
  cmd=("${"$"}{@:1:n}"); shift "$n"
  (
    eval "exec $G<&$fd $closeall"
    exec >>"$log" 2>&1 </dev/null
    cd "$cwd" || exit 126
    set -m
    (
      IFS= read -r go <&$G || go=
      eval "exec $G<&-"
      [ "$go" = go ] || exit 125
      exec "${"$"}{cmd[@]}"
    ) &
    child=$!
    set +m
    exec 2>/dev/null
    trap '' HUP INT QUIT TERM PIPE
    printf '%s\n' "$child" >&$G
    wait "$child"
    code=$?
    printf '%s\n' "$code" >"$exit_file"
    printf 'exit %s\n' "$code" >&$G
    exit "$code"
  ) &
done
`.replace("3 + N", `3 + ${N}`)
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const round = async () => {
  const t0 = performance.now(), c0 = cpu()
  const args = []
  for (let i = 0; i < N; i++) args.push(String(3 + i), path.join(dir, `e${i}`), path.join(dir, `l${i}`), dir, "1", "PATH=" + process.env.PATH, "2", "sleep", String(9000000 + i))
  const w = spawn("/bin/bash", ["--norc", "--noprofile", "-c", L, "launcher", ...args], { detached: true, stdio: ["ignore", "ignore", "ignore", ...Array(N).fill("pipe")], env: {} })
  const kids = await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
    const s = w.stdio[3 + i]
    s.once("data", (d) => resolve({ s, pid: Number(String(d).trim()) }))
  })))
  const t1 = performance.now(), c1 = cpu()
  for (const k of kids) k.s.write("go\n")
  w.unref()
  const t2 = performance.now(), c2 = cpu()
  console.log(`launcher: ${N} boots ${(t1 - t0).toFixed(0)} ms wall, ${(c1 - c0).toFixed(0)} ms cpu; release ${(t2 - t1).toFixed(0)} wall ${(c2 - c1).toFixed(0)} cpu; pids ${kids.slice(0, 3).map((k) => k.pid)}`)
  await new Promise((r) => setTimeout(r, 300))
  const exits = kids.map((k) => new Promise((r) => k.s.on("data", (d) => { if (String(d).startsWith("exit")) r(String(d).trim()) })))
  for (const k of kids) { try { process.kill(-k.pid, "SIGKILL") } catch (e) { console.log("kill", k.pid, e.code) } }
  console.log((await Promise.all(exits)).slice(0, 3))
  for (const k of kids) k.s.destroy()
}
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) await round()
rmSync(dir, { recursive: true, force: true })
