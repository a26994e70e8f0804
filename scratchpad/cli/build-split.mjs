import { build } from "esbuild"
await build({ entryPoints: { "a3s-box": "src/bin.ts" }, outdir: process.argv[2], entryNames: "[name]", chunkNames: "chunks/[name]-[hash]", outExtension: { ".js": ".mjs" }, splitting: true, bundle: true, platform: "node", format: "esm", target: "node20", minify: true, legalComments: "none",
  banner: { js: "import { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);" }, logLevel: "warning" })
