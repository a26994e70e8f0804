import { build } from "esbuild"
await build({ entryPoints: [process.argv[2]], outfile: process.argv[3], bundle: true, platform: "node", format: "esm", target: "node20", minify: true, legalComments: "none",
  banner: { js: "import { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);" }, logLevel: "warning" })
