/**
 * The state file's bytes as text: strict UTF-8 (SPEC §12, issue 16: bytes that are not UTF-8
 * make the file corrupt, reported with the byte offset; decoding them leniently would rewrite
 * them as U+FFFD on the next write).
 */
import * as Either from "effect/Either"

/** The state file's bytes are not UTF-8 (decision: such a file is corrupt, never rewritten; see README). */
export interface InvalidUtf8 {
  readonly _tag: "InvalidUtf8"
  /** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
  readonly offset: number
  readonly detail: string
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Where the first ill-formed UTF-8 sequence of `bytes` starts (as the Unicode standard defines
 * well-formed: no overlong forms, no surrogates, nothing above U+10FFFF), or undefined.
 */
export const firstInvalidUtf8 = (bytes: Uint8Array): number | undefined => {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!
    if (b < 0x80) {
      i++
      continue
    }
    // The allowed range of the second byte depends on the first (RFC 3629 table).
    const [length, low, high] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
      : b === 0xe0 ? [3, 0xa0, 0xbf]
      : b >= 0xe1 && b <= 0xec ? [3, 0x80, 0xbf]
      : b === 0xed ? [3, 0x80, 0x9f]
      : b >= 0xee && b <= 0xef ? [3, 0x80, 0xbf]
      : b === 0xf0 ? [4, 0x90, 0xbf]
      : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf]
      : b === 0xf4 ? [4, 0x80, 0x8f]
      : [0, 0, 0]
    if (length === 0 || i + length > bytes.length) return i
    const second = bytes[i + 1]!
    if (second < low || second > high) return i
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k]!
      if (next < 0x80 || next > 0xbf) return i
    }
    i += length
  }
  return undefined
}

/**
 * The state file's text, or where its bytes stop being UTF-8: decoding them leniently would
 * turn each bad byte into U+FFFD, and the next write would store that instead of what was there.
 */
export const decodeStateBytes = (bytes: Uint8Array): Either.Either<string, InvalidUtf8> => {
  try {
    return Either.right(strictUtf8.decode(bytes))
  } catch {
    const offset = firstInvalidUtf8(bytes) ?? 0
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, "0")
    return Either.left({ _tag: "InvalidUtf8", offset, detail: `not valid UTF-8 at byte offset ${offset} (0x${byte})` })
  }
}
