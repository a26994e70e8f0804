/**
 * Pure rendering (and parsing back) of the monitor's service units: a systemd `--user` unit and a
 * launchd LaunchAgent plist (SPEC §9). No I/O here.
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
import { UnrenderablePath } from "./Errors.js"

/** The systemd unit's file name. */
export const UNIT_NAME = "a3s-box-monitor.service"
/** The launchd job label (and the plist's base name). */
export const LAUNCHD_LABEL = "com.a3s-box.monitor"

/** What the installed service runs. Every path absolute. */
export interface ServiceSpec {
  /** The Node binary that ran the install (`process.execPath`). */
  readonly node: string
  /** The entry script of that program (the package bin `dist/a3s-box.cjs`, symlinks resolved). */
  readonly script: string
  /** `monitor --interval N` */
  readonly intervalSecs: number
  /** `monitor --metrics-addr A`, as given on the command line. */
  readonly metricsAddr: Option.Option<string>
  /** `A3S_HOME` in effect at install time. */
  readonly home: string
  /** Further `monitor` flags, appended as given (e.g. `--log-format json`). */
  readonly extraArgs?: ReadonlyArray<string>
}

/** The argument vector the service starts: `node script monitor --interval N [--metrics-addr A] [EXTRA...]`. */
export const programArguments = (spec: ServiceSpec): ReadonlyArray<string> => [
  spec.node,
  spec.script,
  "monitor",
  "--interval",
  String(spec.intervalSecs),
  ...Option.match(spec.metricsAddr, { onNone: () => [], onSome: (addr) => ["--metrics-addr", addr] }),
  ...(spec.extraArgs ?? [])
]

const reinstallFix = "Re-run the install from a program whose paths are plain."

// ---------------------------------------------------------------------------------------------
// Validation shared by both formats

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

const checkAbsolute = (what: string, p: string): Either.Either<string, UnrenderablePath> => {
  if (!path.posix.isAbsolute(p)) {
    return Either.left(new UnrenderablePath({ what, path: p, reason: "it is not an absolute path", fix: reinstallFix }))
  }
  if (p.includes("\u0000")) {
    return Either.left(new UnrenderablePath({ what, path: p, reason: "it contains a NUL byte", fix: reinstallFix }))
  }
  return Either.right(p)
}

const checkSpec = (spec: ServiceSpec): Either.Either<ServiceSpec, UnrenderablePath> =>
  Either.gen(function*() {
    yield* checkAbsolute("Node binary", spec.node)
    yield* checkAbsolute("entry script", spec.script)
    yield* checkAbsolute("home (A3S_HOME)", spec.home)
    if (!Number.isSafeInteger(spec.intervalSecs) || spec.intervalSecs < 1) {
      return yield* Either.left(
        new UnrenderablePath({
          what: "poll interval",
          path: String(spec.intervalSecs),
          reason: "it must be a whole number of seconds, at least 1",
          fix: "Pass --interval N with N >= 1."
        })
      )
    }
    return spec
  })

// ---------------------------------------------------------------------------------------------
// systemd

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
// launchd

/** XML text escaping; tab, newline and carriage return as character references so they survive parsing. */
export const xmlEscape = (s: string): string =>
  s.replace(/[&<>"'\t\n\r]/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;"
      case "<":
        return "&lt;"
      case ">":
        return "&gt;"
      case "\"":
        return "&quot;"
      case "'":
        return "&apos;"
      default:
        return `&#${c.charCodeAt(0)};`
    }
  })

const checkXmlText = (what: string, s: string): Either.Either<string, UnrenderablePath> =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s)
    ? Either.left(
      new UnrenderablePath({
        what,
        path: s,
        reason: "a plist (XML 1.0) cannot hold control characters",
        fix: reinstallFix
      })
    )
    : Either.right(s)

/** `<home>/monitor.log`: where launchd sends the monitor's stdout and stderr. */
export const launchdLogPath = (home: string): string => path.posix.join(home, "monitor.log")

/** The launchd LaunchAgent plist (`com.a3s-box.monitor.plist`) for a spec. */
export const launchdPlist = (spec: ServiceSpec): Either.Either<string, UnrenderablePath> =>
  Either.gen(function*() {
    yield* checkSpec(spec)
    const argv = programArguments(spec)
    yield* checkXmlText("Node binary", spec.node)
    yield* checkXmlText("entry script", spec.script)
    yield* checkXmlText("home (A3S_HOME)", spec.home)
    for (const arg of argv) yield* checkXmlText("argument", arg)
    const str = (s: string) => `<string>${xmlEscape(s)}</string>`
    const log = launchdLogPath(spec.home)
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
      `<!-- Written by the a3s-box monitor installer; re-run the install to change this file. -->`,
      `<plist version="1.0">`,
      `<dict>`,
      `  <key>Label</key>`,
      `  ${str(LAUNCHD_LABEL)}`,
      `  <key>ProgramArguments</key>`,
      `  <array>`,
      ...argv.map((a) => `    ${str(a)}`),
      `  </array>`,
      `  <key>EnvironmentVariables</key>`,
      `  <dict>`,
      `    <key>A3S_HOME</key>`,
      `    ${str(spec.home)}`,
      `  </dict>`,
      `  <key>RunAtLoad</key>`,
      `  <true/>`,
      `  <key>KeepAlive</key>`,
      `  <true/>`,
      // Boxes the monitor started survive the monitor's exit (see KillMode=process for systemd).
      `  <key>AbandonProcessGroup</key>`,
      `  <true/>`,
      `  <key>StandardOutPath</key>`,
      `  ${str(log)}`,
      `  <key>StandardErrorPath</key>`,
      `  ${str(log)}`,
      `</dict>`,
      `</plist>`,
      ``
    ].join("\n")
  })

// ---------------------------------------------------------------------------------------------
// Parsing an installed unit back (for `monitor status`)

/** What an installed unit runs, as the service manager would see it. */
export interface InstalledUnit {
  /** The argument vector, executable first, escapes decoded. */
  readonly argv: ReadonlyArray<string>
  /** Its environment assignments. */
  readonly environment: Readonly<Record<string, string>>
}

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

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

/** XML text unescaping: the five entities and numeric character references. */
export const xmlUnescape = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16))
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10))
    return XML_ENTITIES[ref] ?? whole
  })

/** The `<string>` values directly inside an XML fragment. */
const xmlStrings = (fragment: string): Array<string> =>
  Array.from(fragment.matchAll(/<string>([^<]*)<\/string>|<string\/>/g), (m) => xmlUnescape(m[1] ?? ""))

/**
 * Parses a (text XML) launchd plist's ProgramArguments and EnvironmentVariables back. None if it
 * has no ProgramArguments array (a binary plist, or not one of ours).
 */
export const parseLaunchdPlist = (text: string): Option.Option<InstalledUnit> => {
  const body = text.replace(/<!--[\s\S]*?-->/g, "")
  const args = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(body)
  if (args === null) return Option.none()
  const environment: Record<string, string> = {}
  const env = /<key>EnvironmentVariables<\/key>\s*<dict>([\s\S]*?)<\/dict>/.exec(body)
  if (env !== null) {
    for (const m of env[1]!.matchAll(/<key>([^<]*)<\/key>\s*(?:<string>([^<]*)<\/string>|<string\/>)/g)) {
      environment[xmlUnescape(m[1]!)] = xmlUnescape(m[2] ?? "")
    }
  }
  return Option.some({ argv: xmlStrings(args[1]!), environment })
}

/** What an installed unit says about the monitor it runs; fields absent when the unit does not say. */
export interface UnitDescription {
  readonly node: Option.Option<string>
  readonly script: Option.Option<string>
  readonly intervalSecs: Option.Option<number>
  readonly metricsAddr: Option.Option<string>
  readonly home: Option.Option<string>
  /** True when the command line is `NODE SCRIPT monitor ...`, the shape we install. */
  readonly recognized: boolean
}

/** Reads the monitor's settings out of an installed unit's argument vector and environment. */
export const describeUnit = (unit: InstalledUnit): UnitDescription => {
  const { argv } = unit
  const monitorAt = argv.indexOf("monitor")
  const rest = monitorAt < 0 ? [] : argv.slice(monitorAt + 1)
  const option = (name: string): Option.Option<string> => {
    let found: Option.Option<string> = Option.none()
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!
      if (a === name && i + 1 < rest.length) found = Option.some(rest[++i]!)
      else if (a.startsWith(`${name}=`)) found = Option.some(a.slice(name.length + 1))
    }
    return found
  }
  const interval = Option.flatMap(option("--interval"), (s) => {
    const n = Number(s)
    return /^\d+$/.test(s) && Number.isSafeInteger(n) ? Option.some(n) : Option.none()
  })
  return {
    node: Option.fromNullable(argv[0]),
    script: Option.fromNullable(argv[1]),
    // The monitor's own default when the unit does not pass --interval.
    intervalSecs: monitorAt < 0 ? Option.none() : Option.orElse(interval, () => Option.some(5)),
    metricsAddr: option("--metrics-addr"),
    home: Option.fromNullable(unit.environment["A3S_HOME"]),
    recognized: monitorAt === 2
  }
}
