import { build } from "esbuild"
import { printerPatches } from "../../scripts/printer-patches.mjs"
await build({ entryPoints: ["src/bin.ts"], outfile: process.argv[2], bundle: true, platform: "node", format: "cjs", target: "node20", minify: false, logLevel: "warning", plugins: [printerPatches] })
