// A synchronous port of @effect/printer's Wadler-Leijen layout (`wadlerLeijenSafe` in
// node_modules/@effect/printer/dist/esm/internal/layout.js), which scripts/bundle.mjs patches
// into the bundle. The library runs every step of the layout as an Effect and runs each side of
// every `group` with its own `Effect.runSync`; laying out `a3s-box --help` that way was about
// three quarters of the CLI's start-up. This is the same algorithm, step for step (the same
// pure function of the document, so the same output: test/cli/printerLayout.test.ts compares
// both on every command's help and on generated documents), as a plain loop that recurses only
// into the two sides of a group. A document with groups nested too deep for the stack is laid
// out by the library's own (stack-safe) version instead.

/**
 * `DocStream` and `Pipeline`: the library's internal docStream.js and layoutPipeline.js modules.
 * Returns `(doc, fits, options, fallback) => DocStream`, `fallback` being the library's version.
 */
export const makeWadlerLeijen = (DocStream, Pipeline) => (doc, fits, options, fallback) => {
  // The library's `UndoAnnotation` step resumes at the layout's *initial* nesting level and
  // column (0, 0) rather than the current ones: kept, for the same output.
  const initialNesting = 0
  const initialColumn = 0

  /**
   * The library's `best`. The stream is a linked list built from its end: the steps that put
   * something in front of the rest (a character, a text, a line, an annotation) are collected
   * while walking the pipeline, then wrapped around the rest once it is known. Only a `Union`
   * recurses (once per group met in sequence), to lay out its two sides.
   */
  const best = (start, startNesting, startColumn) => {
    let pipeline = start
    let nl = startNesting
    let cc = startColumn
    const front = [] // [kind, value] in output order
    let rest
    walk: for (;;) {
      switch (pipeline._tag) {
        case "Nil":
          rest = DocStream.empty
          break walk
        case "UndoAnnotation":
          front.push(["pop", undefined])
          pipeline = pipeline.pipeline
          nl = initialNesting
          cc = initialColumn
          continue
        case "Cons": {
          const { indent, document } = pipeline
          const next = pipeline.pipeline
          switch (document._tag) {
            case "Fail":
              rest = DocStream.failed
              break walk
            case "Empty":
              pipeline = next
              continue
            case "Char":
              front.push(["char", document.char])
              cc += 1
              pipeline = next
              continue
            case "Text":
              front.push(["text", document.text])
              cc += document.text.length
              pipeline = next
              continue
            case "Line":
              front.push(["line", indent])
              nl = indent
              cc = indent
              pipeline = next
              continue
            case "FlatAlt":
              pipeline = Pipeline.cons(indent, document.left, next)
              continue
            case "Cat":
              pipeline = Pipeline.cons(indent, document.left, Pipeline.cons(indent, document.right, next))
              continue
            case "Nest":
              pipeline = Pipeline.cons(indent + document.indent, document.doc, next)
              continue
            case "Union": {
              const left = best(Pipeline.cons(indent, document.left, next), nl, cc)
              let right
              const getRight = () => (right ??= best(Pipeline.cons(indent, document.right, next), nl, cc))
              rest = fits(left, nl, cc, getRight) ? left : getRight()
              break walk
            }
            case "Column":
              pipeline = Pipeline.cons(indent, document.react(cc), next)
              continue
            case "WithPageWidth":
              pipeline = Pipeline.cons(indent, document.react(options.pageWidth), next)
              continue
            case "Nesting":
              pipeline = Pipeline.cons(indent, document.react(indent), next)
              continue
            case "Annotated":
              front.push(["push", document.annotation])
              pipeline = Pipeline.cons(indent, document.doc, Pipeline.undoAnnotation(next))
              continue
            default:
              throw new UnknownNode()
          }
        }
        default:
          throw new UnknownNode()
      }
    }
    let stream = rest
    for (let i = front.length - 1; i >= 0; i--) {
      const [kind, value] = front[i]
      switch (kind) {
        case "char":
          stream = DocStream.char(stream, value)
          break
        case "text":
          stream = DocStream.text(stream, value)
          break
        case "line":
          // No indentation when nothing follows on the same line (no trailing whitespace).
          stream = DocStream.line(stream, DocStream.isEmptyStream(stream) || DocStream.isLineStream(stream) ? 0 : value)
          break
        case "push":
          stream = DocStream.pushAnnotation(stream, value)
          break
        case "pop":
          stream = DocStream.popAnnotation(stream)
          break
      }
    }
    return stream
  }

  try {
    return best(Pipeline.cons(0, doc, Pipeline.nil), initialNesting, initialColumn)
  } catch (error) {
    // Too many groups in a row for the stack, or a node this port does not know: the library's own.
    if (error instanceof RangeError || error instanceof UnknownNode) return fallback()
    throw error
  }
}

class UnknownNode extends Error {}
