import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type BoxRecord, hasHealthCheck, isActive, markDead, shortIdOf, stopSignal, stopTimeoutSecs } from "../../src/domain/BoxRecord.js"
import { decodeCacheSize, invalidRecordProblem, parseStateFile, renderState, renderStateFile } from "../../src/domain/StateFileCodec.js"
import { decodeStateBytes, firstInvalidUtf8 } from "../../src/domain/StateFileText.js"

const here = path.dirname(fileURLToPath(import.meta.url))
/** A copy of ../shared/fixtures/boxes.json: a state file shaped like the original a3s-box writes. */
const fixtureText = readFileSync(path.join(here, "fixtures", "boxes.json"), "utf8")
const fixtureJson = JSON.parse(fixtureText) as Array<Record<string, unknown>>

const parseOrThrow = (text: string) =>
  Either.getOrThrowWith(parseStateFile(text), (problem) => new Error(`${problem._tag}: ${problem.detail}`))

const roundTrip = (text: string): unknown => {
  const { raw, records } = parseOrThrow(text)
  return JSON.parse(renderStateFile(records, raw))
}

/** The same, but every record is a new object, so each one is encoded (not written back as read). */
const roundTripEncoded = (text: string): unknown => {
  const { raw, records } = parseOrThrow(text)
  return JSON.parse(renderStateFile(records.map((r) => ({ ...r })), raw))
}

/**
 * JSON text with keys sorted: equality of JSON values. (toStrictEqual would also compare an
 * own `constructor` key, which generated unknown fields may have, as a type.)
 */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

const byName = (records: ReadonlyArray<BoxRecord>, name: string): BoxRecord => {
  const found = records.find((r) => r.name === name)
  if (found === undefined) throw new Error(`no box ${name}`)
  return found
}

describe("state file round trip (fixture)", () => {
  it("reading the fixture and writing it back yields deep-equal JSON", () => {
    expect(roundTrip(fixtureText)).toStrictEqual(fixtureJson)
    expect(roundTripEncoded(fixtureText)).toStrictEqual(fixtureJson)
  })

  it("decoded records are shared between reads of the same text, and frozen", () => {
    const first = parseOrThrow(fixtureText).records
    const second = parseOrThrow(fixtureText).records
    expect(second).toStrictEqual(first)
    const box = first[0] as BoxRecord
    expect(Object.isFrozen(box)).toBe(true)
    expect(Object.isFrozen(box.env)).toBe(true)
    expect(() => {
      ;(box as { status: string }).status = "mutated"
    }).toThrow(TypeError)
  })

  it("keeps unknown top-level fields and unknown health_check fields", () => {
    const withExtras = fixtureJson.map((item, i) =>
      i === 0
        ? {
          ...item,
          brand_new: { a: [1, "two", null] },
          health_check: { ...(item["health_check"] as object), probe_kind: "exec", grace: 1.5 }
        }
        : item
    )
    const out = roundTrip(JSON.stringify(withExtras)) as Array<Record<string, unknown>>
    expect(out).toStrictEqual(withExtras)
    expect(out[0]?.["brand_new"]).toStrictEqual({ a: [1, "two", null] })
    expect(out[0]?.["health_check"]).toMatchObject({ probe_kind: "exec", grace: 1.5 })
  })

  it("keeps absent keys absent (defaults are not written back)", () => {
    const out = roundTrip(fixtureText) as Array<Record<string, unknown>>
    const lovelace = out.find((r) => r["name"] === "quiet_lovelace")
    expect(lovelace).not.toHaveProperty("pid_start_time")
    expect(lovelace).not.toHaveProperty("health_check")
    expect(lovelace).not.toHaveProperty("health_status")
    const knuth = out.find((r) => r["name"] === "tiny_knuth")
    expect(knuth?.["health_check"]).toStrictEqual({
      cmd: ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9000')"]
    })
  })

  it("fields our code changed are written, everything else is kept", () => {
    const { raw, records } = parseOrThrow(fixtureText)
    const changed = records.map((box) => {
      switch (box.name) {
        case "calm_turing":
          return markDead(box, 137)
        case "quiet_lovelace":
          // absent before; a non-default value must appear
          return { ...box, pid_start_time: 4242, health_status: "starting", restart_count: 1 }
        case "tiny_knuth":
          return { ...box, health_check: box.health_check && { ...box.health_check, retries: 7 } }
        default:
          return box
      }
    })
    const out = JSON.parse(renderStateFile(changed, raw)) as Array<Record<string, unknown>>
    const expected = fixtureJson.map((item) => {
      switch (item["name"]) {
        case "calm_turing":
          return {
            ...item,
            status: "dead",
            pid: null,
            pid_start_time: null,
            health_status: "none",
            health_retries: 0,
            exit_code: 137
          }
        case "quiet_lovelace":
          return { ...item, pid_start_time: 4242, health_status: "starting", restart_count: 1 }
        case "tiny_knuth":
          return { ...item, health_check: { ...(item["health_check"] as object), retries: 7 } }
        default:
          return item
      }
    })
    expect(out).toStrictEqual(expected)
  })

  it("a record that was not in the file is written in full", () => {
    const { raw, records } = parseOrThrow(fixtureText)
    const fresh: BoxRecord = { ...byName(records, "brave_hopper"), id: "new-id", name: "fresh" }
    const out = JSON.parse(renderStateFile([...records, fresh], raw)) as Array<Record<string, unknown>>
    expect(out).toHaveLength(fixtureJson.length + 1)
    expect(out.at(-1)).toMatchObject({ id: "new-id", name: "fresh", restart_policy: "on-failure:5" })
    expect(out.at(-1)).toHaveProperty("stop_timeout", null)
  })

  it("is pretty-printed and ends with a newline", () => {
    const { raw, records } = parseOrThrow(fixtureText)
    const text = renderStateFile(records, raw)
    expect(text.endsWith("]\n")).toBe(true)
    expect(text.split("\n").length).toBeGreaterThan(records.length * 10)
  })
})

describe("parseStateFile", () => {
  it("an empty list is []; an empty or blank file is a typed problem, not an empty list", () => {
    expect(parseOrThrow("[]").records).toStrictEqual([])
    expect(parseOrThrow(" [ ]\n").records).toStrictEqual([])
    for (const text of ["", "  \n"]) {
      const result = parseStateFile(text)
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidJson")
      expect(Either.isLeft(result) && result.left.detail).toMatch(/^the file is empty/)
    }
  })

  it.each([
    ["truncated JSON", "[{\"id\": \"a\"", "InvalidJson"],
    ["not JSON", "hello", "InvalidJson"],
    ["an object instead of a list", "{}", "InvalidRecords"],
    ["a number instead of a list", "12", "InvalidRecords"]
  ])("%s is a typed problem", (_, text, tag) => {
    const result = parseStateFile(text)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe(tag)
      expect(result.left.detail.length).toBeGreaterThan(0)
    }
  })

  it("fills defaults for optional fields", () => {
    const box = byName(parseOrThrow(fixtureText).records, "keen_dijkstra")
    expect(box.health_check).toBeNull()
    expect(box.health_status).toBe("none")
    expect(box.healthcheck_disabled).toBe(false)
    expect(box.pid_start_time).toBeNull()
    expect(stopSignal(box)).toBe("SIGTERM")
    expect(stopTimeoutSecs(box)).toBe(10)
    const knuth = byName(parseOrThrow(fixtureText).records, "tiny_knuth")
    expect(knuth.health_check).toMatchObject({ interval_secs: 30, timeout_secs: 5, retries: 3, start_period_secs: 0 })
  })
})

describe("parseStateFile: the decode cache holds what the latest file holds", () => {
  it("restart after restart (a new version of each record every time), the cache stays bounded by the file, and a parse gives the same records", () => {
    const first = parseOrThrow(renderStateFile([]))
    expect(first.records).toStrictEqual([])
    let records = parseOrThrow(readFileSync(path.join(here, "fixtures", "boxes.json"), "utf8")).records
    const size = records.length
    for (let storm = 1; storm <= 200; storm++) {
      records = records.map((box) => ({ ...box, pid: 10_000 + storm, restart_count: storm }))
      const text = renderStateFile(records)
      const parsed = parseOrThrow(text)
      expect(parsed.records.map((box) => [box.id, box.pid, box.restart_count])).toStrictEqual(
        records.map((box) => [box.id, box.pid, box.restart_count])
      )
      // Unchanged text: the same decoded records (the cache still works).
      expect(parseOrThrow(text).records[0]).toBe(parsed.records[0])
      expect(decodeCacheSize()).toBeLessThanOrEqual(2 * size + 64 + size)
    }
  })
})

describe("one bad record is one bad record (SPEC §12)", () => {
  const [a, b, c] = [fixtureJson[0]!, fixtureJson[1]!, fixtureJson[2]!]

  it.each([
    ["a record with a wrong type", [{ id: 1 }], "at index 0", "id", "expected string, actual 1"],
    ["a record missing its name", [{ ...b, name: undefined }], `id ${JSON.stringify(b["id"])}`, "name", "is missing"],
    ["pid as a string", [{ ...a, pid: "48213" }], `id ${JSON.stringify(a["id"])}`, "pid", "expected number, actual \"48213\""],
    ["no box_dir, named only by its name", [{ name: "web", cmd: ["x"] }], "name \"web\"", "id", "is missing"],
    ["a nested field", [{ ...a, health_check: { cmd: [1] } }], `id ${JSON.stringify(a["id"])}`, "health_check.cmd[0]", "expected string, actual 1"],
    ["not an object", ["box1"], "at index 0", "", "is a string, not an object"]
  ])("%s: kept, with the record's name and the field at fault", (_, items, label, field, reason) => {
    const state = parseOrThrow(JSON.stringify(items))
    expect(state.records).toStrictEqual([])
    expect(state.invalid.map(({ index, label, field, reason }) => ({ index, label, field, reason }))).toStrictEqual([
      { index: 0, label, field, reason }
    ])
    expect(invalidRecordProblem(state.invalid[0]!)).not.toContain("\n")
  })

  it("the problem's one line names the record and the field", () => {
    const state = parseOrThrow(JSON.stringify([a, { ...b, box_dir: undefined }]))
    expect(invalidRecordProblem(state.invalid[0]!)).toBe(`record id ${JSON.stringify(b["id"])} (index 1): box_dir is missing`)
    const bare = parseOrThrow(JSON.stringify([a, 7]))
    expect(invalidRecordProblem(bare.invalid[0]!)).toBe("record at index 1: is a number, not an object")
  })

  it("the other records are decoded as usual", () => {
    const state = parseOrThrow(JSON.stringify([a, { ...b, box_dir: 5 }, c]))
    expect(state.records.map((r) => r.id)).toStrictEqual([a["id"], c["id"]])
    expect(state.invalid.map((i) => [i.index, i.validBefore])).toStrictEqual([[1, 1]])
  })

  it("a rewrite keeps each invalid element as it was, after the record that preceded it", () => {
    const bad1 = { name: "first", box_dir: 1, extra: { deep: [1, "two"] } }
    const bad2 = ["not", "a", "record"]
    const state = parseOrThrow(JSON.stringify([bad1, a, bad2, b, c]))
    expect(state.records).toHaveLength(3)
    const unchanged = JSON.parse(renderState(state.records, state)) as unknown
    expect(unchanged).toStrictEqual([bad1, a, bad2, b, c])
    // a record changed, one removed (the invalid element after it moves up to the one before), one added
    const bumped = state.records.filter((r) => r.id !== a["id"]).map((r) => r.id === c["id"] ? { ...r, restart_count: 9 } : r)
    const fresh = { ...state.records[0]!, id: "new-id", name: "new" }
    const out = JSON.parse(renderState([...bumped, fresh], state)) as Array<Record<string, unknown>>
    expect(out[0]).toStrictEqual(bad1)
    expect(out[1]).toStrictEqual(bad2)
    expect(out[2]).toStrictEqual(b)
    expect(out[3]!["restart_count"]).toBe(9)
    expect(out[4]!["id"]).toBe("new-id")
    expect(out).toHaveLength(5)
    // everything removed: the invalid elements stay, in their order
    expect(JSON.parse(renderState([], state))).toStrictEqual([bad1, bad2])
  })
})

describe("state file bytes: not UTF-8 is corrupt (decision, README)", () => {
  const utf8 = (text: string) => new TextEncoder().encode(text)
  const concat = (...parts: ReadonlyArray<Uint8Array>) => Uint8Array.from(parts.flatMap((p) => [...p]))

  it("valid UTF-8 (multi-byte, BOM kept) decodes to its text", () => {
    expect(decodeStateBytes(utf8("[\"héllo 🌍\"]"))).toStrictEqual(Either.right("[\"héllo 🌍\"]"))
    expect(decodeStateBytes(utf8("\ufeff[]"))).toStrictEqual(Either.right("\ufeff[]"))
  })

  it("go\\xffd in a known field and \\xc3\\x28 in an unknown one: refused with the byte offset", () => {
    const known = concat(utf8("[{\"name\": \"go"), Uint8Array.of(0xff), utf8("d\"}]"))
    const unknown = concat(utf8("[{\"x_extra\": \""), Uint8Array.of(0xc3, 0x28), utf8("\"}]"))
    expect(decodeStateBytes(known)).toStrictEqual(
      Either.left({ _tag: "InvalidUtf8", offset: 13, detail: "not valid UTF-8 at byte offset 13 (0xff)" })
    )
    expect(decodeStateBytes(unknown)).toStrictEqual(
      Either.left({ _tag: "InvalidUtf8", offset: 14, detail: "not valid UTF-8 at byte offset 14 (0xc3)" })
    )
  })

  it("firstInvalidUtf8 agrees with the platform's strict decoder (property)", () => {
    const strict = new TextDecoder("utf-8", { fatal: true })
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let valid = true
        try {
          strict.decode(bytes)
        } catch {
          valid = false
        }
        expect(firstInvalidUtf8(bytes) === undefined).toBe(valid)
      }),
      { numRuns: 2_000 }
    )
    // overlong, surrogate, beyond U+10FFFF, truncated
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x41, 0xe2, 0x82]]) {
      expect(firstInvalidUtf8(Uint8Array.from(bad))).toBe(bad[0] === 0x41 ? 1 : 0)
    }
  })
})

describe("record helpers", () => {
  it("isActive: running and paused only", () => {
    const statuses = ["running", "paused", "dead", "stopped", "created", "restart_starting"]
    expect(statuses.filter((status) => isActive({ status }))).toStrictEqual(["running", "paused"])
  })

  it("hasHealthCheck respects healthcheck_disabled", () => {
    const hc = { cmd: ["true"], interval_secs: 1, timeout_secs: 1, retries: 1, start_period_secs: 0 }
    expect(hasHealthCheck({ health_check: hc, healthcheck_disabled: false })).toBe(true)
    expect(hasHealthCheck({ health_check: hc, healthcheck_disabled: true })).toBe(false)
    expect(hasHealthCheck({ health_check: null, healthcheck_disabled: false })).toBe(false)
  })

  it("shortIdOf: first 12 hex chars without dashes", () => {
    expect(shortIdOf("3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23")).toBe("3f2b8c1e7a4d")
  })

  it("markDead keeps a known exit code and fills an unknown one", () => {
    const { records } = parseOrThrow(fixtureText)
    const turing = byName(records, "calm_turing")
    expect(markDead(turing, 3)).toMatchObject({
      status: "dead",
      pid: null,
      pid_start_time: null,
      health_status: "none",
      health_retries: 0,
      exit_code: 3
    })
    expect(markDead({ ...turing, exit_code: 1 }, 3).exit_code).toBe(1)
    expect(markDead(turing, null).exit_code).toBeNull()
  })
})

// ---------------------------------------------------------------------------
// Properties

const KNOWN_KEYS = Object.keys(fixtureJson[0] ?? {}).concat(["stop_signal", "stop_timeout"])
const HC_KEYS = ["cmd", "interval_secs", "timeout_secs", "retries", "start_period_secs"]

const unknownKey = (known: ReadonlyArray<string>) =>
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.includes(k) && k !== "__proto__")

const extras = (known: ReadonlyArray<string>) => fc.dictionary(unknownKey(known), fc.jsonValue(), { maxKeys: 4 })

const healthCheckArb = fc
  .tuple(
    fc.record(
      {
        cmd: fc.array(fc.string(), { maxLength: 3 }),
        interval_secs: fc.integer({ min: 0, max: 600 }),
        timeout_secs: fc.integer({ min: 0, max: 600 }),
        retries: fc.integer({ min: 0, max: 10 }),
        start_period_secs: fc.integer({ min: 0, max: 600 })
      },
      { requiredKeys: ["cmd"] }
    ),
    extras(HC_KEYS)
  )
  .map(([known, more]) => ({ ...more, ...known }))

const nullableInt = fc.option(fc.integer({ min: 1, max: 4_194_304 }), { nil: null })
const nullableString = fc.option(fc.string({ maxLength: 20 }), { nil: null })

/** A record as some version of a3s-box might write it: required keys, any subset of optional ones, unknown extras. */
const recordArb = fc
  .tuple(
    fc.record(
      {
        id: fc.uuid(),
        short_id: fc.string({ maxLength: 12 }),
        name: fc.string({ maxLength: 20 }),
        status: fc.constantFrom("created", "running", "paused", "stopped", "dead", "restart_starting"),
        pid: nullableInt,
        pid_start_time: nullableInt,
        cmd: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
        env: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 8 }), {
          maxKeys: 3
        }),
        box_dir: fc.string({ maxLength: 20 }),
        console_log: fc.string({ maxLength: 20 }),
        workdir: nullableString,
        created_at: fc.string({ maxLength: 30 }),
        started_at: nullableString,
        auto_remove: fc.boolean(),
        restart_policy: fc.constantFrom("no", "always", "on-failure", "on-failure:3", "unless-stopped", "bogus"),
        max_restart_count: fc.integer({ min: 0, max: 10 }),
        restart_count: fc.integer({ min: 0, max: 10 }),
        stopped_by_user: fc.boolean(),
        exit_code: fc.option(fc.integer({ min: -1, max: 255 }), { nil: null }),
        health_check: fc.option(healthCheckArb, { nil: null }),
        healthcheck_disabled: fc.boolean(),
        health_status: fc.constantFrom("none", "starting", "healthy", "unhealthy"),
        health_retries: fc.integer({ min: 0, max: 10 }),
        health_last_check: nullableString,
        stop_signal: fc.option(fc.constantFrom("SIGTERM", "SIGINT", "SIGQUIT"), { nil: null }),
        stop_timeout: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null })
      },
      { requiredKeys: ["id", "short_id", "name", "status", "cmd", "box_dir", "console_log", "created_at"] }
    ),
    extras(KNOWN_KEYS)
  )
  .map(([known, more]) => ({ ...more, ...known }))

const stateArb = fc.uniqueArray(recordArb, { maxLength: 5, selector: (r) => r.id })

describe("properties", () => {
  it("decoding any JSON text never throws: it is a record list or a typed problem", () => {
    const jsonish = fc.oneof(
      fc.json(),
      fc.string(),
      fc.array(fc.dictionary(fc.constantFrom(...KNOWN_KEYS, "x"), fc.jsonValue(), { maxKeys: 8 })).map((v) =>
        JSON.stringify(v)
      ),
      stateArb.chain((records) =>
        fc.tuple(fc.constant(records), fc.nat({ max: 5 }), fc.constantFrom(...KNOWN_KEYS), fc.jsonValue())
      ).map(([records, i, key, value]) =>
        JSON.stringify(records.map((r, j) => (j === i ? { ...r, [key]: value } : r)))
      )
    )
    fc.assert(
      fc.property(jsonish, (text) => {
        const result = parseStateFile(text)
        if (Either.isLeft(result)) {
          expect(["InvalidJson", "InvalidRecords"]).toContain(result.left._tag)
          expect(typeof result.left.detail).toBe("string")
        } else {
          expect(Array.isArray(result.right.records)).toBe(true)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("decode then encode gives back the same JSON (unknown fields kept, absent keys absent)", () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        const text = JSON.stringify(state)
        expect(canonical(roundTrip(text))).toBe(canonical(JSON.parse(text)))
        expect(canonical(roundTripEncoded(text))).toBe(canonical(JSON.parse(text)))
      }),
      { numRuns: 300 }
    )
  })

  it("a changed field is written and every other field is kept", () => {
    fc.assert(
      fc.property(stateArb.filter((s) => s.length > 0), fc.integer({ min: 0, max: 50 }), (state, count) => {
        const { raw, records } = parseOrThrow(JSON.stringify(state))
        const bumped = records.map((r) => ({ ...r, restart_count: count }))
        const out = JSON.parse(renderStateFile(bumped, raw))
        // an absent key set to its default (0) stays absent
        const expected = state.map((r) => ("restart_count" in r || count !== 0 ? { ...r, restart_count: count } : r))
        expect(canonical(out)).toBe(canonical(expected))
      }),
      { numRuns: 200 }
    )
  })
})
