import * as Schema from "effect/Schema"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
import { HealthCheck } from "../../src/domain/HealthCheck.js"
import { idleFleet } from "../../test/bench/fleet.js"
const HCK = HealthCheck.annotations({ parseOptions: { onExcessProperty: "ignore" } })
const Known = Schema.Struct({ ...BoxRecord.fields, health_check: Schema.optionalWith(Schema.NullOr(HCK), { default: () => null }) }).annotations({ identifier: "BoxRecord", parseOptions: { onExcessProperty: "ignore" } })
const dK = Schema.decodeUnknownEither(Known, { errors: "first" })
for (let r = 0; r < 6; r++) {
  const json = JSON.parse(JSON.stringify(idleFleet(1000, [{ pid: 1000 + r, startTime: 1 }], "/tmp/x"))) as Array<Record<string, unknown>>
  let t = performance.now(); const d = json.map((x) => dK(x)); const a = performance.now() - t
  t = performance.now(); const m = json.map((x, i) => ({ ...x, ...(d[i] as any).right })); const b = performance.now() - t
  t = performance.now(); for (const x of m) { Object.freeze(x.cmd); Object.freeze(x.env); Object.freeze(x) }; const c = performance.now() - t
  console.log(`decode ${a.toFixed(1)} merge ${b.toFixed(1)} freeze ${c.toFixed(1)}`)
}
