import * as Schema from "effect/Schema"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
import { HealthCheck } from "../../src/domain/HealthCheck.js"
import { idleFleet } from "../../test/bench/fleet.js"
const recs = idleFleet(1000, [{ pid: 1, startTime: 1 }], "/tmp/x")
const text = JSON.stringify(recs, null, 2)
const time = (name: string, f: () => unknown) => { for (let r = 0; r < 4; r++) { const t = performance.now(); f(); if (r >= 2) console.log(name.padEnd(40), (performance.now() - t).toFixed(1), "ms") } }
const HCK = HealthCheck.annotations({ parseOptions: { onExcessProperty: "ignore" } })
const Known = Schema.Struct({ ...BoxRecord.fields, health_check: Schema.optionalWith(Schema.NullOr(HCK), { default: () => null }) }).annotations({ identifier: "BoxRecord", parseOptions: { onExcessProperty: "ignore" } })
const dP = Schema.decodeUnknownEither(BoxRecord, { errors: "first" })
const dK = Schema.decodeUnknownEither(Known, { errors: "first" })
const eK = Schema.encodeSync(Known)
const eP = Schema.encodeSync(BoxRecord)
time("JSON.parse 1000", () => JSON.parse(text))
const json = JSON.parse(text) as Array<Record<string, unknown>>
time("JSON.stringify each (cache key)", () => json.map((x) => JSON.stringify(x)))
time("decode preserve", () => json.map((x) => dP(x)))
time("decode known", () => json.map((x) => dK(x)))
time("decode known + merge", () => json.map((x) => { const d = dK(x) as any; return { ...x, ...d.right } }))
const merged = json.map((x) => { const d = dK(x) as any; return { ...x, ...d.right } })
time("encode known (rec w/ unknowns)", () => merged.map((r) => eK(r as any)))
time("encode preserve", () => merged.map((r) => eP(r as any)))
time("JSON.stringify pretty", () => JSON.stringify(merged, null, 2))
console.log("file MB", (text.length / 1e6).toFixed(2))
const Plain = Schema.Struct({ ...BoxRecord.fields, health_check: Schema.optionalWith(Schema.NullOr(Schema.Struct(HealthCheck.fields)), { default: () => null }) })
const dPl = Schema.decodeUnknownEither(Plain, { errors: "first" })
const dPl2 = Schema.decodeUnknownEither(Plain)
time("decode plain (no annotations)", () => json.map((x) => dPl(x)))
time("decode plain all errors", () => json.map((x) => dPl2(x)))
const slim = json.map((x) => Object.fromEntries(Object.keys(BoxRecord.fields).filter((k) => k in x).map((k) => [k, x[k]])))
time("decode plain slim input", () => slim.map((x) => dPl(x)))
time("decode known slim input", () => slim.map((x) => dK(x)))
const dArr = Schema.decodeUnknownEither(Schema.Array(Plain), { errors: "first" })
time("decode plain as array", () => dArr(json))
