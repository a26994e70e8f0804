import { build } from "esbuild"
await build({ entryPoints: ["scratchpad/bench/cycleprof.ts"], outfile: "scratchpad/cpu/cycleprof.mjs", bundle: true, platform: "node", format: "esm", target: "node20", minify: false, legalComments: "none", external: ["vitest"],
  banner: { js: "import { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);" }, logLevel: "warning" })
