import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as LogStream from "../../src/cli/LogStream.js"

/** Where the last `n` lines start, the obvious way. */
const naive = (text: string, n: number): number => {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text
  const lines = body.split("\n")
  if (n >= lines.length) return 0
  return lines.slice(0, lines.length - n).join("\n").length + 1
}

/** scanBack over the text cut into chunks of `size`, from the end, as the stream reads it. */
const chunked = (text: string, n: number, size: number): number => {
  const bytes = new TextEncoder().encode(text)
  let end = bytes.length
  let seen = 0
  while (end > 0) {
    const start = Math.max(0, end - size)
    const step = LogStream.scanBack(bytes.subarray(start, end), start, bytes.length, n, seen)
    if (step._tag === "Found") return step.offset
    seen = step.seen
    end = start
  }
  return 0
}

describe("LogStream.scanBack", () => {
  it("finds where the last N lines begin, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z ]{0,6}$/), { maxLength: 12 }).map((lines) => lines.join("\n")),
        fc.boolean(),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 1, max: 9 }),
        (body, trailingNewline, n, size) => {
          const text = trailingNewline && body !== "" ? `${body}\n` : body
          expect(chunked(text, n, size)).toBe(naive(text, n))
        }
      )
    )
  })

  it("handles the obvious cases", () => {
    expect(chunked("a\nb\nc\n", 1, 64)).toBe(4)
    expect(chunked("a\nb\nc", 2, 64)).toBe(2)
    expect(chunked("a\nb\nc\n", 5, 64)).toBe(0)
  })
})
