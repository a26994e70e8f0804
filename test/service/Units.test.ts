import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import fc from "fast-check"
import * as Units from "../../src/service/Units.js"

const spec = (over: Partial<Units.ServiceSpec> = {}): Units.ServiceSpec => ({
  node: "/usr/bin/node",
  script: "/opt/a3s-box/dist/a3s-box.mjs",
  intervalSecs: 5,
  metricsAddr: Option.none(),
  home: "/home/ann/.a3s",
  ...over
})

const unit = (s: Units.ServiceSpec) => Either.getOrThrow(Units.systemdUnit(s))
const plist = (s: Units.ServiceSpec) => Either.getOrThrow(Units.launchdPlist(s))
const line = (text: string, key: string) => text.split("\n").find((l) => l.startsWith(`${key}=`))

describe("hook commands in the unit", () => {
  const hooks = ["--on-event", `curl -sS --data-binary @- 'https://h.example/x?a=1&b=$A3S_BOX_NAME' # 100% \\ "q"`, "--on-event-filter", "die,unhealthy", "--standby"]
  it("systemd: an --on-event command with quotes, $, % and backslashes comes back as given", () => {
    const parsed = Option.getOrThrow(Units.parseSystemdUnit(unit(spec({ extraArgs: hooks }))))
    expect(parsed.argv.slice(-hooks.length)).toEqual(hooks)
  })
  it("launchd: the same command comes back as given", () => {
    const parsed = Option.getOrThrow(Units.parseLaunchdPlist(plist(spec({ extraArgs: hooks }))))
    expect(parsed.argv.slice(-hooks.length)).toEqual(hooks)
  })
})

describe("systemdUnit", () => {
  it("renders the whole unit for plain paths", () => {
    expect(unit(spec({ metricsAddr: Option.some("127.0.0.1:9464") }))).toBe(
      [
        "# Written by `a3s-box monitor --install`; re-run it to change this file.",
        "[Unit]",
        "Description=a3s-box monitor (keeps detached boxes alive)",
        "After=network.target",
        "",
        "[Service]",
        "Type=exec",
        "ExecStart=/usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 5 --metrics-addr 127.0.0.1:9464",
        "Environment=A3S_HOME=/home/ann/.a3s",
        "Restart=always",
        "RestartSec=2",
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=default.target",
        ""
      ].join("\n")
    )
  })

  it("leaves --metrics-addr out when none is configured", () => {
    expect(line(unit(spec({ intervalSecs: 12 })), "ExecStart")).toBe(
      "ExecStart=/usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 12"
    )
  })

  it("appends the monitor's other flags after its own", () => {
    expect(line(unit(spec({ extraArgs: ["--log-format", "json", "--metrics-per-box"] })), "ExecStart")).toBe(
      "ExecStart=/usr/bin/node /opt/a3s-box/dist/a3s-box.mjs monitor --interval 5 --log-format json --metrics-per-box"
    )
  })

  it("quotes paths with spaces and escapes quotes and backslashes in arguments", () => {
    const text = unit(spec({ node: "/opt/my node/bin/node", script: `/srv/it's "a3s"\\box/a3s-box.mjs` }))
    expect(line(text, "ExecStart")).toBe(
      `ExecStart="/opt/my node/bin/node" "/srv/it's \\"a3s\\"\\\\box/a3s-box.mjs" monitor --interval 5`
    )
  })

  it("doubles % everywhere, and $ only in arguments (the executable and Environment= take $ literally)", () => {
    const text = unit(spec({ node: "/opt/100%$x/node", script: "/s/50%/$HOME/${X}.mjs", home: "/h/%h/$USER" }))
    expect(line(text, "ExecStart")).toBe(
      `ExecStart="/opt/100%%$x/node" "/s/50%%/$$HOME/$\${X}.mjs" monitor --interval 5`
    )
    expect(line(text, "Environment")).toBe(`Environment="A3S_HOME=/h/%%h/$USER"`)
  })

  it("quotes a home with spaces and escapes control characters as \\xHH", () => {
    expect(line(unit(spec({ home: "/home/a b/\"q\"\\z\n" })), "Environment")).toBe(
      `Environment="A3S_HOME=/home/a b/\\"q\\"\\\\z\\x0a"`
    )
  })

  it("refuses a Node binary systemd would refuse to execute, naming it", () => {
    for (const node of [`/o'brien/node`, `/q"uote/node`, `/back\\slash/node`, "/tab\there/node"]) {
      const result = Units.systemdUnit(spec({ node }))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("UnrenderablePath")
        expect(result.left.message).toContain(JSON.stringify(node))
        expect(result.left.message).toContain("Nothing was written")
      }
    }
  })

  it("refuses relative paths and a non-positive interval", () => {
    expect(Either.isLeft(Units.systemdUnit(spec({ script: "dist/a3s-box.mjs" })))).toBe(true)
    expect(Either.isLeft(Units.systemdUnit(spec({ home: "~/.a3s" })))).toBe(true)
    expect(Either.isLeft(Units.systemdUnit(spec({ node: "/usr/bin/../bin/node" })))).toBe(true)
    expect(Either.isLeft(Units.systemdUnit(spec({ intervalSecs: 0 })))).toBe(true)
  })
})

describe("launchdPlist", () => {
  it("renders the label, arguments, environment, keep-alive and the log path", () => {
    const text = plist(spec({ metricsAddr: Option.some("[::1]:9464") }))
    expect(text).toContain("<key>Label</key>\n  <string>com.a3s-box.monitor</string>")
    expect(text).toContain(
      [
        "  <key>ProgramArguments</key>",
        "  <array>",
        "    <string>/usr/bin/node</string>",
        "    <string>/opt/a3s-box/dist/a3s-box.mjs</string>",
        "    <string>monitor</string>",
        "    <string>--interval</string>",
        "    <string>5</string>",
        "    <string>--metrics-addr</string>",
        "    <string>[::1]:9464</string>",
        "  </array>"
      ].join("\n")
    )
    expect(text).toContain("<key>A3S_HOME</key>\n    <string>/home/ann/.a3s</string>")
    expect(text).toContain("<key>RunAtLoad</key>\n  <true/>")
    expect(text).toContain("<key>KeepAlive</key>\n  <true/>")
    expect(text).toContain("<key>StandardOutPath</key>\n  <string>/home/ann/.a3s/monitor.log</string>")
    expect(text).toContain("<key>StandardErrorPath</key>\n  <string>/home/ann/.a3s/monitor.log</string>")
    expect(text).not.toMatch(/<!--[^>]*--[^>]*-->/)
  })

  it("XML-escapes every path", () => {
    const text = plist(spec({ node: "/a&b/<n>/node", script: `/s/"q" 'a'/x.mjs`, home: "/h/&amp;\t" }))
    expect(text).toContain("<string>/a&amp;b/&lt;n&gt;/node</string>")
    expect(text).toContain("<string>/s/&quot;q&quot; &apos;a&apos;/x.mjs</string>")
    expect(text).toContain("<string>/h/&amp;amp;&#9;</string>")
    expect(text).toContain("<string>/h/&amp;amp;&#9;/monitor.log</string>")
  })

  it("refuses control characters XML cannot carry", () => {
    expect(Either.isLeft(Units.launchdPlist(spec({ home: "/h/\u0001" })))).toBe(true)
  })
})

// Paths as a user could have them: any printable character, plus the ones that need care.
const segment = fc.string({
  unit: fc.oneof(
    fc.constantFrom(" ", "\"", "'", "\\", "%", "$", "{", "}", ";", "&", "<", ">", "=", "#", "\t", "\n", "é", "☃"),
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x01, max: 0x1f }).map((c) => String.fromCharCode(c))
  ),
  minLength: 1,
  maxLength: 12
}).filter((s) => !s.includes("/"))
const absPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join("/")}`)
const plainExecutable = fc.array(
  fc.string({ unit: fc.constantFrom("a", "b", " ", "%", "$", "&", "-", "_", "é"), minLength: 1, maxLength: 8 })
    .filter((s) => s !== "." && s !== ".."),
  { minLength: 1, maxLength: 3 }
).map((parts) => `/${parts.join("/")}`)
const specs = fc.record({
  node: plainExecutable,
  script: absPath,
  intervalSecs: fc.integer({ min: 1, max: 86400 }),
  metricsAddr: fc.option(fc.constantFrom("127.0.0.1:9464", "[::1]:1", "0.0.0.0:80"), { nil: undefined })
    .map(Option.fromNullable),
  home: absPath
})

// eslint-disable-next-line no-control-regex
const xmlSafe = (p: string) => p.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "x")
const xmlSpecs = specs.map((s) => ({ ...s, script: xmlSafe(s.script), home: xmlSafe(s.home) }))

describe("parsing a rendered unit back", () => {
  it("systemd: any spec round-trips through render and parse", () => {
    fc.assert(
      fc.property(specs, (s) => {
        const parsed = Units.parseSystemdUnit(unit(s))
        expect(Option.getOrThrow(parsed)).toEqual({
          argv: Units.programArguments(s),
          environment: { A3S_HOME: s.home }
        })
        const d = Units.describeUnit(Option.getOrThrow(parsed))
        expect(d).toEqual({
          node: Option.some(s.node),
          script: Option.some(s.script),
          intervalSecs: Option.some(s.intervalSecs),
          metricsAddr: s.metricsAddr,
          home: Option.some(s.home),
          recognized: true
        })
      }),
      { numRuns: 300 }
    )
  })

  it("launchd: any spec without control characters round-trips through render and parse", () => {
    fc.assert(
      fc.property(xmlSpecs, (s) => {
        expect(Option.getOrThrow(Units.parseLaunchdPlist(plist(s)))).toEqual({
          argv: Units.programArguments(s),
          environment: { A3S_HOME: s.home }
        })
      }),
      { numRuns: 300 }
    )
  })

  it("reads hand-written systemd syntax: single quotes, continuations, prefixes, later assignments win", () => {
    const text = [
      "[Service]",
      "ExecStart=/bin/false",
      "ExecStart=",
      "ExecStart=-/usr/bin/node '/a b/x.mjs' \\",
      "   monitor --interval=9 --metrics-addr 127.0.0.1:1",
      "Environment=FOO=1 \"A3S_HOME=/h h\"",
      "[Install]",
      "ExecStart=/not/service/section"
    ].join("\n")
    const parsed = Option.getOrThrow(Units.parseSystemdUnit(text))
    expect(parsed.argv).toEqual(["/usr/bin/node", "/a b/x.mjs", "monitor", "--interval=9", "--metrics-addr", "127.0.0.1:1"])
    expect(parsed.environment).toEqual({ FOO: "1", A3S_HOME: "/h h" })
    expect(Units.describeUnit(parsed)).toMatchObject({ intervalSecs: Option.some(9), home: Option.some("/h h") })
  })

  it("a unit without ExecStart, or with an unterminated quote, is not understood", () => {
    expect(Option.isNone(Units.parseSystemdUnit("[Service]\nType=exec\n"))).toBe(true)
    expect(Option.isNone(Units.parseSystemdUnit("[Service]\nExecStart=\"/usr/bin/node\n"))).toBe(true)
    expect(Option.isNone(Units.parseLaunchdPlist("bplist00\u0000\u0001"))).toBe(true)
  })

  it("a command line that is not `NODE SCRIPT monitor ...` is reported as not recognized", () => {
    const d = Units.describeUnit({ argv: ["/usr/bin/a3s-box", "monitor"], environment: {} })
    expect(d.recognized).toBe(false)
    expect(d.intervalSecs).toEqual(Option.some(5))
    expect(d.home).toEqual(Option.none())
  })
})
