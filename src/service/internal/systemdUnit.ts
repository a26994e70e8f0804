/**
 * The systemd `--user` unit of the monitor: rendered from a spec, and parsed back.
 *
 * systemd quoting rules, measured against systemd 252 (`systemd-analyze verify` and a real
 * `systemd --user` manager, see test/service/Units.e2e.test.ts):
 * - `ExecStart=` words are split on whitespace; double quotes group, and inside them C escapes
 *   (`\\`, `\"`, `\n`, `\xHH`, ...) are decoded.
 * - `%` starts a specifier everywhere (executable, arguments, `Environment=`): written `%%`.
 * - `$` starts a variable in ExecStart *arguments* only: written `$$` there. The executable and
 *   `Environment=` values take `$` literally (a doubled `$$` would stay doubled).
 * - The executable name may not contain `"`, `'`, `\` or control characters at all, quoted or
 *   not ("Executable name contains special characters", a fatal unit error): such a Node binary
 *   path is refused before anything is written.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import { UnrenderablePath } from "../Errors.js"
import { checkAbsolute, checkSpec, CONTROL, type InstalledUnit, programArguments, reinstallFix, type ServiceSpec } from "./unitSpec.js"

// ---------------------------------------------------------------------------------------------
// Rendering

const hex2 = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`

/** Characters that never need quoting in a systemd word. */
const SYSTEMD_BARE = /^[A-Za-z0-9_./:@+,=-]+$/

/** Escapes the inside of a double-quoted systemd word (C escapes for `\`, `"`, control characters). */
const systemdQuoteBody = (s: string): string =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\\"\u0001-\u001f\u007f]/g, (c) => (c === "\\" || c === "\"" ? `\\${c}` : hex2(c)))

/** One word of a systemd line: bare when that is safe, else double-quoted with C escapes. */
const systemdWord = (s: string): string => (SYSTEMD_BARE.test(s) ? s : `"${systemdQuoteBody(s)}"`)

/** `%` → `%%` (specifiers are expanded in every directive we write). */
export const escapeSpecifiers = (s: string): string => s.replace(/%/g, "%%")

/** An `ExecStart=` argument (not the executable): specifiers and `$` variables escaped, then quoted. */
export const systemdArgument = (s: string): string => systemdWord(escapeSpecifiers(s).replace(/\$/g, "$$$$"))

/**
 * The executable of `ExecStart=`: specifiers escaped, `$` literal, quoted when needed. systemd
 * refuses quotes, backslashes and control characters here, so those are an error.
 */
export const systemdExecutable = (what: string, p: string): Either.Either<string, UnrenderablePath> =>
  Either.gen(function*() {
    yield* checkAbsolute(what, p)
    if (/["'\\]/.test(p) || CONTROL.test(p)) {
      return yield* Either.left(
        new UnrenderablePath({
          what,
          path: p,
          reason: "systemd refuses an executable whose path contains a quote, a backslash or a control character",
          fix: "Install from a Node binary at a plain path (or a symlink to it at one), e.g. /usr/local/bin/node."
        })
      )
    }
    if (path.posix.normalize(p) !== p || p.endsWith("/")) {
      return yield* Either.left(
        new UnrenderablePath({ what, path: p, reason: "systemd needs a normalized path", fix: reinstallFix })
      )
    }
    return systemdWord(escapeSpecifiers(p))
  })

/** One `Environment=` assignment: specifiers escaped, `$` literal, quoted when needed. */
export const systemdEnvironment = (name: string, value: string): string =>
  systemdWord(escapeSpecifiers(`${name}=${value}`))

/** The systemd `--user` unit (`a3s-box-monitor.service`) for a spec. */
export const systemdUnit = (spec: ServiceSpec): Either.Either<string, UnrenderablePath> =>
  Either.gen(function*() {
    yield* checkSpec(spec)
    const [node, ...args] = programArguments(spec)
    const executable = yield* systemdExecutable("Node binary", node!)
    const execStart = [executable, ...args.map(systemdArgument)].join(" ")
    return [
      "# Written by `a3s-box monitor --install`; re-run it to change this file.",
      "[Unit]",
      "Description=a3s-box monitor (keeps detached boxes alive)",
      "After=network.target",
      "",
      "[Service]",
      // exec, not simple: a missing Node binary fails `start` at once instead of looping (status 203).
      "Type=exec",
      `ExecStart=${execStart}`,
      `Environment=${systemdEnvironment("A3S_HOME", spec.home)}`,
      "Restart=always",
      "RestartSec=2",
      // Boxes the monitor (re)started are its children: stopping or restarting the monitor must
      // not take them down with it (the runner is daemonless; a new monitor adopts them).
      "KillMode=process",
      "",
      "[Install]",
      "WantedBy=default.target",
      ""
    ].join("\n")
  })


// ---------------------------------------------------------------------------------------------
// Parsing an installed unit back (for `monitor status`)

const C_ESCAPES: Record<string, string> = {
  a: "\u0007",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  s: " ",
  "\\": "\\",
  "\"": "\"",
  "'": "'"
}

/** Decodes one C escape at `s[i] === "\\"`; returns the text and the index after it. */
const cUnescapeAt = (s: string, i: number): readonly [string, number] => {
  const c = s[i + 1]
  if (c === undefined) return ["\\", i + 1]
  const simple = C_ESCAPES[c]
  if (simple !== undefined) return [simple, i + 2]
  const hexOf = (len: number, from: number) => {
    const digits = s.slice(from, from + len)
    return digits.length === len && /^[0-9a-fA-F]+$/.test(digits) ? Number.parseInt(digits, 16) : undefined
  }
  if (c === "x") {
    const n = hexOf(2, i + 2)
    if (n !== undefined) return [String.fromCharCode(n), i + 4]
  } else if (c === "u") {
    const n = hexOf(4, i + 2)
    if (n !== undefined) return [String.fromCodePoint(n), i + 6]
  } else if (c === "U") {
    const n = hexOf(8, i + 2)
    if (n !== undefined && n <= 0x10ffff) return [String.fromCodePoint(n), i + 10]
  } else if (/[0-7]/.test(c)) {
    const digits = s.slice(i + 1, i + 4)
    if (/^[0-7]{3}$/.test(digits)) return [String.fromCharCode(Number.parseInt(digits, 8)), i + 4]
  }
  // Unknown escape: systemd keeps it (with a warning).
  return [`\\${c}`, i + 2]
}

/** Splits a systemd value into words: whitespace-separated, quotes group, C escapes decoded. */
export const systemdWords = (value: string): Option.Option<ReadonlyArray<string>> => {
  const words: Array<string> = []
  let i = 0
  const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r"
  while (i < value.length) {
    while (isSpace(value[i])) i++
    if (i >= value.length) break
    let word = ""
    let quote: string | undefined
    while (i < value.length) {
      const c = value[i]!
      if (quote === undefined && isSpace(c)) break
      if (quote === undefined && (c === "\"" || c === "'")) {
        quote = c
        i++
      } else if (quote !== undefined && c === quote) {
        quote = undefined
        i++
      } else if (c === "\\") {
        const [text, next] = cUnescapeAt(value, i)
        word += text
        i = next
      } else {
        word += c
        i++
      }
    }
    if (quote !== undefined) return Option.none()
    words.push(word)
  }
  return Option.some(words)
}

/** `%%` → `%`; other specifiers are left as written (they cannot be resolved here). */
export const unescapeSpecifiers = (s: string): string => s.replace(/%%/g, "%")
const unescapeDollars = (s: string): string => s.replace(/\$\$/g, "$")

/** Reads `[Section] Key=Value` lines, honouring comments and `\` line continuations. */
const unitAssignments = (text: string): ReadonlyArray<{ section: string; key: string; value: string }> => {
  const out: Array<{ section: string; key: string; value: string }> = []
  let section = ""
  let pending = ""
  for (const raw of text.split(/\r?\n/)) {
    const line = pending === "" ? raw.trim() : raw
    if (pending === "" && (line === "" || line.startsWith("#") || line.startsWith(";"))) continue
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " "
      continue
    }
    const full = (pending + line).trim()
    pending = ""
    if (full.startsWith("[") && full.endsWith("]")) {
      section = full.slice(1, -1)
      continue
    }
    const eq = full.indexOf("=")
    if (eq <= 0) continue
    out.push({ section, key: full.slice(0, eq).trim(), value: full.slice(eq + 1).trim() })
  }
  return out
}

/** Parses a systemd unit's `[Service]` ExecStart and Environment back. None if it has no usable ExecStart. */
export const parseSystemdUnit = (text: string): Option.Option<InstalledUnit> => {
  let execStart: string | undefined
  const environment: Record<string, string> = {}
  for (const { key, section, value } of unitAssignments(text)) {
    if (section !== "Service") continue
    if (key === "ExecStart") execStart = value === "" ? undefined : value
    if (key === "Environment") {
      if (value === "") {
        for (const k of Object.keys(environment)) delete environment[k]
        continue
      }
      for (const word of Option.getOrElse(systemdWords(value), () => [])) {
        const eq = word.indexOf("=")
        if (eq > 0) environment[word.slice(0, eq)] = unescapeSpecifiers(word.slice(eq + 1))
      }
    }
  }
  if (execStart === undefined) return Option.none()
  return Option.flatMap(systemdWords(execStart), (words) => {
    const first = words[0]
    if (first === undefined) return Option.none()
    // Prefixes (`-`, `@`, `:`, `+`, `!`) before the executable; `:` turns `$` expansion off.
    const prefix = /^[-@:+!]*/.exec(first)![0]
    const dollars = prefix.includes(":") ? (s: string) => s : unescapeDollars
    const argv = [
      unescapeSpecifiers(first.slice(prefix.length)),
      ...words.slice(1).map((w) => dollars(unescapeSpecifiers(w)))
    ]
    return Option.some({ argv, environment })
  })
}
