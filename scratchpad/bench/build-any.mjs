import { build } from "esbuild"
await build({ entryPoints: [process.argv[2]], outfile: process.argv[3], bundle: true, platform: "node", format: "esm", target: "node20", minify: false, keepNames: true, logLevel: "warning",
  banner: { js: "import { createRequire as __cr } from 'node:module';const require = __cr(import.meta.url);" } })
