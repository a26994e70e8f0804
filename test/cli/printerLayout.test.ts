/**
 * The bundle renders help text with synchronous ports of @effect/printer's optimize and
 * Wadler-Leijen layout and of @effect/printer-ansi's render (scripts/printer-layout.mjs, patched
 * in by scripts/printer-patches.mjs): they must give exactly the library's output, for every
 * command's help and for any document.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Ansi from "@effect/printer-ansi/Ansi"
import * as Doc from "@effect/printer/Doc"
import * as Optimize from "@effect/printer/Optimize"
import * as PageWidth from "@effect/printer/PageWidth"
import { describe, expect, it } from "@effect/vitest"
import * as List from "effect/List"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Cli from "../../src/cli/Cli.js"
import { makeOptimize, makeRenderStream, makeWadlerLeijen } from "../../scripts/printer-layout.mjs"
import { patched, patches } from "../../scripts/printer-patches.mjs"

// The library's internals, which the bundle patch works with (not in the packages' exports).
const internal = (pkg: string, file: string) =>
  import(pathToFileURL(path.resolve("node_modules", pkg, "dist/esm/internal", file)).href)
const Layout = await internal("@effect/printer", "layout.js")
const DocStream = await internal("@effect/printer", "docStream.js")
const Pipeline = await internal("@effect/printer", "layoutPipeline.js")
const HelpDoc = await internal("@effect/cli", "helpDoc.js")
const AnsiRender = await internal("@effect/printer-ansi", "ansiRender.js")
const InternalDoc = await internal("@effect/printer", "doc.js")
const InternalOptimize = await internal("@effect/printer", "optimize.js")
const InternalAnsi = await internal("@effect/printer-ansi", "ansi.js")
const ported = makeWadlerLeijen(DocStream, Pipeline)
let optimizeFellBack = 0
const portedOptimize = makeOptimize(InternalDoc, (doc: Doc.Doc<unknown>, depth: Optimize.FusionDepth) => {
  optimizeFellBack++
  return InternalOptimize.optimize(doc, depth)
})
let renderFellBack = 0
const portedRenderStream = makeRenderStream(InternalAnsi, List)
const portedRender = (stream: unknown) =>
  portedRenderStream(stream, () => {
    renderFellBack++
    return AnsiRender.renderStream(stream)
  })

/** `fits` of the library's "pretty" layout (a copy: the library does not export it); the same for both sides. */
const fitsPretty = (pageWidth: PageWidth.PageWidth) => (stream: any, indentation: number, currentColumn: number) => {
  if (pageWidth._tag !== "AvailablePerLine") return true
  let w = PageWidth.remainingWidth(pageWidth.lineWidth, pageWidth.ribbonFraction, indentation, currentColumn)
  let s = stream
  while (w >= 0) {
    switch (s._tag) {
      case "FailedStream":
        return false
      case "EmptyStream":
      case "LineStream":
        return true
      case "CharStream":
        w -= 1
        break
      case "TextStream":
        w -= s.text.length
        break
    }
    s = s.stream
  }
  return false
}

const layOut = (doc: Doc.Doc<unknown>, pageWidth: PageWidth.PageWidth) => {
  const options = Layout.options(pageWidth)
  const fits = fitsPretty(pageWidth)
  let fellBack = false
  const library = Layout.wadlerLeijen(doc, fits, options)
  const port = ported(doc, fits, options, () => {
    fellBack = true
    return Layout.wadlerLeijen(doc, fits, options)
  })
  return { library, port, fellBack }
}

type AnyCommand = Command.Command<any, any, any, any>

/** A command with its subcommands, all the way down. */
const commands = (command: AnyCommand): Array<AnyCommand> => [
  command,
  ...((command as any).descriptor?.children ?? []).map((child: any) => Command.fromDescriptor(child)).flatMap(commands)
]

const allCommands = (): Array<AnyCommand> => [
  Cli.rootCommand as AnyCommand,
  ...Cli.subcommands.flatMap((c) => commands(c as AnyCommand))
]

/** Generated documents: every constructor, annotated with strings. */
const docs = (annotation: fc.Arbitrary<unknown>) => {
  const word = fc.stringMatching(/^[a-z]{0,6}$/)
  return fc.letrec<{ doc: Doc.Doc<unknown> }>((tie) => ({
    doc: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      word.map((w) => Doc.text(w)),
      fc.constantFrom(Doc.line, Doc.lineBreak, Doc.softLine, Doc.softLineBreak, Doc.hardLine, Doc.empty, Doc.char("x")),
      fc.tuple(tie("doc"), tie("doc")).map(([a, b]) => Doc.cat(a, b)),
      fc.tuple(fc.integer({ min: 0, max: 6 }), tie("doc")).map(([n, d]) => Doc.nest(d, n)),
      tie("doc").map((d) => Doc.group(d)),
      fc.tuple(tie("doc"), tie("doc")).map(([a, b]) => Doc.flatAlt(a, b)),
      tie("doc").map((d) => Doc.align(d)),
      fc.tuple(fc.integer({ min: 0, max: 4 }), tie("doc")).map(([n, d]) => Doc.hang(d, n)),
      fc.array(tie("doc"), { maxLength: 5 }).map((ds) => Doc.fillSep(ds)),
      fc.array(tie("doc"), { maxLength: 5 }).map((ds) => Doc.vsep(ds)),
      fc.tuple(tie("doc"), annotation).map(([d, a]) => Doc.annotate(d, a)),
      tie("doc").map((d) => Doc.pageWidth(() => d)),
      fc.constant(Doc.fail)
    )
  })).doc
}

/** The library's layout and render of a document, as @effect/cli's help. */
const render = (doc: Doc.Doc<unknown>) => AnsiRender.renderStream(Layout.pretty(doc, Layout.options(PageWidth.defaultPageWidth)))

describe("synchronous help rendering (bundle patches)", () => {
  it("patches lines that are in the installed libraries", () => {
    expect(patches.map((p: { readonly name: string }) => p.name)).toEqual(["layout", "optimize", "ANSI render"])
    for (const patch of patches) {
      const [pkg, file] = patch.name === "ANSI render" ? ["@effect/printer-ansi", "ansiRender.js"] : ["@effect/printer", `${patch.name}.js`]
      const source = readFileSync(path.resolve("node_modules", pkg, "dist/esm/internal", file), "utf8")
      const result = patched(patch, source)
      expect(result).toBeDefined()
      expect(result).not.toContain(patch.line)
      expect(patched(patch, "export const other = 1")).toBeUndefined()
    }
  })

  it("renders the help of every command exactly as the library does", () => {
    const all = allCommands()
    expect(all.length).toBeGreaterThan(10)
    optimizeFellBack = 0
    renderFellBack = 0
    for (const command of all) {
      const help = Command.getHelp(command, CliConfig.defaultConfig)
      const expected = HelpDoc.toAnsiText(help)
      // Each port alone (optimize on the library's optimized document: it runs again at every
      // reaction during layout), then all three together, as in the bundle.
      const optimized = HelpDoc.toAnsiDoc(help)
      const doc = portedOptimize(optimized, Optimize.Deep)
      expect(render(InternalOptimize.optimize(optimized, Optimize.Deep))).toBe(expected)
      expect(render(doc)).toBe(expected)
      const { fellBack, library, port } = layOut(optimized, PageWidth.defaultPageWidth)
      expect(fellBack).toBe(false)
      expect(AnsiRender.renderStream(port)).toBe(expected)
      expect(portedRender(library)).toBe(expected)
      expect(portedRender(layOut(doc, PageWidth.defaultPageWidth).port)).toBe(expected)
      expect(expected.length).toBeGreaterThan(50)
    }
    expect(optimizeFellBack).toBe(0)
    expect(renderFellBack).toBe(0)
  })

  it("gives the library's layout for generated documents and page widths", () => {
    const doc = docs(fc.constant("note"))
    const pageWidth = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.1, max: 1, noNaN: true }))
        .map(([width, ribbon]) => PageWidth.availablePerLine(width, ribbon)),
      fc.constant(PageWidth.defaultPageWidth)
    )
    fc.assert(
      fc.property(doc, pageWidth, (d, width) => {
        const { library, port } = layOut(d, width)
        expect(port).toStrictEqual(library)
      }),
      { numRuns: 400 }
    )
  })

  it("optimizes generated documents as the library does (deep and shallow)", () => {
    const pageWidth = fc.tuple(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.1, max: 1, noNaN: true }))
      .map(([width, ribbon]) => PageWidth.availablePerLine(width, ribbon))
    optimizeFellBack = 0
    fc.assert(
      fc.property(docs(fc.constant("note")), pageWidth, fc.constantFrom(Optimize.Deep, Optimize.Shallow), (d, width, depth) => {
        const options = Layout.options(width)
        const fits = fitsPretty(width)
        const library = Layout.wadlerLeijen(InternalOptimize.optimize(d, depth), fits, options)
        expect(Layout.wadlerLeijen(portedOptimize(d, depth), fits, options)).toStrictEqual(library)
      }),
      { numRuns: 400 }
    )
    // Text merging (the rules the generated documents rarely meet), compared as documents.
    const texts = Doc.cats([Doc.char("a"), Doc.text("bc"), Doc.cat(Doc.char("d"), Doc.text("e")), Doc.cat(Doc.text("f"), Doc.char("g")), Doc.nest(Doc.nest(Doc.text("h"), 1), 2), Doc.nest(Doc.empty, 0)])
    expect(portedOptimize(texts, Optimize.Deep)).toStrictEqual(InternalOptimize.optimize(texts, Optimize.Deep))
    expect(optimizeFellBack).toBe(0)
  })

  it("renders generated streams with ANSI styles as the library does", () => {
    const style = fc.constantFrom(Ansi.bold, Ansi.red, Ansi.italicized, Ansi.combine(Ansi.underlined, Ansi.bgBlue), Ansi.cyan)
    renderFellBack = 0
    fc.assert(
      fc.property(docs(style), fc.integer({ min: 1, max: 100 }), (d, width) => {
        const stream = Layout.pretty(d, Layout.options(PageWidth.availablePerLine(width, 1)))
        let library: unknown
        try {
          library = AnsiRender.renderStream(stream)
        } catch (error) {
          library = error
        }
        if (typeof library === "string") expect(portedRender(stream)).toBe(library)
        else expect(() => portedRender(stream)).toThrow()
      }),
      { numRuns: 400 }
    )
    // A failed stream and an unbalanced one are the library's to report, as they always were.
    expect(() => portedRender(DocStream.failed)).toThrow()
    expect(() => portedRender(DocStream.popAnnotation(DocStream.empty))).toThrow()
    expect(renderFellBack).toBeGreaterThan(0)
  })

  it("needs no stack for long output; falls back to the library's stack-safe layout on a stack overflow", () => {
    let long: Doc.Doc<never> = Doc.empty
    for (let i = 0; i < 20_000; i++) long = Doc.cat(i % 10 === 0 ? Doc.hardLine : Doc.char("a"), long)
    const flat = layOut(long, PageWidth.defaultPageWidth)
    expect(flat.fellBack).toBe(false)
    expect(AnsiRender.renderStream(flat.port)).toBe(AnsiRender.renderStream(flat.library))
    // A stack overflow in the port (groups nested deeper than the stack) means the library's own layout.
    const doc = Doc.group(Doc.cat(Doc.text("a"), Doc.cat(Doc.softLine, Doc.text("b"))))
    const options = Layout.options(PageWidth.defaultPageWidth)
    const overflowing = () => {
      throw new RangeError("Maximum call stack size exceeded")
    }
    const library = Layout.wadlerLeijen(doc, fitsPretty(PageWidth.defaultPageWidth), options)
    expect(ported(doc, overflowing, options, () => library)).toBe(library)
    expect(() => ported(doc, () => { throw new TypeError("a bug") }, options, () => library)).toThrow(TypeError)
    // optimize recurses with the document's depth: deeper than the stack, the library's own.
    let deep: Doc.Doc<never> = Doc.text("x")
    for (let i = 0; i < 20_000; i++) deep = Doc.nest(Doc.cat(Doc.hardLine, deep), 1 + (i % 2))
    optimizeFellBack = 0
    expect(() => portedOptimize(deep, Optimize.Deep)).not.toThrow()
    expect(optimizeFellBack).toBe(1)
  })
})
