import { describe, expect, it } from "@effect/vitest"
import * as Format from "../../src/cli/Format.js"
import { healthCheck, makeBox } from "../monitor/boxes.js"

const NOW = Date.parse("2026-06-01T12:00:00.000Z")

describe("Format.statusText", () => {
  it.each([
    ["a plain running box", makeBox({ status: "running" }), "running"],
    [
      "a healthy box with restarts",
      makeBox({ status: "running", health_check: healthCheck(), health_status: "healthy", restart_count: 2 }),
      "running (healthy, Restarts: 2)"
    ],
    [
      "an unhealthy box",
      makeBox({ status: "running", health_check: healthCheck(), health_status: "unhealthy" }),
      "running (unhealthy)"
    ],
    [
      "a box whose first probe is pending",
      makeBox({ status: "running", health_check: healthCheck(), health_status: "starting" }),
      "running (health: starting)"
    ],
    [
      "a disabled health check says nothing",
      makeBox({ status: "running", health_check: healthCheck(), healthcheck_disabled: true, health_status: "healthy" }),
      "running"
    ],
    ["a paused box", makeBox({ status: "paused", restart_count: 1 }), "paused (Restarts: 1)"],
    ["a dead box", makeBox({ status: "dead", exit_code: 3 }), "dead (Exit 3)"],
    ["a dead box with restarts", makeBox({ status: "dead", exit_code: 1, restart_count: 4 }), "dead (Exit 1, Restarts: 4)"],
    ["a dead box, code unknown", makeBox({ status: "dead", exit_code: null }), "dead"],
    ["a stopped box", makeBox({ status: "stopped", exit_code: 143 }), "stopped (Exit 143)"],
    ["a created box", makeBox({ status: "created" }), "created"],
    ["a status another tool wrote", makeBox({ status: "restart_starting", restart_count: 1 }), "restart_starting (Restarts: 1)"],
    ["a dead box killed by a signal (128 + N)", makeBox({ status: "dead", exit_code: 137 }), "dead (Killed: SIGKILL)"],
    ["a dead box that exited 255 (no signal 127)", makeBox({ status: "dead", exit_code: 255 }), "dead (Exit 255)"],
    ["a dead box that exited 128", makeBox({ status: "dead", exit_code: 128 }), "dead (Exit 128)"],
    [
      "restarts by reason",
      makeBox({
        status: "dead",
        exit_code: 143,
        restart_count: 3,
        restarts_by_reason: { crash: 2, unhealthy: 1, manual: 0 }
      }),
      "dead (Killed: SIGTERM, Restarts: 3 (2 crash, 1 unhealthy))"
    ],
    [
      "manual restarts, not in the monitor's count",
      makeBox({ status: "running", restart_count: 1, restarts_by_reason: { crash: 1, unhealthy: 0, manual: 2 } }),
      "running (Restarts: 1 (1 crash; 2 manual))"
    ],
    [
      "only manual restarts",
      makeBox({ status: "running", restarts_by_reason: { crash: 0, unhealthy: 0, manual: 1 } }),
      "running (Restarts: 0 (1 manual))"
    ]
  ])("%s", (_, box, expected) => {
    expect(Format.statusText(box, NOW)).toBe(expected)
  })

  it("a dead box the monitor is backing off: `, restarting in Ns` until its next restart time, then nothing", () => {
    const box = makeBox({
      status: "dead",
      exit_code: 137,
      restart_count: 3,
      restarts_by_reason: { crash: 2, unhealthy: 1, manual: 0 },
      next_restart_at: new Date(NOW + 7_200).toISOString()
    })
    expect(Format.statusText(box, NOW)).toBe("dead (Killed: SIGKILL, Restarts: 3 (2 crash, 1 unhealthy)), restarting in 8s")
    expect(Format.statusText(box, NOW + 7_200)).toBe("dead (Killed: SIGKILL, Restarts: 3 (2 crash, 1 unhealthy))")
    // Only a dead box waits: a stopped one with a stale time says nothing of it.
    expect(Format.statusText({ ...box, status: "stopped" }, NOW)).toBe("stopped (Exit 137, Restarts: 3 (2 crash, 1 unhealthy))")
  })
})

describe("Format.inspectJson", () => {
  it("gives an older record issue 14's fields with their defaults, and keeps a newer one's", () => {
    const old = makeBox({ status: "dead" })
    expect(Format.inspectJson(old, NOW)).toEqual({
      ...old,
      last_exit: null,
      restarts_by_reason: { crash: 0, unhealthy: 0, manual: 0 },
      next_restart_at: null,
      backoff_failures: 0,
      restart_delay_secs: 1,
      restart_max_delay_secs: 60,
      log_max_size: 10 * 1024 * 1024,
      log_max_files: 3
    })
    const last_exit = { code: 1, signal: null, at: "2026-01-01T00:00:00.000Z" }
    const newer = makeBox({ status: "dead", last_exit, restarts_by_reason: { crash: 1, unhealthy: 0, manual: 0 } })
    expect(Format.inspectJson(newer, NOW)).toMatchObject({ ...newer, next_restart_at: null })
    const bounded = makeBox({ status: "dead", backoff_failures: 3, restart_delay_secs: 5, restart_max_delay_secs: 12 })
    expect(Format.inspectJson(bounded, NOW)).toMatchObject({ backoff_failures: 3, restart_delay_secs: 5, restart_max_delay_secs: 12 })
  })

  it("has the next restart time of a box that is backing off, null once it has passed", () => {
    const next_restart_at = new Date(NOW + 5_000).toISOString()
    const box = makeBox({ status: "dead", next_restart_at })
    expect(Format.inspectJson(box, NOW).next_restart_at).toBe(next_restart_at)
    expect(Format.inspectJson(box, NOW + 5_000).next_restart_at).toBeNull()
  })
})

describe("Format.humanDuration (docker's wording)", () => {
  const s = 1000
  it.each([
    [0, "Less than a second"],
    [999, "Less than a second"],
    [1 * s, "1 second"],
    [59 * s, "59 seconds"],
    [60 * s, "About a minute"],
    [119 * s, "About a minute"],
    [5 * 60 * s, "5 minutes"],
    [59 * 60 * s, "59 minutes"],
    [60 * 60 * s, "About an hour"],
    [3 * 3600 * s, "3 hours"],
    [47 * 3600 * s, "47 hours"],
    [48 * 3600 * s, "2 days"],
    [13 * 86400 * s, "13 days"],
    [14 * 86400 * s, "2 weeks"],
    [59 * 86400 * s, "8 weeks"],
    [60 * 86400 * s, "2 months"],
    [729 * 86400 * s, "24 months"],
    [730 * 86400 * s, "2 years"],
    [-5 * s, "Less than a second"]
  ])("%d ms is %s", (millis, expected) => {
    expect(Format.humanDuration(millis)).toBe(expected)
  })

  it("createdText says how long ago, and passes through what is not a timestamp", () => {
    const now = Date.parse("2026-11-26T10:05:00Z")
    expect(Format.createdText("2026-11-26T10:00:00Z", now)).toBe("5 minutes ago")
    expect(Format.createdText("2026-11-26T10:00:00.123456Z", now)).toBe("4 minutes ago")
    expect(Format.createdText("yesterday-ish", now)).toBe("yesterday-ish")
    expect(Format.createdText("", now)).toBe("unknown")
  })
})

describe("Format.commandText", () => {
  it("quotes arguments a shell would split, and cuts long commands", () => {
    expect(Format.commandText(["sleep", "100"])).toBe("sleep 100")
    expect(Format.commandText(["sh", "-c", "exit 3"])).toBe(`sh -c "exit 3"`)
    expect(Format.commandText(["echo", ""])).toBe(`echo ""`)
    const long = Format.commandText(["x".repeat(100)], 40)
    expect(long).toHaveLength(40)
    expect(long.endsWith("…")).toBe(true)
  })
})

describe("Format.psTable", () => {
  it("aligns the columns, newest box first", () => {
    const now = Date.parse("2026-11-26T10:10:00Z")
    const older = makeBox({ name: "web", id: "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23", created_at: "2026-11-26T10:00:00Z", cmd: ["srv"] })
    const newer = makeBox({
      name: "a_much_longer_name",
      id: "9a0c4d77-1e2f-4b3a-8d5c-6e7f8091a2b3",
      status: "dead",
      exit_code: 3,
      created_at: "2026-11-26T10:09:00Z",
      cmd: ["sh", "-c", "exit 3"]
    })
    const lines = Format.psTable([older, newer], now).split("\n")
    expect(lines).toEqual([
      "NAME                 ID             STATUS          CREATED              COMMAND",
      `a_much_longer_name   9a0c4d771e2f   dead (Exit 3)   About a minute ago   sh -c "exit 3"`,
      "web                  3f2b8c1e7a4d   running         10 minutes ago       srv"
    ])
  })

  it("lists invalid records last, as `invalid` with the index, field and reason", () => {
    const now = Date.parse("2026-11-26T10:10:00Z")
    const box = makeBox({ name: "web", id: "3f2b8c1e-7a4d-4e2b-9c61-0d5e8f7a1b23", created_at: "2026-11-26T10:00:00Z", cmd: ["srv"] })
    const lines = Format.psTable([box], now, [
      { index: 1, label: "id \"x\"", field: "box_dir", reason: "is missing", raw: { id: "9a0c4d77-1e2f", name: "api" }, validBefore: 1 },
      { index: 2, label: "at index 2", field: "", reason: "is a number, not an object", raw: 7, validBefore: 1 }
    ]).split("\n")
    expect(lines).toEqual([
      "NAME   ID             STATUS    CREATED          COMMAND",
      "web    3f2b8c1e7a4d   running   10 minutes ago   srv",
      "api    9a0c4d771e2f   invalid                    index 1: box_dir is missing",
      "-      -              invalid                    index 2: is a number, not an object"
    ])
    expect(Format.invalidJson({ index: 2, label: "at index 2", field: "", reason: "is a number, not an object", raw: 7, validBefore: 1 }))
      .toStrictEqual({ status: "invalid", index: 2, problem: "record at index 2: is a number, not an object", record: 7 })
  })

  it("is just the header when there are no boxes", () => {
    expect(Format.psTable([], 0)).toBe("NAME   ID   STATUS   CREATED   COMMAND")
  })

  it("lists running, paused and stopping boxes by default", () => {
    const shown = ["running", "paused", "stopping", "stopped", "dead", "created", "restart_starting"].filter((status) =>
      Format.isListedByDefault({ status })
    )
    expect(shown).toEqual(["running", "paused", "stopping"])
  })
})
