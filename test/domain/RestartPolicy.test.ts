import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import fc from "fast-check"
import * as RestartPolicy from "../../src/domain/RestartPolicy.js"

const base: RestartPolicy.RestartInput = {
  restart_policy: "no",
  max_restart_count: 0,
  restart_count: 0,
  stopped_by_user: false,
  exit_code: 1
}

describe("RestartPolicy.parse", () => {
  it.each([
    ["no", { _tag: "No" }],
    ["always", { _tag: "Always" }],
    ["unless-stopped", { _tag: "UnlessStopped" }],
    ["on-failure", { _tag: "OnFailure", maxRetries: null }],
    ["on-failure:1", { _tag: "OnFailure", maxRetries: 1 }],
    ["on-failure:5", { _tag: "OnFailure", maxRetries: 5 }],
    ["on-failure:123456789", { _tag: "OnFailure", maxRetries: 123456789 }]
  ])("accepts %s", (input, expected) => {
    expect(RestartPolicy.parse(input)).toStrictEqual(Either.right(expected))
  })

  it.each([
    "",
    "yes",
    "No",
    "ALWAYS",
    " always",
    "always ",
    "on-failure:",
    "on-failure:0",
    "on-failure:-1",
    "on-failure:05",
    "on-failure:1.5",
    "on-failure:x",
    "on-failure:3:4",
    "on_failure",
    "unless_stopped",
    "on-failure:1234567890"
  ])("rejects %j with a message listing the valid forms", (input) => {
    const result = RestartPolicy.parse(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("InvalidRestartPolicy")
      expect(result.left.input).toBe(input)
      for (const form of ["no", "always", "unless-stopped", "on-failure", "on-failure:N"]) {
        expect(result.left.message).toContain(form)
      }
      expect(result.left.message).toContain(`'${input}'`)
    }
  })

  it("fromRecord is lenient: anything invalid behaves like no", () => {
    expect(RestartPolicy.fromRecord("bogus")).toStrictEqual({ _tag: "No" })
    expect(RestartPolicy.fromRecord("on-failure:0")).toStrictEqual({ _tag: "No" })
    expect(RestartPolicy.fromRecord("always")).toStrictEqual({ _tag: "Always" })
  })

  it("format . parse is the identity on every valid input (property)", () => {
    const valid = fc.oneof(
      fc.constantFrom("no", "always", "unless-stopped", "on-failure"),
      fc.integer({ min: 1, max: 999_999_999 }).map((n) => `on-failure:${n}`)
    )
    fc.assert(
      fc.property(valid, (input) => {
        const parsed = RestartPolicy.parse(input)
        expect(Either.isRight(parsed)).toBe(true)
        if (Either.isRight(parsed)) expect(RestartPolicy.format(parsed.right)).toBe(input)
      })
    )
  })

  it("parse never throws; whatever it accepts formats back to the same text (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `on-failure:${s}`)), (input) => {
        const parsed = RestartPolicy.parse(input)
        if (Either.isRight(parsed)) expect(RestartPolicy.format(parsed.right)).toBe(input)
        else expect(parsed.left.message).toContain("on-failure:N")
      }),
      { numRuns: 1000 }
    )
  })
})

describe("RestartPolicy.shouldRestart (SPEC §4)", () => {
  const table: ReadonlyArray<[string, Partial<RestartPolicy.RestartInput>, boolean]> = [
    // no / unknown
    ["no never", { restart_policy: "no", exit_code: 1 }, false],
    ["no, exit unknown", { restart_policy: "no", exit_code: null }, false],
    ["unknown policy behaves like no", { restart_policy: "sometimes", exit_code: 1 }, false],
    ["malformed on-failure behaves like no", { restart_policy: "on-failure:0", exit_code: 1 }, false],
    // always
    ["always after success", { restart_policy: "always", exit_code: 0 }, true],
    ["always after failure", { restart_policy: "always", exit_code: 1 }, true],
    ["always even if stopped_by_user (only dead boxes are asked)", {
      restart_policy: "always",
      stopped_by_user: true
    }, true],
    ["always under its cap", { restart_policy: "always", max_restart_count: 3, restart_count: 2 }, true],
    ["always at its cap", { restart_policy: "always", max_restart_count: 3, restart_count: 3 }, false],
    ["always past its cap", { restart_policy: "always", max_restart_count: 3, restart_count: 9 }, false],
    ["always, cap 0 = unlimited", { restart_policy: "always", max_restart_count: 0, restart_count: 1000 }, true],
    // unless-stopped
    ["unless-stopped after success", { restart_policy: "unless-stopped", exit_code: 0 }, true],
    ["unless-stopped, stopped by user", { restart_policy: "unless-stopped", stopped_by_user: true }, false],
    ["unless-stopped at its cap", {
      restart_policy: "unless-stopped",
      max_restart_count: 2,
      restart_count: 2
    }, false],
    // on-failure
    ["on-failure after failure", { restart_policy: "on-failure", exit_code: 2 }, true],
    ["on-failure after a signal death", { restart_policy: "on-failure", exit_code: 137 }, true],
    ["on-failure after success", { restart_policy: "on-failure", exit_code: 0 }, false],
    ["on-failure, exit unknown counts as failure", { restart_policy: "on-failure", exit_code: null }, true],
    ["on-failure, stopped by user", { restart_policy: "on-failure", stopped_by_user: true }, false],
    ["on-failure at max_restart_count", {
      restart_policy: "on-failure",
      max_restart_count: 1,
      restart_count: 1
    }, false],
    // on-failure:N
    ["on-failure:3 with 2 restarts", { restart_policy: "on-failure:3", restart_count: 2 }, true],
    ["on-failure:3 with 3 restarts", { restart_policy: "on-failure:3", restart_count: 3 }, false],
    ["on-failure:3 after success", { restart_policy: "on-failure:3", exit_code: 0 }, false],
    ["on-failure:3, exit unknown", { restart_policy: "on-failure:3", exit_code: null }, true],
    ["on-failure:5 capped lower by max_restart_count", {
      restart_policy: "on-failure:5",
      max_restart_count: 2,
      restart_count: 2
    }, false],
    ["on-failure:5, stopped by user", { restart_policy: "on-failure:5", stopped_by_user: true }, false]
  ]

  it.each(table)("%s", (_, overrides, expected) => {
    expect(RestartPolicy.shouldRestart({ ...base, ...overrides })).toBe(expected)
  })

  const inputArb = fc.record({
    restart_policy: fc.oneof(
      fc.constantFrom("no", "always", "unless-stopped", "on-failure"),
      fc.integer({ min: 1, max: 20 }).map((n) => `on-failure:${n}`),
      fc.string()
    ),
    max_restart_count: fc.integer({ min: 0, max: 20 }),
    restart_count: fc.integer({ min: 0, max: 30 }),
    stopped_by_user: fc.boolean(),
    exit_code: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null })
  })

  it("never restarts past max_restart_count when it is set (property)", () => {
    fc.assert(
      fc.property(inputArb, (box) => {
        if (box.max_restart_count > 0 && box.restart_count >= box.max_restart_count) {
          expect(RestartPolicy.shouldRestart(box)).toBe(false)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("only always restarts a box stopped by the user (property)", () => {
    fc.assert(
      fc.property(inputArb, (box) => {
        if (box.stopped_by_user && RestartPolicy.shouldRestart(box)) {
          expect(box.restart_policy).toBe("always")
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("a clean exit is restarted only by always and unless-stopped (property)", () => {
    fc.assert(
      fc.property(inputArb, (box) => {
        if (box.exit_code === 0 && RestartPolicy.shouldRestart(box)) {
          expect(["always", "unless-stopped"]).toContain(box.restart_policy)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("more restarts never make a restart more likely (property)", () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 1, max: 10 }), (box, more) => {
        if (!RestartPolicy.shouldRestart(box)) {
          expect(RestartPolicy.shouldRestart({ ...box, restart_count: box.restart_count + more })).toBe(false)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("invalid policies never restart, and the decision is the one of the parsed policy (property)", () => {
    fc.assert(
      fc.property(inputArb, (box) => {
        const parsed = RestartPolicy.parse(box.restart_policy)
        const decision = RestartPolicy.shouldRestart(box)
        if (Either.isLeft(parsed)) {
          expect(decision).toBe(false)
          return
        }
        const underCap = box.max_restart_count === 0 || box.restart_count < box.max_restart_count
        const policy = parsed.right
        const expected = policy._tag === "No"
          ? false
          : policy._tag === "Always"
          ? underCap
          : policy._tag === "UnlessStopped"
          ? underCap && !box.stopped_by_user
          : underCap && !box.stopped_by_user && box.exit_code !== 0 &&
            (policy.maxRetries === null || box.restart_count < policy.maxRetries)
        expect(decision).toBe(expected)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("RestartPolicy.limitReached", () => {
  const table: ReadonlyArray<[string, Partial<RestartPolicy.RestartInput>, string | null]> = [
    ["on-failure:3 after its third restart fails again", { restart_policy: "on-failure:3", restart_count: 3, exit_code: 2 },
      "policy on-failure:3 allows 3 restarts and it has had 3 restarts"],
    ["on-failure:1 past its limit", { restart_policy: "on-failure:1", restart_count: 4 },
      "policy on-failure:1 allows 1 restart and it has had 4 restarts"],
    ["on-failure:3 with restarts left", { restart_policy: "on-failure:3", restart_count: 2 }, null],
    ["on-failure:3 that exited 0 (not a failure: no limit involved)", { restart_policy: "on-failure:3", restart_count: 3, exit_code: 0 }, null],
    ["on-failure:3 stopped by the user", { restart_policy: "on-failure:3", restart_count: 3, stopped_by_user: true }, null],
    ["always at max_restart_count", { restart_policy: "always", max_restart_count: 2, restart_count: 2 },
      "max_restart_count 2 reached (2 restarts)"],
    ["always under max_restart_count", { restart_policy: "always", max_restart_count: 2, restart_count: 1 }, null],
    ["no", { restart_policy: "no", restart_count: 9 }, null]
  ]
  it.each(table)("%s", (_, input, expected) => {
    expect(RestartPolicy.limitReached({ ...base, ...input })).toBe(expected)
  })
})
