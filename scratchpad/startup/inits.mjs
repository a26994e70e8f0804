// Builds an unminified bundle of src/bin.ts whose esbuild __esm/__commonJS wrappers log each module they evaluate.
import { build } from "esbuild"
import { writeFileSync } from "node:fs"
import { printerPatches } from "../../scripts/printer-patches.mjs"
const out = process.argv[2] ?? "scratchpad/startup/out/inits.cjs"
const r = await build({ entryPoints: ["src/bin.ts"], bundle: true, platform: "node", format: "cjs", target: "node20", write: false, outfile: out, plugins: [printerPatches], logLevel: "warning" })
let code = r.outputFiles[0].text
code = code.replace(/var __esm = \((fn2?), res, err\) => function __init\(\) \{/, (m, f) => m + ` if (${f}) (globalThis.__inits ??= []).push(__getOwnPropNames(${f})[0]);`)
code = code.replace(/var __commonJS = \(cb, mod\) => function __require\(\) \{/, 'var __commonJS = (cb, mod) => function __require() { if (!mod) (globalThis.__inits ??= []).push(__getOwnPropNames(cb)[0]);')
code = code.replace('"use strict";', '"use strict";\nprocess.on("exit", () => { if (process.env.INITS) require("fs").writeFileSync(process.env.INITS, (globalThis.__inits ?? []).join("\\n") + "\\n") });')
writeFileSync(out, code)
