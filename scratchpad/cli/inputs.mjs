import { build } from "esbuild"
const r = await build({ entryPoints: [process.argv[2]], outfile: "/tmp/cli-bench/x.mjs", bundle: true, platform: "node", format: "esm", target: "node20", minify: true, metafile: true, write: false, logLevel: "warning" })
const out = Object.values(r.metafile.outputs)[0]
for (const [f, i] of Object.entries(out.inputs)) console.log(i.bytesInOutput, f)
