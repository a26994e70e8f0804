#!/usr/bin/env node
import { createRequire } from "node:module"
import { readFileSync, writeFileSync } from "node:fs"
import vm from "node:vm"
import path from "node:path"
import { fileURLToPath } from "node:url"
const here = path.dirname(fileURLToPath(import.meta.url))
const file = path.join(here, "a3s-box.cjs")
const cacheFile = file + ".cache"
const source = readFileSync(file, "utf8")
let cachedData
try { cachedData = readFileSync(cacheFile) } catch {}
const wrapper = "(function (exports, require, module, __filename, __dirname) {" + source + "\n})"
const t0 = performance.now()
const script = new vm.Script(wrapper, { filename: file, cachedData })
const t1 = performance.now()
const fn = script.runInThisContext()
const require = createRequire(file)
const module = { exports: {} }
fn(module.exports, require, module, file, here)
const t2 = performance.now()
if (process.env.T) process.on("exit", () => console.error(`start ${t0.toFixed(1)} compile ${(t1 - t0).toFixed(1)} rejected ${script.cachedDataRejected} sync-run ${(t2 - t1).toFixed(1)} exit-at ${performance.now().toFixed(1)}`))
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => { try { writeFileSync(cacheFile, script.createCachedData()) } catch {} })
}
