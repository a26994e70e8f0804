/**
 * The bundle lays out help text with a synchronous port of @effect/printer's Wadler-Leijen
 * layout (scripts/printer-layout.mjs, patched in by scripts/bundle.mjs): it must give exactly
 * the library's output, for every command's help and for any document.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Doc from "@effect/printer/Doc"
import * as PageWidth from "@effect/printer/PageWidth"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Cli from "../../src/cli/Cli.js"
import { makeWadlerLeijen } from "../../scripts/printer-layout.mjs"

// The library's internals, which the bundle patch works with (not in the packages' exports).
const internal = (pkg: string, file: string) =>
  import(pathToFileURL(path.resolve("node_modules", pkg, "dist/esm/internal", file)).href)
const Layout = await internal("@effect/printer", "layout.js")
const DocStream = await internal("@effect/printer", "docStream.js")
const Pipeline = await internal("@effect/printer", "layoutPipeline.js")
const HelpDoc = await internal("@effect/cli", "helpDoc.js")
const AnsiRender = await internal("@effect/printer-ansi", "ansiRender.js")
const ported = makeWadlerLeijen(DocStream, Pipeline)

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

describe("synchronous help layout (bundle patch)", () => {
  it("lays out the help of every command exactly as the library does", () => {
    const all: Array<AnyCommand> = [Cli.rootCommand as AnyCommand, ...Cli.subcommands.flatMap((c) => commands(c as AnyCommand))]
    expect(all.length).toBeGreaterThan(10)
    for (const command of all) {
      const doc = HelpDoc.toAnsiDoc(Command.getHelp(command, CliConfig.defaultConfig))
      const { fellBack, library, port } = layOut(doc, PageWidth.defaultPageWidth)
      expect(fellBack).toBe(false)
      const text = AnsiRender.renderStream(port)
      expect(text).toBe(AnsiRender.renderStream(library))
      expect(text.length).toBeGreaterThan(50)
    }
  })

  it("gives the library's layout for generated documents and page widths", () => {
    const word = fc.stringMatching(/^[a-z]{0,6}$/)
    const { doc } = fc.letrec<{ doc: Doc.Doc<string> }>((tie) => ({
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
        tie("doc").map((d) => Doc.annotate(d, "note")),
        fc.constant(Doc.fail)
      )
    }))
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
  })
})
