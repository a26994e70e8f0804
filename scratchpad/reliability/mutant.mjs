// Builds the CLI with one textual change in src/monitor/Supervisor.ts (FROM -> TO) into OUT, to check that a
// reliability test catches the bug it is about:  node scratchpad/reliability/mutant.mjs FROM TO OUT
// then run the test with A3S_TEST_BIN=OUT.
import { build } from "esbuild"
import { readFileSync } from "node:fs"
const [from, to, out] = process.argv.slice(2)
await build({
  entryPoints: ["src/bin.ts"], outfile: out, bundle: true, platform: "node", format: "cjs", target: "node20", logLevel: "warning",
  plugins: [{ name: "mutate", setup(b) { b.onLoad({ filter: /Supervisor\.ts$/ }, (args) => {
    const text = readFileSync(args.path, "utf8"); if (!text.includes(from)) throw new Error("pattern not found"); return { contents: text.replace(from, to), loader: "ts" } }) } }]
})
