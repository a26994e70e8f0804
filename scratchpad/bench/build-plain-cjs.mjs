// Unminified CJS bundle (for profiles): OUT/a3s-box.cjs; PATCH=1 applies the printer layout patch.
import { build } from "esbuild"
import { readFileSync } from "node:fs"
import * as path from "node:path"
const LAYOUT_LINE =
  "export const wadlerLeijen = /*#__PURE__*/dual(3, (self, fits, options) => Effect.runSync(wadlerLeijenSafe(InternalPipeline.cons(0, self, InternalPipeline.nil), 0, 0, fits, options)));"
const printerLayout = {
  name: "printer-layout",
  setup(build) {
    build.onLoad({ filter: /[\\/]@effect[\\/]printer[\\/]dist[\\/]esm[\\/]internal[\\/]layout\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8")
      if (!source.includes(LAYOUT_LINE)) {
        console.warn(`bundle: ${args.path} changed; its layout is left unpatched (slower --help)`)
        return undefined
      }
      const port = JSON.stringify(path.resolve("scripts", "printer-layout.mjs"))
      const contents = source.replace(
        LAYOUT_LINE,
        `import { makeWadlerLeijen as a3sMakeWadlerLeijen } from ${port};
const a3sWadlerLeijen = a3sMakeWadlerLeijen(InternalDocStream, InternalPipeline);
export const wadlerLeijen = /*#__PURE__*/dual(3, (self, fits, options) => a3sWadlerLeijen(self, fits, options, () => Effect.runSync(wadlerLeijenSafe(InternalPipeline.cons(0, self, InternalPipeline.nil), 0, 0, fits, options))));`
      )
      return { contents, loader: "js", resolveDir: path.dirname(args.path) }
    })
  }
}


await build({ entryPoints: ["src/bin.ts"], outfile: `${process.argv[2]}/a3s-box.cjs`, bundle: true, platform: "node", format: "cjs", target: "node20", minify: false, keepNames: false, legalComments: "none", logLevel: "warning", plugins: process.env.PATCH ? [printerLayout] : [] })
