// A private unminified bundle of the current tree (for profiles with function names): /tmp/cpu-dist/a3s-box.mjs
import { build } from "esbuild"
await build({ entryPoints: ["src/bin.ts"], outfile: process.argv[2] ?? "/tmp/cpu-dist/a3s-box.mjs", bundle: true, platform: "node", format: "esm", target: "node20", minify: false, legalComments: "none",
  banner: { js: "import { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);" }, logLevel: "warning" })
