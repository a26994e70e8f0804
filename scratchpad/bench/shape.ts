import { summarize } from "../../src/metrics/Exposition.js"
import { idleFleet } from "../../test/bench/fleet.js"
const text = JSON.stringify(idleFleet(1000, [{ pid: 1, startTime: 1 }], "/tmp/x"), null, 2)
const known = { id: "x", short_id: "y", name: "n", status: "running", pid: 5, pid_start_time: 7, cmd: ["a"], env: {}, box_dir: "d", console_log: "c", workdir: null, created_at: "t", started_at: null, auto_remove: false, restart_policy: "always", max_restart_count: 0, restart_count: 3, stopped_by_user: false, exit_code: null, health_check: null, healthcheck_disabled: false, health_status: "none", health_retries: 0, health_last_check: null, stop_signal: null, stop_timeout: null }
const variants: Record<string, (item: any) => any> = {
  "spread+freeze": (item) => Object.freeze({ ...item, ...known }),
  "spread": (item) => ({ ...item, ...known }),
  "assign+freeze": (item) => Object.freeze(Object.assign({}, item, known)),
  "known-first+freeze": (item) => Object.freeze({ ...known, ...item, ...known }),
  "loop+freeze": (item) => { const o: any = {}; for (const k of Object.keys(item)) { if (k === "__proto__") Object.defineProperty(o, k, { value: item[k], enumerable: true, writable: true, configurable: true }); else o[k] = item[k] } for (const k of Object.keys(known)) o[k] = (known as any)[k]; return Object.freeze(o) },
}
for (const [name, make] of Object.entries(variants)) {
  const recs = (JSON.parse(text) as any[]).map(make)
  const ts: number[] = []
  for (let r = 0; r < 6; r++) { const t = performance.now(); for (let i = 0; i < 50; i++) summarize(recs); ts.push(performance.now() - t) }
  console.log(name.padEnd(22), ts.map((x) => x.toFixed(0)).join(" "), "ms per 50")
}
