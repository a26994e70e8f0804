/**
 * Probe cost (issue 15): 100 `run -d` boxes, each health-checked every 5 s against one HTTP
 * server on loopback (in this process, answering 200), first with `--health-cmd` running
 * `curl -fsS -o /dev/null URL` (a shell and a curl per probe), then with `--health-http URL`
 * (one socket in the monitor). Each variant has its own home and monitor, run in turn, A B A B.
 * Measured: the monitor's CPU (schedstat, every thread) plus its reaped children's (the probes:
 * /proc/PID/stat cutime + cstime, clock ticks), per second, over windows of steady probing.
 */
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import { BenchHome, cpuMillisOf, figure, type Figure, now, sleep } from "./support.js"

const BOXES = 100
const INTERVAL_SECS = 5
const TICKS_PER_SEC = 100

/** CPU ms of the monitor's reaped children (its probes), from /proc/PID/stat fields 16 and 17. */
const childrenCpuMillis = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // fields[0] is field 3 (state): cutime is field 16, cstime 17.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SEC
}

interface Variant {
  readonly name: "cmd" | "http"
  readonly home: BenchHome
  readonly own: Array<number>
  readonly total: Array<number>
}

export const probeCost = async (rounds: number, windowMs: number): Promise<ReadonlyArray<Figure>> => {
  let served = 0
  const server = http.createServer((_request, response) => {
    served++
    response.end("ok")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/healthz`
  try {
    const variants: Array<Variant> = []
    for (const name of ["cmd", "http"] as const) {
      const home = new BenchHome()
      const check = name === "cmd" ? ["--health-cmd", `curl -fsS -o /dev/null ${url}`] : ["--health-http", url]
      await home.runBoxes(BOXES, (i) => `p${i}`, (i) => ["sleep", String(3_000_000 + i)], 4, [
        ...check,
        "--health-interval",
        String(INTERVAL_SECS)
      ])
      variants.push({ name, home, own: [], total: [] })
    }
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        const monitor = await v.home.startMonitor()
        const pid = monitor.pid!
        // Every box probed at least once (the first probes all run at start), then steady state.
        await sleep(2 * INTERVAL_SECS * 1000)
        const own0 = cpuMillisOf(pid)
        const children0 = childrenCpuMillis(pid)
        const served0 = served
        const t0 = now()
        await sleep(windowMs)
        const seconds = (now() - t0) / 1000
        const own = cpuMillisOf(pid) - own0
        const children = childrenCpuMillis(pid) - children0
        v.own.push(own / seconds)
        v.total.push((own + children) / seconds)
        console.log(`  ${v.name} round ${round + 1}: ${((served - served0) / seconds).toFixed(1)} probes/s, monitor ${(own / seconds).toFixed(1)} ms/s, with its children ${((own + children) / seconds).toFixed(1)} ms/s`)
        await v.home.stopMonitor()
      }
    }
    const [cmd, httpVariant] = variants as [Variant, Variant]
    const method = `${BOXES} run -d boxes, each probed every ${INTERVAL_SECS} s against one loopback HTTP server; a monitor per variant, run in turn ${rounds} round(s) (A B A B); CPU over a ${
      windowMs / 1000
    } s window after ${2 * INTERVAL_SECS} s: the monitor's threads (schedstat) plus its reaped children (cutime + cstime)`
    const ratio = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
      const sum = (xs: ReadonlyArray<number>) => xs.reduce((x, y) => x + y, 0)
      return (sum(a) / sum(b)).toFixed(1)
    }
    return [
      figure({
        id: "probe_cpu_cmd_100",
        title: `probe CPU, ${BOXES} boxes every ${INTERVAL_SECS} s, --health-cmd curl (monitor + children)`,
        unit: "ms/s",
        samples: cmd.total,
        method,
        notes: [`the monitor's own threads alone: ${cmd.own.map((x) => x.toFixed(1)).join(", ")} ms/s`]
      }),
      figure({
        id: "probe_cpu_http_100",
        title: `probe CPU, ${BOXES} boxes every ${INTERVAL_SECS} s, --health-http (monitor + children)`,
        unit: "ms/s",
        samples: httpVariant.total,
        method,
        notes: [
          `the monitor's own threads alone: ${httpVariant.own.map((x) => x.toFixed(1)).join(", ")} ms/s`,
          `cmd / http: ${ratio(cmd.total, httpVariant.total)}x (summed over the rounds)`
        ]
      })
    ]
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}
