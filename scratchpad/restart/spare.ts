// Sequential lone boots (the monitor's crash path): the 3rd and later use the spare launcher. Checks env, cwd, log, fds, exit codes.
import * as Effect from "effect/Effect"
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as path from "node:path"
import * as LocalBoxRuntime from "../../src/runtime/LocalBoxRuntime.js"
import { Cleanup, recordIn, tempDir } from "../../test/runtime/support.js"
const keep = setInterval(() => {}, 1000)
const cleanup = new Cleanup()
const dir = tempDir(cleanup)
Effect.runPromise(Effect.gen(function*() {
  const runtime = yield* LocalBoxRuntime.make
  for (let i = 0; i < 5; i++) {
    const work = path.join(dir, `w ${i}`); mkdirSync(work)
    const r = recordIn(dir, { cmd: ["sh", "-c", `echo "$FOO $PWD $0"; exec sleep 30`, `arg with space ${i}`], env: { FOO: "foo" }, workdir: work })
    mkdirSync(path.dirname(r.console_log), { recursive: true })
    const t0 = performance.now()
    const b = yield* runtime.boot(r, { gated: true })
    const t1 = performance.now()
    cleanup.track(b.pid)
    const ppid = Number(readFileSync(`/proc/${b.pid}/stat`, "latin1").split(") ")[1]!.split(" ")[1])
    const argv = readFileSync(`/proc/${ppid}/cmdline`, "latin1").split("\0")
    yield* b.release!
    yield* Effect.sleep(100)
    const fds = readdirSync(`/proc/${b.pid}/fd`).map((f) => `${f}:${readlinkSync(`/proc/${b.pid}/fd/${f}`).replace(dir, "")}`)
    process.kill(b.pid, "SIGKILL")
    const code = yield* b.exited
    console.log(`boot ${i}: ${(t1 - t0).toFixed(1)} ms, wrapper argv[5..]=${argv.slice(5, 7).join(" ")}, log=${JSON.stringify(readFileSync(r.console_log, "utf8"))}, fds=${fds.join(" ")}, exit=${code}, file=${JSON.stringify(readFileSync(path.join(r.box_dir, "exit_code"), "utf8"))}`)
  }
})).finally(() => { cleanup.run(); clearInterval(keep) })
