// The floor of supervision (issue 13), a peer of the bench: `node floor.mjs PIDFILE N CMD [ARGS...]`
// runs N copies of CMD and spawns one again as soon as one exits, nothing else (no state, no
// backoff, no logs). PIDFILE: the current pids as a JSON array, rewritten (temp and rename) once
// per turn of the event loop in which one changed.
import { spawn } from "node:child_process"
import { renameSync, writeFileSync } from "node:fs"
const [file, n, cmd, ...args] = process.argv.slice(2)
const pids = []
let queued = false
const write = () => { writeFileSync(`${file}.tmp`, JSON.stringify(pids)); renameSync(`${file}.tmp`, file); queued = false }
const run = (i) => { pids[i] = spawn(cmd, args, { stdio: "ignore" }).on("exit", () => run(i)).pid; if (!queued) { queued = true; setImmediate(write) } }
for (let i = 0; i < Number(n); i++) run(i)
