// Prototype: CJS bundle + a loader that compiles it with a V8 code cache.
import { build } from "esbuild"
import { copyFileSync } from "node:fs"
const dir = process.argv[2] ?? "/tmp/cc-dist"
await build({ entryPoints: ["src/bin.ts"], outfile: `${dir}/a3s-box.cjs`, bundle: true, platform: "node", format: "cjs", target: "node20", minify: process.env.MIN !== "0", legalComments: "none", logLevel: "warning" })
copyFileSync(new URL("./loader-proto.mjs", import.meta.url), `${dir}/a3s-box.mjs`)
