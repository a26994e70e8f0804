/** The launchd LaunchAgent plist of the monitor: rendered from a spec, and parsed back. No I/O here. */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import { UnrenderablePath } from "../Errors.js"
import { checkSpec, type InstalledUnit, LAUNCHD_LABEL, programArguments, reinstallFix, type ServiceSpec } from "./unitSpec.js"

// ---------------------------------------------------------------------------------------------
// Rendering

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

/** `<home>/monitor.log` (state/Home's `monitorLogPath`, with the plist's POSIX separators): where launchd sends the monitor's stdout and stderr. */
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
// Parsing an installed plist back (for `monitor status`)

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
