/** Which a3s-box program a service should start: this one, named by absolute paths. */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { ProgramNotResolvable } from "../Errors.js"

/** The absolute Node binary and entry script of a running a3s-box. */
export interface Program {
  readonly node: string
  readonly script: string
}

const TYPESCRIPT_SOURCE = /\.[cm]?tsx?$/

/**
 * The program to install: `execPath` as given (a stable symlink such as /usr/local/bin/node stays
 * one), and the entry script `argv1` with symlinks resolved (the npm bin link → dist/a3s-box.cjs).
 * When running from TypeScript source (tsx), the package's built bundle stands in for it.
 */
export const programFrom = (input: {
  readonly execPath: string
  readonly argv1: string | undefined
  readonly cwd: string
}): Effect.Effect<Program, ProgramNotResolvable, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!path.isAbsolute(input.execPath)) {
      return yield* new ProgramNotResolvable({ detail: `the Node binary path ${JSON.stringify(input.execPath)} is not absolute` })
    }
    if (input.argv1 === undefined || input.argv1 === "") {
      return yield* new ProgramNotResolvable({ detail: "Node was given no entry script (process.argv[1] is empty)" })
    }
    const given = path.resolve(input.cwd, input.argv1)
    const script = yield* fs.realPath(given).pipe(
      Effect.mapError(() => new ProgramNotResolvable({ detail: `the entry script ${given} cannot be resolved` }))
    )
    if (!TYPESCRIPT_SOURCE.test(script)) return { node: input.execPath, script }
    // From source: find the package root and its bundle.
    for (let dir = path.dirname(script); ; dir = path.dirname(dir)) {
      const manifest = yield* fs.readFileString(path.join(dir, "package.json")).pipe(Effect.option)
      if (Option.isSome(manifest) && /"name"\s*:\s*"a3s-box"/.test(manifest.value)) {
        const bundle = path.join(dir, "dist", "a3s-box.cjs")
        if (yield* fs.exists(bundle).pipe(Effect.orElseSucceed(() => false))) return { node: input.execPath, script: bundle }
        break
      }
      if (path.dirname(dir) === dir) break
    }
    return yield* new ProgramNotResolvable({
      detail: `it runs from TypeScript source (${script}), which a service cannot start without tsx. ` +
        "Build the bundle (`npm run build`) and install from it: node dist/a3s-box.cjs monitor --install"
    })
  })

/** The program this process runs. */
export const currentProgram: Effect.Effect<Program, ProgramNotResolvable, FileSystem.FileSystem> = Effect.suspend(() =>
  programFrom({ execPath: process.execPath, argv1: process.argv[1], cwd: process.cwd() })
)
