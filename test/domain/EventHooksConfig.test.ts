import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type { BoxEvent } from "../../src/domain/BoxEvent.js"
import * as EventHooksConfig from "../../src/domain/EventHooksConfig.js"

const health = (to: string): BoxEvent => ({ seq: 1, time: "t", type: "health_status", box_id: "i", box_name: "n", from: "healthy", to })

describe("EventHooksConfig.parseFilter", () => {
  it("reads event types and `unhealthy`, blanks around commas ignored, duplicates dropped", () => {
    expect(EventHooksConfig.parseFilter("die, restart,unhealthy ,gave-up,die")).toEqual(
      Either.right(["die", "restart", "unhealthy", "gave-up"])
    )
    expect(EventHooksConfig.parseFilter("health_status,monitor-start")).toEqual(Either.right(["health_status", "monitor-start"]))
  })

  it("an unknown value is an error naming it and listing the accepted ones", () => {
    const parsed = EventHooksConfig.parseFilter("die,crash,,restart")
    expect(Either.isLeft(parsed)).toBe(true)
    const message = Either.getLeft(parsed).pipe((o) => (o._tag === "Some" ? o.value : ""))
    expect(message).toContain("unknown event 'crash', an empty value")
    expect(message).toContain("accepted: unhealthy, create, start, die, restart")
    expect(message).toContain("state-recovered")
    expect(Either.isLeft(EventHooksConfig.parseFilter(" , "))).toBe(true)
  })

  it("the default is die, restart, unhealthy, gave-up, and it reads back", () => {
    const text = EventHooksConfig.formatFilter(EventHooksConfig.DEFAULT_FILTER)
    expect(text).toBe("die,restart,unhealthy,gave-up")
    expect(EventHooksConfig.parseFilter(text)).toEqual(Either.right(EventHooksConfig.DEFAULT_FILTER))
  })
})

describe("EventHooksConfig.matches", () => {
  it("`unhealthy` is a health change to unhealthy; `health_status` is every health change", () => {
    expect(EventHooksConfig.matches(["unhealthy"], health("unhealthy"))).toBe(true)
    expect(EventHooksConfig.matches(["unhealthy"], health("healthy"))).toBe(false)
    expect(EventHooksConfig.matches(["health_status"], health("healthy"))).toBe(true)
    expect(EventHooksConfig.matches(["die"], health("unhealthy"))).toBe(false)
  })
})
