// Bundles the CLI into one ESM file (dist/a3s-box.mjs): start-up is ~4x faster than
// running tsc output (see ../shared/EFFECT_NOTES.md). Runs on `npm ci` via `prepare`.
import { build } from "esbuild"
import { chmodSync } from "node:fs"

const outfile = "dist/a3s-box.mjs"
await build({
  entryPoints: ["src/bin.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  keepNames: false,
  sourcemap: "linked",
  legalComments: "none",
  // Effect's dependencies still call require() for Node built-ins.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);"
  },
  logLevel: "warning"
})
chmodSync(outfile, 0o755)
