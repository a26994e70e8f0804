// The esbuild plugin with which scripts/bundle.mjs swaps three Effect-per-step passes of help
// rendering for the synchronous ports in printer-layout.mjs (same algorithms, same output: see
// test/cli/printerLayout.test.ts). @effect/cli lays out help as: optimize the document
// (@effect/printer Optimize, deep: again at every reaction the layout meets), lay it out
// (Wadler-Leijen), render the stream with ANSI styles (@effect/printer-ansi). Each is one line
// of the library's module to replace; should the library change so that a line is gone, that
// module is bundled unpatched, with a warning (slower --help, same output).
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const port = JSON.stringify(path.join(path.dirname(fileURLToPath(import.meta.url)), "printer-layout.mjs"))

export const patches = [
  {
    name: "layout",
    file: /[\\/]@effect[\\/]printer[\\/]dist[\\/]esm[\\/]internal[\\/]layout\.js$/,
    line:
      "export const wadlerLeijen = /*#__PURE__*/dual(3, (self, fits, options) => Effect.runSync(wadlerLeijenSafe(InternalPipeline.cons(0, self, InternalPipeline.nil), 0, 0, fits, options)));",
    replacement: `import { makeWadlerLeijen as a3sMakeWadlerLeijen } from ${port};
const a3sWadlerLeijen = a3sMakeWadlerLeijen(InternalDocStream, InternalPipeline);
export const wadlerLeijen = /*#__PURE__*/dual(3, (self, fits, options) => a3sWadlerLeijen(self, fits, options, () => Effect.runSync(wadlerLeijenSafe(InternalPipeline.cons(0, self, InternalPipeline.nil), 0, 0, fits, options))));`
  },
  {
    name: "optimize",
    file: /[\\/]@effect[\\/]printer[\\/]dist[\\/]esm[\\/]internal[\\/]optimize\.js$/,
    line: "export const optimize = /*#__PURE__*/dual(2, (self, depth) => Effect.runSync(optimizeSafe(self, depth)));",
    replacement: `import { makeOptimize as a3sMakeOptimize } from ${port};
const a3sOptimize = a3sMakeOptimize(InternalDoc, (self, depth) => Effect.runSync(optimizeSafe(self, depth)));
export const optimize = /*#__PURE__*/dual(2, (self, depth) => a3sOptimize(self, depth));`
  },
  {
    name: "ANSI render",
    file: /[\\/]@effect[\\/]printer-ansi[\\/]dist[\\/]esm[\\/]internal[\\/]ansiRender\.js$/,
    line: "export const renderStream = self => Effect.runSync(renderSafe(self, List.of(InternalAnsi.none)));",
    replacement: `import { makeRenderStream as a3sMakeRenderStream } from ${port};
const a3sRenderStream = a3sMakeRenderStream(InternalAnsi, List);
export const renderStream = self => a3sRenderStream(self, () => Effect.runSync(renderSafe(self, List.of(InternalAnsi.none))));`
  }
]

/** The patched source of a library module, or undefined when its line is not there (left as it is). */
export const patched = (patch, source) => (source.includes(patch.line) ? source.replace(patch.line, () => patch.replacement) : undefined)

export const printerPatches = {
  name: "printer-patches",
  setup(build) {
    for (const patch of patches) {
      build.onLoad({ filter: patch.file }, (args) => {
        const contents = patched(patch, readFileSync(args.path, "utf8"))
        if (contents === undefined) {
          console.warn(`bundle: ${args.path} changed; its ${patch.name} is left unpatched (slower --help)`)
          return undefined
        }
        return { contents, loader: "js", resolveDir: path.dirname(args.path) }
      })
    }
  }
}
