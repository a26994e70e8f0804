import { readFileSync } from "node:fs"
import * as Schema from "effect/Schema"
import { BoxRecord } from "../src/domain/BoxRecord.js"
const fx = JSON.parse(readFileSync("../shared/fixtures/boxes.json", "utf8"))
const many = Array.from({ length: 1000 }, (_, i) => ({ ...fx[i % fx.length], id: `id-${i}` }))
const dec = Schema.decodeUnknownSync(Schema.Array(BoxRecord))
for (let k = 0; k < 3; k++) { const t = performance.now(); dec(many); console.log("decode 1000:", (performance.now() - t).toFixed(1), "ms") }
const dec2 = Schema.decodeUnknownSync(Schema.Array(BoxRecord), { errors: "first" })
for (let k = 0; k < 3; k++) { const t = performance.now(); dec2(many); console.log("decode first 1000:", (performance.now() - t).toFixed(1), "ms") }
