import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { BoxRecord } from "../../src/domain/BoxRecord.js"
import { type Liveness, needsLivenessCheck, reconcile } from "../../src/domain/Reconcile.js"

const box = (overrides: Partial<BoxRecord> & Pick<BoxRecord, "id">): BoxRecord => ({
  short_id: overrides.id.slice(0, 12),
  name: `box-${overrides.id}`,
  status: "running",
  pid: 1000,
  pid_start_time: 555,
  cmd: ["sleep", "100"],
  env: {},
  base_env: null,
  box_dir: `/tmp/boxes/${overrides.id}`,
  console_log: `/tmp/boxes/${overrides.id}/console.log`,
  workdir: null,
  created_at: "2026-01-01T00:00:00Z",
  started_at: "2026-01-01T00:00:01Z",
  auto_remove: false,
  restart_policy: "always",
  max_restart_count: 0,
  restart_count: 0,
  stopped_by_user: false,
  exit_code: null,
  health_check: null,
  healthcheck_disabled: false,
  health_status: "healthy",
  health_retries: 2,
  health_last_check: null,
  stop_signal: null,
  stop_timeout: null,
  ...overrides
})

const dead = (b: BoxRecord, exitCode: number | null = null): Liveness => ({
  pid: b.pid,
  pidStartTime: b.pid_start_time,
  alive: false,
  exitCode
})
const alive = (b: BoxRecord): Liveness => ({ pid: b.pid, pidStartTime: b.pid_start_time, alive: true, exitCode: null })

describe("reconcile (SPEC §3)", () => {
  const running = box({ id: "aaaa" })
  const paused = box({ id: "bbbb", status: "paused" })

  const table: ReadonlyArray<{
    readonly name: string
    readonly input: BoxRecord
    readonly liveness: Liveness | undefined
    readonly expected: BoxRecord | "removed" | "unchanged"
  }> = [
    { name: "a running box found alive is unchanged", input: running, liveness: alive(running), expected: "unchanged" },
    {
      name: "a running box found dead becomes dead with the file's exit code",
      input: running,
      liveness: dead(running, 3),
      expected: {
        ...running,
        status: "dead",
        pid: null,
        pid_start_time: null,
        health_status: "none",
        health_retries: 0,
        exit_code: 3
      }
    },
    {
      name: "a paused box found dead becomes dead",
      input: paused,
      liveness: dead(paused, null),
      expected: {
        ...paused,
        status: "dead",
        pid: null,
        pid_start_time: null,
        health_status: "none",
        health_retries: 0,
        exit_code: null
      }
    },
    {
      name: "a known exit code is not overwritten by the file's",
      input: box({ id: "cccc", exit_code: 1 }),
      liveness: dead(box({ id: "cccc" }), 9),
      expected: {
        ...box({ id: "cccc", exit_code: 1 }),
        status: "dead",
        pid: null,
        pid_start_time: null,
        health_status: "none",
        health_retries: 0
      }
    },
    {
      name: "a dead auto_remove box is removed",
      input: box({ id: "dddd", auto_remove: true }),
      liveness: dead(box({ id: "dddd" }), 0),
      expected: "removed"
    },
    {
      name: "an alive auto_remove box stays",
      input: box({ id: "dddd", auto_remove: true }),
      liveness: alive(box({ id: "dddd" })),
      expected: "unchanged"
    },
    {
      name: "an active box without an observation is unchanged",
      input: running,
      liveness: undefined,
      expected: "unchanged"
    },
    {
      name: "an observation of another incarnation (pid changed) is ignored",
      input: box({ id: "eeee", pid: 2000 }),
      liveness: dead(box({ id: "eeee", pid: 1000 })),
      expected: "unchanged"
    },
    {
      name: "an observation of another incarnation (start time changed) is ignored",
      input: box({ id: "ffff", pid_start_time: 777 }),
      liveness: dead(box({ id: "ffff", pid_start_time: 555 })),
      expected: "unchanged"
    },
    {
      name: "an active box with no pid observed dead becomes dead",
      input: box({ id: "gggg", pid: null, pid_start_time: null }),
      liveness: { pid: null, pidStartTime: null, alive: false, exitCode: 4 },
      expected: {
        ...box({ id: "gggg", pid: null, pid_start_time: null }),
        status: "dead",
        health_status: "none",
        health_retries: 0,
        exit_code: 4
      }
    },
    ...(["stopped", "dead", "created", "restart_starting"] as const).map((status) => ({
      name: `a ${status} box is never touched`,
      input: box({ id: "hhhh", status, auto_remove: true }),
      liveness: dead(box({ id: "hhhh" }), 1),
      expected: "unchanged" as const
    }))
  ]

  it.each(table)("$name", ({ expected, input, liveness }) => {
    const other = box({ id: "zzzz", status: "stopped", pid: null, pid_start_time: null })
    const records = [input, other]
    const observations = new Map(liveness === undefined ? [] : [[input.id, liveness]])
    const result = reconcile(records, observations)
    if (expected === "unchanged") {
      expect(result.changed).toBe(false)
      expect(result.records).toBe(records)
      expect(result.died).toStrictEqual([])
      expect(result.removed).toStrictEqual([])
    } else if (expected === "removed") {
      expect(result.changed).toBe(true)
      expect(result.records).toStrictEqual([other])
      expect(result.removed).toStrictEqual([input])
      expect(result.died).toStrictEqual([])
    } else {
      expect(result.changed).toBe(true)
      expect(result.records).toStrictEqual([expected, other])
      expect(result.died).toStrictEqual([expected])
      expect(result.removed).toStrictEqual([])
    }
  })

  it("keeps the order of the records and reconciles several at once", () => {
    const a = box({ id: "a1" })
    const b = box({ id: "b1", auto_remove: true })
    const c = box({ id: "c1" })
    const d = box({ id: "d1" })
    const result = reconcile(
      [a, b, c, d],
      new Map([[a.id, dead(a, 1)], [b.id, dead(b)], [c.id, alive(c)], [d.id, dead(d, 2)]])
    )
    expect(result.records.map((r) => [r.id, r.status, r.exit_code])).toStrictEqual([
      ["a1", "dead", 1],
      ["c1", "running", null],
      ["d1", "dead", 2]
    ])
    expect(result.died.map((r) => r.id)).toStrictEqual(["a1", "d1"])
    expect(result.removed.map((r) => r.id)).toStrictEqual(["b1"])
  })

  it("needsLivenessCheck: only active boxes", () => {
    expect(
      ["running", "paused", "dead", "stopped", "created", "x"].filter((status) =>
        needsLivenessCheck(box({ id: "x", status }))
      )
    ).toStrictEqual(["running", "paused"])
  })

  it("is idempotent, and changed is exactly 'the records differ' (property)", () => {
    const arb = fc.uniqueArray(
      fc.record({
        id: fc.string({ minLength: 1, maxLength: 6 }),
        status: fc.constantFrom("running", "paused", "dead", "stopped", "created"),
        pid: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
        auto_remove: fc.boolean(),
        observed: fc.option(fc.record({ alive: fc.boolean(), exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }), samePid: fc.boolean() }), { nil: null })
      }),
      { selector: (r) => r.id, maxLength: 8 }
    )
    fc.assert(
      fc.property(arb, (specs) => {
        const records = specs.map((s) => box({ id: s.id, status: s.status, pid: s.pid, auto_remove: s.auto_remove }))
        const observations = new Map<string, Liveness>()
        for (const s of specs) {
          if (s.observed === null) continue
          observations.set(s.id, {
            pid: s.observed.samePid ? s.pid : (s.pid ?? 0) + 1,
            pidStartTime: 555,
            alive: s.observed.alive,
            exitCode: s.observed.exitCode
          })
        }
        const first = reconcile(records, observations)
        expect(first.changed).toBe(JSON.stringify(first.records) !== JSON.stringify(records))
        expect(first.records.length + first.removed.length).toBe(records.length)
        for (const r of first.records) {
          if (r.status === "dead" && !records.find((x) => x.id === r.id && x.status === "dead")) {
            expect(r.pid).toBeNull()
          }
        }
        const second = reconcile(first.records, observations)
        expect(second.changed).toBe(false)
        expect(second.records).toBe(first.records)
      }),
      { numRuns: 500 }
    )
  })
})
