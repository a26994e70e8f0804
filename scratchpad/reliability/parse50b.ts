import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
const items = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Array<Record<string, unknown>>
let t = performance.now()
for (const item of items) JSON.stringify(item)
console.log(`stringify ${Math.round(performance.now() - t)} ms`)
const Known = Schema.Struct(BoxRecord.fields).annotations({ parseOptions: { onExcessProperty: "ignore" } })
const decode = Schema.decodeUnknownEither(Known, { errors: "first" })
t = performance.now()
for (const item of items) decode(item)
console.log(`decode known ${Math.round(performance.now() - t)} ms`)
t = performance.now()
for (const item of items) decode(item)
console.log(`decode known again ${Math.round(performance.now() - t)} ms`)
t = performance.now()
for (const item of items) ({ ...item })
console.log(`spread ${Math.round(performance.now() - t)} ms`)
