import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
const fx = JSON.parse(readFileSync("../shared/fixtures/boxes.json", "utf8"))
const many = Array.from({ length: 1000 }, (_, i) => ({ ...fx[i % fx.length], id: `id-${i}` }))
const opts = { parseOptions: { onExcessProperty: "preserve" as const } }
const A = Schema.Struct({ id: Schema.String, name: Schema.String, restart_count: Schema.optional(Schema.Number), pid: Schema.optional(Schema.NullOr(Schema.Number)) }).annotations(opts)
const B = Schema.Struct({ id: Schema.String, name: Schema.String, restart_count: Schema.optionalWith(Schema.Number, { default: () => 0 }), pid: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }) }).annotations(opts)
const C = Schema.Struct({ id: Schema.String, name: Schema.String, restart_count: Schema.optional(Schema.Number), pid: Schema.optional(Schema.NullOr(Schema.Number)) })
for (const [n, s] of [["plain-optional+preserve", A], ["defaults+preserve", B], ["plain no preserve", C]] as const) {
  const dec = Schema.decodeUnknownSync(Schema.Array(s as any))
  dec(many); const t = performance.now(); dec(many); console.log(n, (performance.now() - t).toFixed(1), "ms")
}
