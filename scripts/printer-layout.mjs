// Synchronous ports of the three passes with which @effect/cli renders help text:
// @effect/printer's optimize and Wadler-Leijen layout (node_modules/@effect/printer/dist/esm/
// internal/optimize.js and layout.js) and @effect/printer-ansi's render (internal/ansiRender.js),
// which scripts/printer-patches.mjs patches into the bundle. The libraries run every step of
// these as an Effect (the layout runs each side of every `group` with its own `Effect.runSync`,
// the render one Effect per character); rendering `a3s-box --help` that way was most of the
// CLI's start-up. These are the same algorithms, step for step (the same pure functions, so the
// same output: test/cli/printerLayout.test.ts compares each with the library on every command's
// help and on generated documents), as plain loops and recursion. Where recursion could run out
// of stack (groups or documents nested too deep), the library's own stack-safe version is used.

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

/**
 * @effect/printer's `optimize` (internal/optimize.js, `optimizeSafe`), which @effect/cli runs on
 * every help document (`Optimize.deep`) and, through the reactions it wraps, again at every
 * column/nesting/page-width reaction the layout meets: each step an Effect. The same rules in
 * the same order, as plain recursion (document depth, which the help documents keep small).
 * `Doc` is the library's internal doc.js module, `library` its own `(doc, depth) => Doc`, used
 * instead on a stack overflow. Returns `(doc, depth) => Doc`.
 */
export const makeOptimize = (Doc, library) => {
  const optimizeWith = (depth) => {
    const optimize = (self) => {
      switch (self._tag) {
        case "Fail":
        case "Empty":
        case "Char":
        case "Text":
        case "Line":
          return self
        case "FlatAlt":
          return Doc.flatAlt(optimize(self.left), optimize(self.right))
        case "Cat": {
          const { left, right } = self
          // Empty documents
          if (Doc.isEmpty(left)) return optimize(right)
          if (Doc.isEmpty(right)) return optimize(left)
          // Text documents
          if (Doc.isChar(left) && Doc.isChar(right)) return Doc.text(left.char + right.char)
          if (Doc.isText(left) && Doc.isChar(right)) return Doc.text(left.text + right.char)
          if (Doc.isChar(left) && Doc.isText(right)) return Doc.text(left.char + right.text)
          if (Doc.isText(left) && Doc.isText(right)) return Doc.text(left.text + right.text)
          // Nested text documents
          if ((Doc.isChar(left) || Doc.isText(left)) && Doc.isCat(right) && (Doc.isChar(right.left) || Doc.isText(right.left))) {
            const inner = optimize(Doc.cat(left, right.left))
            return optimize(Doc.cat(inner, right.right))
          }
          // Nested documents
          if (Doc.isCat(left) && (Doc.isChar(left.right) || Doc.isText(left.right))) {
            const inner = optimize(Doc.cat(left.right, right))
            return optimize(Doc.cat(left.left, inner))
          }
          // Otherwise
          return Doc.cat(optimize(left), optimize(right))
        }
        case "Nest": {
          if (self.indent === 0) return optimize(self.doc)
          if (Doc.isEmpty(self.doc) || Doc.isChar(self.doc) || Doc.isText(self.doc)) return self.doc
          if (Doc.isNest(self.doc)) return optimize(Doc.nest(self.doc.doc, self.indent + self.doc.indent))
          return Doc.nest(optimize(self.doc), self.indent)
        }
        case "Union":
          return Doc.union(optimize(self.left), optimize(self.right))
        case "Column":
          return depth._tag === "Shallow" ? self : Doc.column((position) => run(self.react(position), depth))
        case "WithPageWidth":
          return depth._tag === "Shallow" ? self : Doc.pageWidth((pageWidth) => run(self.react(pageWidth), depth))
        case "Nesting":
          return depth._tag === "Shallow" ? self : Doc.nesting((level) => run(self.react(level), depth))
        case "Annotated":
          return Doc.annotate(optimize(self.doc), self.annotation)
        default:
          throw new UnknownNode()
      }
    }
    return optimize
  }
  const run = (doc, depth) => {
    try {
      return optimizeWith(depth)(doc)
    } catch (error) {
      if (error instanceof RangeError || error instanceof UnknownNode) return library(doc, depth)
      throw error
    }
  }
  return run
}

/**
 * @effect/printer-ansi's `renderStream` (internal/ansiRender.js, `renderSafe`): a laid-out
 * stream to text with ANSI escapes, one Effect per character in the library. The same output as
 * a loop. `Ansi` is the library's internal ansi.js module, `List` effect/List. Returns
 * `(stream, fallback) => string`; anything the loop does not expect (a failed stream, an
 * annotation popped from an empty stack, an unknown node) is left to the library (`fallback`),
 * which fails as it always did.
 */
export const makeRenderStream = (Ansi, List) => (stream, fallback) => {
  let out = ""
  let stack = List.of(Ansi.none)
  let s = stream
  for (;;) {
    switch (s._tag) {
      case "EmptyStream":
        return out
      case "CharStream":
        out += s.char
        break
      case "TextStream":
        out += s.text
        break
      case "LineStream":
        out += "\n"
        for (let i = 0; i < s.indentation; i++) out += " "
        break
      case "PushAnnotationStream": {
        if (List.isNil(stack)) return fallback()
        // The library pushes the annotation itself, not its combination with the current style.
        out += Ansi.stringify(Ansi.combine(s.annotation, stack.head))
        stack = List.cons(s.annotation, stack)
        break
      }
      case "PopAnnotationStream": {
        if (List.isNil(stack) || List.isNil(stack.tail)) return fallback()
        stack = stack.tail
        out += Ansi.stringify(stack.head)
        break
      }
      default:
        return fallback()
    }
    s = s.stream
  }
}
