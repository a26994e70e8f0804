import { build } from "esbuild"
const r = await build({ entryPoints: [process.argv[2]], outfile: "/tmp/cli-bench/meta.mjs", bundle: true, platform: "node", format: "esm", target: "node20", minify: true, metafile: true, write: true, legalComments: "none",
  banner: { js: "import { createRequire as __a3sCreateRequire } from 'node:module';const require = __a3sCreateRequire(import.meta.url);" }, logLevel: "warning" })
const out = Object.values(r.metafile.outputs)[0]
const byPkg = {}
for (const [file, info] of Object.entries(out.inputs)) {
  const m = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  const key = m ? m[1] : file.split("/").slice(0, 2).join("/")
  byPkg[key] = (byPkg[key] ?? 0) + info.bytesInOutput
}
console.log(Object.entries(byPkg).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${(v / 1024).toFixed(0).padStart(5)}K ${k}`).join("\n"))
const ours = Object.entries(out.inputs).filter(([f]) => f.startsWith("src/")).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput).slice(0, 40)
console.log(ours.map(([f, i]) => `${(i.bytesInOutput / 1024).toFixed(1).padStart(6)}K ${f}`).join("\n"))
