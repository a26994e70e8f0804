// Preload (--require) for the monitor: every second, its memory as Node sees it, to $A3S_MEMDUMP.
const fs = require("node:fs"); const v8 = require("node:v8")
const file = process.env.A3S_MEMDUMP
if (file) setInterval(() => {
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: +(s.space_size / 1048576).toFixed(2), used: +(s.space_used_size / 1048576).toFixed(2) }]))
  const mu = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, +(v / 1048576).toFixed(2)]))
  const h = v8.getHeapStatistics(); const c = v8.getHeapCodeStatistics()
  fs.writeFileSync(file, JSON.stringify({ mu, spaces, malloced: +(h.malloced_memory / 1048576).toFixed(2), peakMalloced: +(h.peak_malloced_memory / 1048576).toFixed(2), external: +(h.external_memory / 1048576).toFixed(2), code: c, handles: process._getActiveHandles().length }))
}, 1000).unref()
