/**
 * Reliability properties (fast-check) over inputs the domain tests do not generate: JSON
 * nested deeper than any stack, numbers JSON cannot round-trip, `__proto__` and other
 * prototype-shaped keys, arbitrary values in every known field. And the restart decision
 * of the monitor (SPEC §4, §6) against an oracle written from the SPEC's table, for records
 * decoded from arbitrary JSON.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import { type BoxRecord } from "../../src/domain/BoxRecord.js"
import { parseStateFile, renderStateFile } from "../../src/domain/StateFileCodec.js"
import * as Supervision from "../../src/domain/Supervision.js"

/** Every fast-check run is reproducible from the seed it prints on failure. */
const RUNS = { numRuns: 200 }

const KNOWN_KEYS = [
  "id", "short_id", "name", "status", "pid", "pid_start_time", "cmd", "env", "box_dir", "console_log", "workdir",
  "created_at", "started_at", "auto_remove", "restart_policy", "max_restart_count", "restart_count",
  "stopped_by_user", "exit_code", "health_check", "healthcheck_disabled", "health_status", "health_retries",
  "health_last_check", "stop_signal", "stop_timeout"
] as const

const minimal = (id: string): Record<string, unknown> => ({
  id,
  short_id: id.slice(0, 12),
  name: `box-${id}`,
  status: "dead",
  cmd: ["true"],
  box_dir: `/nonexistent/${id}`,
  console_log: `/nonexistent/${id}/console.log`,
  created_at: "2026-01-01T00:00:00Z"
})

/** JSON text with keys sorted: equality of JSON values, own `__proto__` keys included. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/** `depth` arrays or objects nested in one another, as JSON text (no recursion: any depth). */
const nested = (depth: number, kind: "array" | "object"): string =>
  kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

/** Keys that mean something to JavaScript objects. */
const trickyKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "")

/** A JSON object key: tricky ones often, anything else too. */
const anyKey = fc.oneof(trickyKey, fc.string({ maxLength: 8 }))

/** JSON values with tricky keys, given as text so that `__proto__` keys are real own keys after JSON.parse. */
const jsonValueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("null", "true", "false", "0", "-0", "1e308", "-1.5e-300", "123456789012345678901234567890", "\"\""),
    fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc.array(fc.tuple(anyKey, tie("value")), { maxLength: 4 }).map((entries) =>
      `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`
    )
  )
})).value

describe("decoding arbitrary JSON never throws an untyped exception", () => {
  const expectTyped = (text: string) => {
    let result: ReturnType<typeof parseStateFile>
    try {
      result = parseStateFile(text)
    } catch (error) {
      throw new Error(`parseStateFile threw ${String(error)} for ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`)
    }
    if (Either.isLeft(result)) {
      expect(["InvalidJson", "InvalidRecords"]).toContain(result.left._tag)
      expect(typeof result.left.detail).toBe("string")
      // The detail goes into an error message: bounded, whatever the size of the file.
      expect(result.left.detail.length).toBeLessThan(4_000)
    } else {
      // Whatever was accepted can be written back, and reads back the same.
      const written = renderStateFile(result.right.records, result.right.raw)
      const again = parseStateFile(written)
      expect(Either.isRight(again)).toBe(true)
    }
  }

  it("any JSON value, array of values, or record with one field replaced by any value (property)", () => {
    const recordWith = fc.tuple(fc.constantFrom(...KNOWN_KEYS, "health_check.cmd", "health_check.retries"), jsonValueText)
      .map(([key, value]) => {
        const base = JSON.stringify({ ...minimal("a1"), health_check: { cmd: ["true"] } })
        if (key.startsWith("health_check.")) {
          const field = key.slice("health_check.".length)
          return `[${base.replace(/"health_check":\{/, `"health_check":{"${field}":${value},`)}]`
        }
        return `[${base.slice(0, -1)},${JSON.stringify(key)}:${value}}]`
      })
    fc.assert(
      fc.property(fc.oneof(jsonValueText, jsonValueText.map((v) => `[${v}]`), recordWith, fc.string()), expectTyped),
      RUNS
    )
  })

  it.each([
    ["an array nested 100,000 deep", nested(100_000, "array")],
    ["an object nested 100,000 deep", nested(100_000, "object")],
    ["a record with an unknown field nested 100,000 deep", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"x":${nested(100_000, "array")}}]`],
    ["a record with an unknown field nested 5,000 deep", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"x":${nested(5_000, "object")}}]`],
    ["a health check nested 100,000 deep", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"health_check":${nested(100_000, "object")}}]`],
    ["a known number out of range (1e400)", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"restart_count":1e400}]`],
    ["an unknown number out of range (-1e999)", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"future":{"n":-1e999}}]`],
    ["a 1 MB string where the array should be", JSON.stringify("x".repeat(1_000_000))],
    ["a 1 MB string as a record's cmd", `[${JSON.stringify({ ...minimal("a1"), cmd: "x".repeat(1_000_000) })}]`],
    ["a lone surrogate in a name", `[${JSON.stringify(minimal("a1")).slice(0, -1)},"name":"\\ud800"}]`],
    ["a byte order mark before the array", `\ufeff[]`],
    ["NUL bytes", "\u0000\u0000"]
  ])("%s", (_, text) => expectTyped(text))
})

describe("decode -> encode keeps every unknown field", () => {
  /** A record with unknown fields (tricky keys included) at the top and in its health check. */
  const recordText = fc.tuple(
    fc.uuid(),
    fc.array(fc.tuple(anyKey.filter((k) => !(KNOWN_KEYS as ReadonlyArray<string>).includes(k)), jsonValueText), { maxLength: 4 }),
    fc.array(fc.tuple(anyKey.filter((k) => !["cmd", "interval_secs", "timeout_secs", "retries", "start_period_secs"].includes(k)), jsonValueText), { maxLength: 3 }),
    fc.array(fc.tuple(anyKey, fc.string({ maxLength: 6 })), { maxLength: 3 }),
    fc.boolean()
  ).map(([id, extra, checkExtra, env, withCheck]) => {
    const fields = (entries: ReadonlyArray<readonly [string, string]>) =>
      entries.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join("")
    const envText = `{${env.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`
    const check = withCheck ? `,"health_check":{"cmd":["true"]${fields(checkExtra)}}` : ""
    return `${JSON.stringify(minimal(id)).slice(0, -1)},"env":${envText}${check}${fields(extra)}}`
  })
  const stateText = fc.array(recordText, { maxLength: 4 }).map((records) => `[${records.join(",")}]`)

  /**
   * The file as our writer would leave it: what JSON.parse gives, except that numbers JSON
   * cannot carry are refused at read time (the test expects a typed problem for those).
   */
  const decodeOrSkip = (text: string) => {
    const parsed = parseStateFile(text)
    if (Either.isLeft(parsed)) {
      // Only refused for numbers out of range (a JSON number that reads as Infinity).
      expect(parsed.left.detail).toMatch(/out of range|finite|Infinity/i)
      return undefined
    }
    return parsed.right
  }

  it("written back unchanged, as new objects, or with a known field changed: every other key is kept (property)", () => {
    fc.assert(
      fc.property(stateText, fc.nat({ max: 1_000 }), (text, count) => {
        const state = decodeOrSkip(text)
        if (state === undefined) return
        const original = JSON.parse(text) as Array<Record<string, unknown>>
        const unchanged = JSON.parse(renderStateFile(state.records, state.raw)) as unknown
        expect(canonical(unchanged)).toBe(canonical(original))
        const copies = JSON.parse(renderStateFile(state.records.map((r) => ({ ...r })), state.raw)) as unknown
        expect(canonical(copies)).toBe(canonical(original))
        const bumped = state.records.map((r): BoxRecord => ({ ...r, restart_count: count + 1, status: "running" }))
        const changed = JSON.parse(renderStateFile(bumped, state.raw)) as unknown
        const expected = original.map((r) => {
          const copy = JSON.parse(JSON.stringify(r)) as Record<string, unknown>
          Object.defineProperty(copy, "restart_count", { value: count + 1, enumerable: true, writable: true, configurable: true })
          Object.defineProperty(copy, "status", { value: "running", enumerable: true, writable: true, configurable: true })
          return copy
        })
        expect(canonical(changed)).toBe(canonical(expected))
      }),
      RUNS
    )
  })

  it("a __proto__ key survives at the top, in the health check and in env when the record changes", () => {
    const text = `[${JSON.stringify(minimal("p1")).slice(0, -1)},"__proto__":{"polluted":true},"env":{"__proto__":"v","A":"1"},"health_check":{"cmd":["true"],"__proto__":7}}]`
    const state = decodeOrSkip(text)!
    const changed = renderStateFile(state.records.map((r) => ({ ...r, restart_count: 3 })), state.raw)
    const back = JSON.parse(changed) as Array<Record<string, unknown>>
    expect(Object.keys(back[0]!)).toContain("__proto__")
    expect(canonical(back[0]!["__proto__" as keyof object])).toBe(canonical({ polluted: true }))
    expect(Object.keys(back[0]!["env"] as object)).toEqual(["__proto__", "A"])
    expect(Object.keys(back[0]!["health_check"] as object)).toContain("__proto__")
    // and nothing was polluted on the way
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })
})

// -------------------------------------------------------------------------------------------
// SPEC §4 and §6, as an oracle

/** SPEC §4's policy column: the policy a value names, or undefined ("no"-like: unknown or malformed). */
const specPolicy = (value: unknown): { readonly kind: "no" | "always" | "unless-stopped" | "on-failure"; readonly n?: number } | undefined => {
  if (value === "no" || value === "always" || value === "unless-stopped" || value === "on-failure") return { kind: value }
  // on-failure:N, N a positive integer. (Decision: N has at most 9 digits; longer ones are malformed.)
  const m = typeof value === "string" ? /^on-failure:([1-9][0-9]{0,8})$/.exec(value) : null
  return m === null ? undefined : { kind: "on-failure", n: Number(m[1]) }
}

/** SPEC §4's "restart a dead box when" column, read literally. */
const specRestartsDead = (box: {
  readonly restart_policy: unknown
  readonly max_restart_count: number
  readonly restart_count: number
  readonly stopped_by_user: boolean
  readonly exit_code: number | null
}): boolean => {
  const policy = specPolicy(box.restart_policy)
  if (policy === undefined || policy.kind === "no") return false
  const capOk = !(box.max_restart_count > 0) || box.restart_count < box.max_restart_count
  switch (policy.kind) {
    case "always":
      return capOk
    case "unless-stopped":
      return !box.stopped_by_user && capOk
    case "on-failure": {
      const failed = box.exit_code === null || box.exit_code !== 0
      return !box.stopped_by_user && failed && capOk && (policy.n === undefined || box.restart_count < policy.n)
    }
  }
}

describe("restart decisions match SPEC §4 (and §6) for every record a state file can hold", () => {
  const number = fc.oneof(
    fc.integer({ min: -3, max: 12 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }),
    fc.constantFrom(0, -0, 0.5, 1e9, 999_999_999, 1_000_000_000, Number.MAX_SAFE_INTEGER, 1e300)
  )
  const policy = fc.oneof(
    fc.constantFrom("no", "always", "unless-stopped", "on-failure", "on-failure:1", "on-failure:3", "on-failure:999999999"),
    fc.constantFrom("on-failure:0", "on-failure:-1", "on-failure:01", "on-failure:1.5", "on-failure:", "on-failure:1000000000",
      "Always", " always", "always ", "on_failure", "unless_stopped", "on-failure:3 ", "no:1", ""),
    fc.nat({ max: 20 }).map((n) => `on-failure:${n}`),
    fc.string({ maxLength: 14 })
  )
  const status = fc.oneof(
    fc.constantFrom("created", "running", "paused", "stopped", "dead", "restart_starting", "stopping", "Dead", "dead "),
    fc.string({ maxLength: 8 })
  )
  const recordArb = fc.record({
    id: fc.uuid(),
    status,
    restart_policy: fc.option(policy, { nil: undefined }),
    max_restart_count: fc.option(number, { nil: undefined }),
    restart_count: fc.option(number, { nil: undefined }),
    stopped_by_user: fc.option(fc.boolean(), { nil: undefined }),
    exit_code: fc.option(fc.option(fc.oneof(fc.integer({ min: -2, max: 300 }), number), { nil: null }), { nil: undefined }),
    auto_remove: fc.option(fc.boolean(), { nil: undefined }),
    health: fc.option(
      fc.record({
        status: fc.constantFrom("none", "starting", "healthy", "unhealthy", "bogus"),
        disabled: fc.boolean()
      }),
      { nil: undefined }
    ),
    killedForHealth: fc.boolean()
  })

  it("a box is restarted for being dead exactly when it is dead and §4 says so; unhealthy per §6 (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(recordArb, { maxLength: 6, selector: (r) => r.id }), (specs) => {
        const json = specs.map((s) => {
          const r: Record<string, unknown> = { ...minimal(s.id), status: s.status, pid: s.status === "running" ? 4_000_000 : null }
          for (const key of ["restart_policy", "max_restart_count", "restart_count", "stopped_by_user", "exit_code", "auto_remove"] as const) {
            if (s[key] !== undefined) r[key] = s[key]
          }
          if (s.health !== undefined) {
            r["health_check"] = { cmd: ["true"] }
            r["health_status"] = s.health.status
            r["healthcheck_disabled"] = s.health.disabled
          }
          return r
        })
        const parsed = parseStateFile(JSON.stringify(json))
        expect(Either.isRight(parsed)).toBe(true)
        if (Either.isLeft(parsed)) return
        const records = parsed.right.records
        const killed = new Set(specs.filter((s) => s.killedForHealth).map((s) => s.id))
        const decided = new Map(Supervision.restartCandidates(records, killed).map((c) => [c.box.id, c.reason]))
        for (const box of records) {
          const input = {
            restart_policy: box.restart_policy,
            max_restart_count: box.max_restart_count,
            restart_count: box.restart_count,
            stopped_by_user: box.stopped_by_user,
            exit_code: box.exit_code
          }
          // §4: only `dead` boxes are restart candidates, per the table. A box the monitor itself
          // stopped for being unhealthy (§6) is restarted like a dead one whose exit was a failure.
          const asDead = box.status === "dead" &&
            (specRestartsDead(input) ||
              (killed.has(box.id) && !box.auto_remove && specRestartsDead({ ...input, exit_code: null })))
          // §6: running, unhealthy, health check in force, and the policy allows a restart
          // (the box has not exited: its exit counts as unknown). --rm boxes are removed, not restarted.
          const asUnhealthy = box.status === "running" && box.health_check !== null && !box.healthcheck_disabled &&
            box.health_status === "unhealthy" && !box.auto_remove && specRestartsDead({ ...input, exit_code: null })
          const expected = asDead ? (killed.has(box.id) ? "unhealthy" : "dead") : asUnhealthy ? "unhealthy" : undefined
          expect({ box: box.name, status: box.status, policy: box.restart_policy, reason: decided.get(box.id) }).toEqual({
            box: box.name,
            status: box.status,
            policy: box.restart_policy,
            reason: expected
          })
        }
      }),
      { numRuns: 300 }
    )
  })

  it("a record whose policy field is not a string is not a valid record (reported, never guessed)", () => {
    for (const value of [1, true, null, ["always"], { always: true }]) {
      const parsed = parseStateFile(JSON.stringify([{ ...minimal("x1"), restart_policy: value }]))
      // SPEC §12: the file is sound; that record is kept aside as invalid, never supervised.
      expect(Either.isRight(parsed)).toBe(true)
      if (Either.isRight(parsed)) {
        expect(parsed.right.records).toStrictEqual([])
        expect(parsed.right.invalid.map((i) => i.field)).toStrictEqual(["restart_policy"])
      }
    }
  })
})
