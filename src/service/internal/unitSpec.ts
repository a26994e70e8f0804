/** What a unit is made from (the service spec) and the checks both unit formats share. */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import { UnrenderablePath } from "../Errors.js"

/** The systemd unit's file name. */
export const UNIT_NAME = "a3s-box-monitor.service"
/** The launchd job label (and the plist's base name). */
export const LAUNCHD_LABEL = "com.a3s-box.monitor"

/** What the installed service runs. Every path absolute. */
export interface ServiceSpec {
  /** The Node binary that ran the install (`process.execPath`). */
  readonly node: string
  /** The entry script of that program (the package bin `dist/a3s-box.cjs`, symlinks resolved). */
  readonly script: string
  /** `monitor --interval N` */
  readonly intervalSecs: number
  /** `monitor --metrics-addr A`, as given on the command line. */
  readonly metricsAddr: Option.Option<string>
  /** `A3S_HOME` in effect at install time. */
  readonly home: string
  /** Further `monitor` flags, appended as given (e.g. `--log-format json`). */
  readonly extraArgs?: ReadonlyArray<string>
}

/** The argument vector the service starts: `node script monitor --interval N [--metrics-addr A] [EXTRA...]`. */
export const programArguments = (spec: ServiceSpec): ReadonlyArray<string> => [
  spec.node,
  spec.script,
  "monitor",
  "--interval",
  String(spec.intervalSecs),
  ...Option.match(spec.metricsAddr, { onNone: () => [], onSome: (addr) => ["--metrics-addr", addr] }),
  ...(spec.extraArgs ?? [])
]

export const reinstallFix = "Re-run the install from a program whose paths are plain."

// ---------------------------------------------------------------------------------------------
// Validation shared by both formats

// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/

export const checkAbsolute = (what: string, p: string): Either.Either<string, UnrenderablePath> => {
  if (!path.posix.isAbsolute(p)) {
    return Either.left(new UnrenderablePath({ what, path: p, reason: "it is not an absolute path", fix: reinstallFix }))
  }
  if (p.includes("\u0000")) {
    return Either.left(new UnrenderablePath({ what, path: p, reason: "it contains a NUL byte", fix: reinstallFix }))
  }
  return Either.right(p)
}

export const checkSpec = (spec: ServiceSpec): Either.Either<ServiceSpec, UnrenderablePath> =>
  Either.gen(function*() {
    yield* checkAbsolute("Node binary", spec.node)
    yield* checkAbsolute("entry script", spec.script)
    yield* checkAbsolute("home (A3S_HOME)", spec.home)
    if (!Number.isSafeInteger(spec.intervalSecs) || spec.intervalSecs < 1) {
      return yield* Either.left(
        new UnrenderablePath({
          what: "poll interval",
          path: String(spec.intervalSecs),
          reason: "it must be a whole number of seconds, at least 1",
          fix: "Pass --interval N with N >= 1."
        })
      )
    }
    return spec
  })


/** What an installed unit runs, as the service manager would see it. */
export interface InstalledUnit {
  /** The argument vector, executable first, escapes decoded. */
  readonly argv: ReadonlyArray<string>
  /** Its environment assignments. */
  readonly environment: Readonly<Record<string, string>>
}
