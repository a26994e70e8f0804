import type { Socket } from "node:net"
import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import { WRAPPER_NAME } from "../../../src/runtime/BoxProcess.js"
import * as Gate from "../../../src/runtime/internal/gate.js"
import { WRAPPER_SCRIPT } from "../../../src/runtime/internal/wrapperScript.js"
import { recordIn } from "../support.js"

const box = (cmd: ReadonlyArray<string>) => ({ box: recordIn("/h", { cmd }), cwd: `/w/${cmd[0]}` })

describe("a launcher's command line", () => {
  it("is bash without rc files running the wrapper program, named a3s-box-wrapper, then its arguments", () => {
    expect(Gate.launcherArgv(["1", "x"])).toEqual(["--norc", "--noprofile", "-c", WRAPPER_SCRIPT, WRAPPER_NAME, "1", "x"])
    expect(Gate.launcherArgv(Gate.SPARE_ARGS)).toEqual(["--norc", "--noprofile", "-c", WRAPPER_SCRIPT, WRAPPER_NAME, "spare"])
  })

  it("gives N, then per box its gate fd (3+i), log fd (3+N+i), exit file, cwd, argc and command", () => {
    const a = box(["sleep", "30"])
    const b = box(["true"])
    expect(Gate.launcherArgs([a, b])).toEqual([
      "2",
      "3", "5", `${a.box.box_dir}/exit_code`, "/w/sleep", "2", "sleep", "30",
      "4", "6", `${b.box.box_dir}/exit_code`, "/w/true", "1", "true"
    ])
  })

  it("passes a command's arguments as they are, spaces, quotes and empty ones included", () => {
    const a = box(["sh", "-c", "echo \"$1\" 'x y'", ""])
    expect(Gate.launcherArgs([a]).slice(5)).toEqual(["4", "sh", "-c", "echo \"$1\" 'x y'", ""])
  })
})

describe("a spare launcher's box", () => {
  it("is NUL-terminated fields: exit file, console log, cwd, argc, command", () => {
    const a = box(["sleep", "30"])
    expect(Gate.spareFields(a)).toBe(
      `${a.box.box_dir}/exit_code\0${a.box.console_log}\0/w/sleep\x002\0sleep\x0030\0`
    )
  })
})

describe("a launcher's environment", () => {
  it("carries BASH_ENV as A3S_BOX_BASH_ENV (the job restores it), leaving the box's env as it was", () => {
    const env = { PATH: "/bin", BASH_ENV: "/etc/env.sh" }
    expect(Gate.launcherEnvironment(env)).toEqual({ PATH: "/bin", A3S_BOX_BASH_ENV: "/etc/env.sh" })
    expect(env).toEqual({ PATH: "/bin", BASH_ENV: "/etc/env.sh" })
  })

  it("is the box's env (a copy) without BASH_ENV", () => {
    const env = { PATH: "/bin", FOO: "foo" }
    const launcherEnv = Gate.launcherEnvironment(env)
    expect(launcherEnv).toEqual(env)
    expect(launcherEnv).not.toBe(env)
  })

  it("has one key for equal environments, and another for any other value", () => {
    expect(Gate.environmentKey({ PATH: "/bin", FOO: "foo" })).toBe(Gate.environmentKey({ PATH: "/bin", FOO: "foo" }))
    expect(Gate.environmentKey({ PATH: "/bin", FOO: "foo" })).not.toBe(Gate.environmentKey({ PATH: "/bin", FOO: "bar" }))
    expect(Gate.environmentKey({ PATH: "/bin" })).not.toBe(Gate.environmentKey({ PATH: "/bin", FOO: "" }))
  })
})

describe("a wrapper's lines on its gate", () => {
  it.each([["123", 123], ["2", 2], ["4194304", 4194304]])("%j is the pid %d", (line, pid) => {
    expect(Gate.parsePidLine(line)).toBe(pid)
  })

  it.each(["", "0", "1", "-5", "1.5", "abc", "12abc", "Infinity"])("%j is not a pid", (line) => {
    expect(Gate.parsePidLine(line)).toBeUndefined()
  })

  it.each([["exit 0", 0], ["exit 137", 137], ["exit 125", 125]])("%j is the exit code %d", (line, code) => {
    expect(Gate.parseExitLine(line)).toBe(code)
  })

  it.each(["137", "exit", "exit x", "exit 1.5", "quit 1"])("%j is not an exit code", (line) => {
    expect(Gate.parseExitLine(line)).toBeUndefined()
  })
})

describe("listenToGate", () => {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
  const listen = () => {
    const gate = new PassThrough()
    const seen: Array<string> = []
    Gate.listenToGate(gate as unknown as Socket, {
      reported: (pid, line) => seen.push(`reported ${pid} ${JSON.stringify(line)}`),
      closedEarly: () => seen.push("closed early"),
      exited: (code) => seen.push(`exited ${code}`)
    })
    return { gate, seen }
  }

  it("reports the pid, then the exit code, however the lines are split, and then destroys the gate", async () => {
    const { gate, seen } = listen()
    gate.write("12")
    await turn()
    expect(seen).toEqual([])
    gate.write("3\nexi")
    await turn()
    expect(seen).toEqual(["reported 123 \"123\""])
    expect(gate.destroyed).toBe(false)
    gate.write("t 7\n")
    await turn()
    expect(seen).toEqual(["reported 123 \"123\"", "exited 7"])
    expect(gate.destroyed).toBe(true)
  })

  it("a bad first line is reported as no pid, and the gate is destroyed", async () => {
    const { gate, seen } = listen()
    gate.write("oops\n")
    await turn()
    expect(seen).toEqual(["reported undefined \"oops\""])
    expect(gate.destroyed).toBe(true)
  })

  it("a gate that closes before the first line is closed early; one that closes after it is not", async () => {
    const early = listen()
    early.gate.destroy()
    await turn()
    expect(early.seen).toEqual(["closed early"])

    const late = listen()
    late.gate.write("42\n")
    await turn()
    late.gate.destroy()
    await turn()
    expect(late.seen).toEqual(["reported 42 \"42\""])
  })

  it("a listener that destroys the gate on the report hears nothing more", async () => {
    const gate = new PassThrough()
    const seen: Array<string> = []
    Gate.listenToGate(gate as unknown as Socket, {
      reported: (pid) => {
        seen.push(`reported ${pid}`)
        gate.destroy()
      },
      closedEarly: () => seen.push("closed early"),
      exited: (code) => seen.push(`exited ${code}`)
    })
    gate.write("42\nexit 3\n")
    await turn()
    await turn()
    expect(seen).toEqual(["reported 42"])
  })
})
