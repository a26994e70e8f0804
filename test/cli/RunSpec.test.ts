import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import * as RunSpec from "../../src/cli/RunSpec.js"

const flags = (overrides: Partial<RunSpec.RunFlags> = {}): RunSpec.RunFlags => ({
  name: Option.none(),
  restart: "no",
  rm: false,
  env: [],
  workdir: Option.none(),
  healthCmd: Option.none(),
  healthHttp: Option.none(),
  healthTcp: Option.none(),
  healthAnyHost: false,
  healthInterval: Option.none(),
  healthTimeout: Option.none(),
  healthRetries: Option.none(),
  healthStartPeriod: Option.none(),
  stopSignal: Option.none(),
  stopTimeout: Option.none(),
  restartDelay: Option.none(),
  restartMaxDelay: Option.none(),
  logMaxSize: Option.none(),
  logMaxFiles: Option.none(),
  cmd: ["sleep", "100"],
  ...overrides
})

/** The environment `run` is called in. */
const caller = { PATH: "/opt/tool/bin:/usr/bin", HOME: "/home/u", USER: "u", EDITOR: "vi", API_TOKEN: "secret" }

const errorOf = (input: RunSpec.RunFlags): string => {
  const result = RunSpec.validate(input, "/srv", caller)
  if (Either.isRight(result)) throw new Error("expected a validation error")
  return result.left.message
}

const specOf = (input: RunSpec.RunFlags): RunSpec.RunSpec => {
  const result = RunSpec.validate(input, "/srv", caller)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return result.right
}

describe("RunSpec.validate", () => {
  it("accepts the plain case, working in the current directory", () => {
    expect(specOf(flags())).toEqual({
      name: null,
      restartPolicy: "no",
      autoRemove: false,
      env: {},
      baseEnv: { PATH: "/opt/tool/bin:/usr/bin", HOME: "/home/u", USER: "u" },
      workdir: "/srv",
      healthCheck: null,
      stopSignal: null,
      stopTimeout: null,
      restartDelay: null,
      restartMaxDelay: null,
      logMaxSize: null,
      logMaxFiles: null,
      cmd: ["sleep", "100"]
    })
  })

  it("takes every flag", () => {
    const spec = specOf(flags({
      name: Option.some("web-1.a_b"),
      restart: "on-failure:5",
      rm: true,
      env: ["A=1", "B=x=y", "C="],
      workdir: Option.some("app"),
      healthCmd: Option.some("curl -f http://localhost/ || exit 1"),
      healthInterval: Option.some(2),
      healthTimeout: Option.some(1),
      healthRetries: Option.some(4),
      healthStartPeriod: Option.some(0),
      stopSignal: Option.some("int"),
      stopTimeout: Option.some(0),
      restartDelay: Option.some(0.5),
      restartMaxDelay: Option.some(120),
      logMaxSize: Option.some("512k"),
      logMaxFiles: Option.some(5)
    }))
    expect(spec).toEqual({
      name: "web-1.a_b",
      restartPolicy: "on-failure:5",
      autoRemove: true,
      env: { A: "1", B: "x=y", C: "" },
      baseEnv: { PATH: "/opt/tool/bin:/usr/bin", HOME: "/home/u", USER: "u" },
      workdir: "/srv/app",
      healthCheck: {
        cmd: ["sh", "-c", "curl -f http://localhost/ || exit 1"],
        interval_secs: 2,
        timeout_secs: 1,
        retries: 4,
        start_period_secs: 0
      },
      stopSignal: "SIGINT",
      stopTimeout: 0,
      restartDelay: 0.5,
      restartMaxDelay: 120,
      logMaxSize: 512 * 1024,
      logMaxFiles: 5,
      cmd: ["sleep", "100"]
    })
  })

  it("takes a restart delay or a cap alone (the other one's default stays)", () => {
    expect(specOf(flags({ restartDelay: Option.some(5) }))).toMatchObject({ restartDelay: 5, restartMaxDelay: null })
    expect(specOf(flags({ restartMaxDelay: Option.some(10) }))).toMatchObject({ restartDelay: null, restartMaxDelay: 10 })
  })

  it("--log-max-size takes 512k, 10m, 1g, plain bytes and 0; --log-max-files 0 to 100", () => {
    const sizes: ReadonlyArray<readonly [string, number]> = [
      ["512k", 512 * 1024],
      ["10m", 10 * 1024 * 1024],
      ["1g", 1024 ** 3],
      ["1G", 1024 ** 3],
      ["10MiB", 10 * 1024 * 1024],
      ["1.5m", 1.5 * 1024 * 1024],
      ["4096", 4096],
      ["0", 0]
    ]
    for (const [text, bytes] of sizes) {
      expect(specOf(flags({ logMaxSize: Option.some(text) })).logMaxSize).toBe(bytes)
    }
    expect(specOf(flags({ logMaxFiles: Option.some(1) })).logMaxFiles).toBe(1)
    expect(specOf(flags({ logMaxFiles: Option.some(0) })).logMaxFiles).toBe(0)
    expect(errorOf(flags({ logMaxSize: Option.some("ten megs") }))).toBe(
      "invalid --log-max-size 'ten megs': expected a size such as 512k, 10m or 1g (bytes without a unit; 0: never rotate)"
    )
    expect(errorOf(flags({ logMaxSize: Option.some("100") }))).toContain("must be 0 (never rotate) or at least 4k")
    expect(errorOf(flags({ logMaxFiles: Option.some(-1) }))).toBe("invalid --log-max-files '-1': must be a whole number from 1 to 100 (0: never rotate)")
    expect(errorOf(flags({ logMaxFiles: Option.some(101) }))).toContain("invalid --log-max-files '101'")
  })

  describe("HTTP and TCP checks", () => {
    const here = (host: string) => ["127.0.0.1", "localhost", "::1", "box-host"].includes(host)
    const checkOf = (input: RunSpec.RunFlags) => {
      const result = RunSpec.validate(input, "/srv", caller, here)
      if (Either.isLeft(result)) throw new Error(result.left.message)
      return result.right.healthCheck
    }
    const errorHere = (input: RunSpec.RunFlags) => {
      const result = RunSpec.validate(input, "/srv", caller, here)
      if (Either.isRight(result)) throw new Error("expected a validation error")
      return result.left.message
    }

    it("--health-http records the URL, and a curl command for the original's readers", () => {
      expect(checkOf(flags({ healthHttp: Option.some("http://127.0.0.1:8080/healthz"), healthTimeout: Option.some(2) }))).toEqual({
        http: "http://127.0.0.1:8080/healthz",
        cmd: ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:8080/healthz"],
        interval_secs: 30,
        timeout_secs: 2,
        retries: 3,
        start_period_secs: 0
      })
      expect(checkOf(flags({ healthHttp: Option.some("http://box-host/") }))?.http).toBe("http://box-host/")
      expect(checkOf(flags({ healthHttp: Option.some("http://[::1]:81/x?y=1") }))?.http).toBe("http://[::1]:81/x?y=1")
    })

    it("--health-tcp takes [HOST:]PORT, host 127.0.0.1 by default, and records a bash /dev/tcp command", () => {
      expect(checkOf(flags({ healthTcp: Option.some("6379") }))).toMatchObject({
        tcp: "127.0.0.1:6379",
        cmd: ["bash", "-c", "exec 3<>'/dev/tcp/127.0.0.1/6379'"]
      })
      expect(checkOf(flags({ healthTcp: Option.some("localhost:5432") }))?.tcp).toBe("localhost:5432")
      expect(checkOf(flags({ healthTcp: Option.some("[::1]:5432") }))?.tcp).toBe("[::1]:5432")
    })

    it("another host only with --health-any-host", () => {
      expect(errorHere(flags({ healthHttp: Option.some("http://example.com/") }))).toBe(
        "invalid --health-http 'http://example.com/': example.com is not this machine: only this machine's addresses are probed unless --health-any-host is given"
      )
      expect(errorHere(flags({ healthTcp: Option.some("10.1.2.3:80") }))).toContain("10.1.2.3 is not this machine")
      expect(checkOf(flags({ healthTcp: Option.some("10.1.2.3:80"), healthAnyHost: true }))?.tcp).toBe("10.1.2.3:80")
    })

    it.each([
      ["https", flags({ healthHttp: Option.some("https://127.0.0.1/") }), "invalid --health-http 'https://127.0.0.1/': only http:// URLs are supported (for https:// use --health-cmd with curl)"],
      ["not a URL", flags({ healthHttp: Option.some("127.0.0.1:8080") }), "invalid --health-http '127.0.0.1:8080'"],
      ["credentials", flags({ healthHttp: Option.some("http://u:p@127.0.0.1/") }), "a URL with credentials is not supported"],
      ["port 0", flags({ healthTcp: Option.some("0") }), "invalid --health-tcp '0': expected [HOST:]PORT"],
      ["a port too large", flags({ healthTcp: Option.some("localhost:70000") }), "the port must be a number from 1 to 65535, not '70000'"],
      ["an IPv6 address without brackets", flags({ healthTcp: Option.some("::1:80") }), "put an IPv6 address in brackets"],
      ["two checks", flags({ healthCmd: Option.some("true"), healthTcp: Option.some("80") }), "invalid --health-tcp '80': a box has one health check: give only one of --health-cmd and --health-tcp"],
      ["--health-any-host alone", flags({ healthAnyHost: true }), "invalid --health-any-host 'true': needs --health-cmd, --health-http or --health-tcp"]
    ])("rejects %s", (_, input, message) => {
      expect(errorHere(input)).toContain(message)
    })
  })

  it("gives a health check docker's defaults", () => {
    expect(specOf(flags({ healthCmd: Option.some("true") })).healthCheck).toEqual({
      cmd: ["sh", "-c", "true"],
      interval_secs: 30,
      timeout_secs: 5,
      retries: 3,
      start_period_secs: 0
    })
  })

  it.each([
    ["an empty command", flags({ cmd: [] }), "no command given"],
    ["an empty program", flags({ cmd: [""] }), "no command given"],
    ["an unknown option taken for the program", flags({ cmd: ["--nmae", "x", "sleep"] }), "unknown option '--nmae' for `a3s-box run`"],
    ["an unknown restart policy", flags({ restart: "sometimes" }), "invalid restart policy 'sometimes'"],
    ["on-failure:0", flags({ restart: "on-failure:0" }), "on-failure:N"],
    ["-e without =", flags({ env: ["A=1", "NOVALUE"] }), "invalid -e/--env 'NOVALUE': expected KEY=VALUE"],
    ["-e with an empty key", flags({ env: ["=x"] }), "invalid -e/--env '=x'"],
    ["-e with a newline in its key", flags({ env: ["A\nB=x"] }), "invalid -e/--env 'A\\nB=x': expected KEY=VALUE with a valid KEY: the variable name contains a newline"],
    ["-e with a NUL in its key", flags({ env: ["A\u0000B=x"] }), "invalid -e/--env 'A\\u0000B=x': expected KEY=VALUE with a valid KEY: the variable name contains a NUL byte"],
    ["-e with a tab in its key", flags({ env: ["A\tB=x"] }), "the variable name contains the control character U+0009"],
    ["a health interval of 0", flags({ healthCmd: Option.some("true"), healthInterval: Option.some(0) }), "invalid --health-interval '0': must be an integer of at least 1 second"],
    ["a health timeout of 0", flags({ healthCmd: Option.some("true"), healthTimeout: Option.some(0) }), "invalid --health-timeout '0'"],
    ["health retries of 0", flags({ healthCmd: Option.some("true"), healthRetries: Option.some(0) }), "invalid --health-retries '0'"],
    ["a negative start period", flags({ healthCmd: Option.some("true"), healthStartPeriod: Option.some(-1) }), "invalid --health-start-period '-1'"],
    ["health flags without --health-cmd", flags({ healthRetries: Option.some(2) }), "invalid --health-retries '2': needs --health-cmd"],
    ["an empty --health-cmd", flags({ healthCmd: Option.some("  ") }), "invalid --health-cmd"],
    ["a negative stop timeout", flags({ stopTimeout: Option.some(-1) }), "invalid --stop-timeout '-1': must be an integer of at least 0 seconds"],
    ["an unknown stop signal", flags({ stopSignal: Option.some("SIGNOPE") }), "invalid --stop-signal 'SIGNOPE'"],
    ["a restart delay of 0", flags({ restartDelay: Option.some(0) }), "invalid --restart-delay '0': must be a number of seconds above 0 and at most 86400"],
    ["a negative restart max delay", flags({ restartMaxDelay: Option.some(-5) }), "invalid --restart-max-delay '-5': must be a number of seconds above 0"],
    ["a restart delay over a day", flags({ restartDelay: Option.some(86_401), restartMaxDelay: Option.some(90_000) }), "invalid --restart-delay '86401'"],
    ["a max delay below the delay", flags({ restartDelay: Option.some(10), restartMaxDelay: Option.some(5) }), "invalid --restart-max-delay '5': must be at least --restart-delay (10)"],
    ["a max delay below the default first wait", flags({ restartMaxDelay: Option.some(0.5) }), "must be at least the first wait, 1 second by default (set --restart-delay too)"],
    ["a delay above the default cap", flags({ restartDelay: Option.some(90) }), "invalid --restart-delay '90': is above the default cap of 60 seconds: set --restart-max-delay too"],
    ["a name with a space", flags({ name: Option.some("my box") }), "invalid --name 'my box'"],
    ["a name starting with a dash", flags({ name: Option.some("-x") }), "invalid --name '-x'"]
  ])("rejects %s", (_, input, message) => {
    expect(errorOf(input)).toContain(message)
  })

  it("lists the valid restart policies when one is wrong", () => {
    expect(errorOf(flags({ restart: "alwayz" }))).toContain("no, always, unless-stopped, on-failure, on-failure:N")
  })
})

describe("RunSpec.parseEnv", () => {
  it("splits at the first '=' and keeps the last of a repeated key", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), fc.string()), { maxLength: 8 }),
        (pairs) => {
          const parsed = RunSpec.parseEnv(pairs.map(([key, value]) => `${key}=${value}`))
          expect(parsed).toEqual(Either.right(Object.fromEntries(pairs)))
        }
      )
    )
  })
})

describe("RunSpec.parseEnv edge cases", () => {
  it("a value may hold newlines and '='; only the key must be a valid name", () => {
    expect(RunSpec.parseEnv(["CERT=line1\nline2", "Q=a=b"])).toEqual(Either.right({ CERT: "line1\nline2", Q: "a=b" }))
  })

  it("takes the box's base variables from the caller only (PATH defaulted)", () => {
    expect(specOf(flags()).baseEnv).toEqual({ PATH: "/opt/tool/bin:/usr/bin", HOME: "/home/u", USER: "u" })
    const spec = RunSpec.validate(flags(), "/srv", {})
    expect(Either.isRight(spec) && spec.right.baseEnv["PATH"]).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  })

  it("keeps __proto__ as an ordinary variable", () => {
    const parsed = RunSpec.parseEnv(["__proto__=x"])
    expect(Either.isRight(parsed) && Object.keys(parsed.right)).toEqual(["__proto__"])
    expect(Either.isRight(parsed) && JSON.stringify(parsed.right)).toBe(`{"__proto__":"x"}`)
  })
})
