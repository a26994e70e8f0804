/**
 * The exposition against the real `promtool check metrics` (exit 0 = parses and passes its
 * lint; it does not flag duplicate series, so those are checked here too).
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { describe, expect, it } from "vitest"
import * as Exposition from "../../src/metrics/Exposition.js"
import * as Staleness from "../../src/metrics/Staleness.js"
import { CYCLE_BUCKETS } from "../../src/telemetry/MonitorStats.js"
import { box, findPromtool, fixtureRecords, promtoolCheck, readExposition } from "./support.js"

// Missing promtool: these tests skip, unless CI=true, where findPromtool throws and the file fails.
const promtool = findPromtool()
const withPromtool = promtool === undefined ? it.skip : it

const render = (state: Exposition.StateView, perBox: boolean) =>
  Exposition.render({
    state,
    stats: {
      lastCycleCompletedAt: Option.some(0),
      stateOk: true,
      restarts: new Map([["dead/ok", 3], ["unhealthy/error", 1]]),
      probes: new Map([["healthy", 7], ["unhealthy", 2]]),
      cycleDurations: { bucketCounts: CYCLE_BUCKETS.map((le) => (le >= 0.005 ? 2 : 1)), count: 2, sum: 0.0061 }
    },
    staleness: Staleness.assess({ lastCycleCompletedAt: Option.some(0), startedAt: 0, now: 2_000, threshold: Duration.seconds(30) }),
    process: Exposition.sampleProcess(),
    perBox
  })

const cases: ReadonlyArray<readonly [string, Exposition.StateView, boolean]> = [
  ["the mixed fixture", Exposition.readable(fixtureRecords), false],
  [
    "the mixed fixture with per-box series and awkward names",
    Exposition.readable([
      ...fixtureRecords,
      box({ name: "quote\"back\\slash\nnewline", restart_count: 2, health_status: "healthy" }),
      box({ name: "ünïcödé 🚀", health_status: "starting" }),
      box({ name: "", health_status: "weird" })
    ]),
    true
  ],
  ["an empty state", Exposition.readable([]), true],
  ["a state with invalid records", Exposition.readable(fixtureRecords, 3), true],
  ["an unreadable state", Exposition.unreadable("state file /x/boxes.json is corrupt: Unexpected token } in JSON\nat line 3"), true]
]

describe("promtool check metrics", () => {
  for (const [name, state, perBox] of cases) {
    withPromtool(`passes for ${name}, with no duplicate series`, async () => {
      const text = await render(state, perBox)
      const result = promtoolCheck(promtool!, text)
      expect(result.stderr).toBe("")
      expect(result.status).toBe(0)
      const out = readExposition(text)
      expect(out.duplicates).toEqual([])
      expect(out.repeatedMetadata).toEqual([])
    })
  }

  withPromtool("the checker is real: it fails a broken exposition", () => {
    const result = promtoolCheck(promtool!, "# TYPE a3s_box_state gauge\na3s_box_state{status=\"running\" 1\n")
    expect(result.status).not.toBe(0)
  })
})
