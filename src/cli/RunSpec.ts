import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as BoxEnvironment from "../domain/BoxEnvironment.js"
import * as HealthCheck from "../domain/HealthCheck.js"
import * as LogLimits from "../domain/LogLimits.js"
import * as LocalHosts from "../platform/LocalHosts.js"
import * as RestartPolicy from "../domain/RestartPolicy.js"
import * as Signal from "../runtime/Signal.js"
import * as BoxNames from "./BoxNames.js"
import { InvalidFlag, MissingCommand, UnknownOption } from "./CliErrors.js"

/** The flags of `a3s-box run` as parsed by @effect/cli, before validation. */
export interface RunFlags {
  readonly name: Option.Option<string>
  readonly restart: string
  readonly rm: boolean
  readonly env: ReadonlyArray<string>
  readonly workdir: Option.Option<string>
  readonly healthCmd: Option.Option<string>
  readonly healthHttp: Option.Option<string>
  readonly healthTcp: Option.Option<string>
  readonly healthAnyHost: boolean
  readonly healthInterval: Option.Option<number>
  readonly healthTimeout: Option.Option<number>
  readonly healthRetries: Option.Option<number>
  readonly healthStartPeriod: Option.Option<number>
  readonly stopSignal: Option.Option<string>
  readonly stopTimeout: Option.Option<number>
  readonly restartDelay: Option.Option<number>
  readonly restartMaxDelay: Option.Option<number>
  readonly logMaxSize: Option.Option<string>
  readonly logMaxFiles: Option.Option<number>
  readonly cmd: ReadonlyArray<string>
}

/** A validated `run` request: everything the new record needs except its identity and times. */
export interface RunSpec {
  readonly name: string | null
  readonly restartPolicy: string
  readonly autoRemove: boolean
  /** The `-e` values. */
  readonly env: Readonly<Record<string, string>>
  /** The base variables of the caller's environment, fixed for every boot of the box (BoxEnvironment). */
  readonly baseEnv: Readonly<Record<string, string>>
  /** Absolute. */
  readonly workdir: string
  readonly healthCheck: HealthCheck.HealthCheck | null
  readonly stopSignal: string | null
  readonly stopTimeout: number | null
  /** `--restart-delay` / `--restart-max-delay` (seconds; null: the SPEC §5 defaults, 1 and 60). */
  readonly restartDelay: number | null
  readonly restartMaxDelay: number | null
  /** `--log-max-size` (bytes) / `--log-max-files` (null: the defaults, 10 MiB and 3: LogLimits). */
  readonly logMaxSize: number | null
  readonly logMaxFiles: number | null
  readonly cmd: ReadonlyArray<string>
}

export type RunSpecError = InvalidFlag | MissingCommand | UnknownOption | RestartPolicy.InvalidRestartPolicy

/** An `-e` entry as the error shows it: on one line (a newline or NUL in it is escaped). */
const shown = (entry: string): string => JSON.stringify(entry).slice(1, -1)

/**
 * `-e KEY=VALUE` entries as an environment; the last of a repeated key wins. KEY must be a valid
 * variable name (`BoxEnvironment.invalidNameReason`); VALUE may hold anything, newlines included.
 */
export const parseEnv = (entries: ReadonlyArray<string>): Either.Either<Record<string, string>, InvalidFlag> => {
  // A Map, then fromEntries: a key such as `__proto__` must become an ordinary entry.
  const env = new Map<string, string>()
  for (const entry of entries) {
    const eq = entry.indexOf("=")
    if (eq <= 0) {
      return Either.left(
        new InvalidFlag({ flag: "-e/--env", value: shown(entry), reason: "expected KEY=VALUE with a non-empty KEY" })
      )
    }
    const key = entry.slice(0, eq)
    const invalid = BoxEnvironment.invalidNameReason(key)
    if (invalid !== undefined) {
      return Either.left(
        new InvalidFlag({ flag: "-e/--env", value: shown(entry), reason: `expected KEY=VALUE with a valid KEY: ${invalid}` })
      )
    }
    env.set(key, entry.slice(eq + 1))
  }
  return Either.right(Object.fromEntries(env))
}

const atLeast = (flag: string, min: number, unit: string) => (value: number): Either.Either<number, InvalidFlag> =>
  Number.isInteger(value) && value >= min
    ? Either.right(value)
    : Either.left(new InvalidFlag({ flag, value: String(value), reason: `must be an integer of at least ${min}${unit}` }))

const optionalCheck = <V, A>(
  value: Option.Option<V>,
  check: (value: V) => Either.Either<A, InvalidFlag>
): Either.Either<A | null, InvalidFlag> => Option.match(value, { onNone: () => Either.right(null), onSome: check })

/** The longest backoff bound accepted: a day. */
const MAX_RESTART_DELAY_SECS = 86_400

const restartDelaySeconds = (flag: string) => (value: number): Either.Either<number, InvalidFlag> =>
  Number.isFinite(value) && value > 0 && value <= MAX_RESTART_DELAY_SECS
    ? Either.right(value)
    : Either.left(
      new InvalidFlag({ flag, value: String(value), reason: `must be a number of seconds above 0 and at most ${MAX_RESTART_DELAY_SECS}` })
    )

const logMaxSizeOf = (text: string): Either.Either<number, InvalidFlag> => {
  const bytes = LogLimits.parseSize(text)
  if (bytes !== undefined && (bytes === 0 || bytes >= LogLimits.MIN_LOG_MAX_SIZE)) return Either.right(bytes)
  return Either.left(
    new InvalidFlag({
      flag: "--log-max-size",
      value: text,
      reason: bytes === undefined
        ? "expected a size such as 512k, 10m or 1g (bytes without a unit; 0: never rotate)"
        : `must be 0 (never rotate) or at least ${LogLimits.sizeText(LogLimits.MIN_LOG_MAX_SIZE)}`
    })
  )
}

const logMaxFilesOf = (files: number): Either.Either<number, InvalidFlag> =>
  Number.isInteger(files) && files >= 0 && files <= LogLimits.MAX_LOG_MAX_FILES
    ? Either.right(files)
    : Either.left(
      new InvalidFlag({
        flag: "--log-max-files",
        value: String(files),
        reason: `must be a whole number from 1 to ${LogLimits.MAX_LOG_MAX_FILES} (0: never rotate)`
      })
    )

/** The box's own backoff bounds (SPEC §5): the cap may not be below the first wait (given, or the default 1). */
const restartDelaysOf = (
  flags: RunFlags
): Either.Either<{ readonly delay: number | null; readonly maxDelay: number | null }, InvalidFlag> =>
  Either.gen(function*() {
    const delay = yield* optionalCheck(flags.restartDelay, restartDelaySeconds("--restart-delay"))
    const maxDelay = yield* optionalCheck(flags.restartMaxDelay, restartDelaySeconds("--restart-max-delay"))
    if (maxDelay !== null && maxDelay < (delay ?? 1)) {
      return yield* Either.left(
        new InvalidFlag({
          flag: "--restart-max-delay",
          value: String(maxDelay),
          reason: delay === null
            ? "must be at least the first wait, 1 second by default (set --restart-delay too)"
            : `must be at least --restart-delay (${delay})`
        })
      )
    }
    if (delay !== null && maxDelay === null && delay > 60) {
      return yield* Either.left(
        new InvalidFlag({ flag: "--restart-delay", value: String(delay), reason: "is above the default cap of 60 seconds: set --restart-max-delay too" })
      )
    }
    return { delay, maxDelay }
  })

/** What the check does: a command, or a GET or a connect made by the monitor (`HealthCheck`). */
type Probe =
  | { readonly cmd: ReadonlyArray<string> }
  | { readonly cmd: ReadonlyArray<string>; readonly http: string }
  | { readonly cmd: ReadonlyArray<string>; readonly tcp: string }

const ANY_HOST_HINT = "only this machine's addresses are probed unless --health-any-host is given"

const probeOf = (
  flags: RunFlags,
  timeoutSecs: number,
  isThisMachine: (host: string) => boolean
): Either.Either<Probe | null, InvalidFlag> =>
  Either.gen(function*() {
    const given = (
      [["--health-cmd", flags.healthCmd], ["--health-http", flags.healthHttp], ["--health-tcp", flags.healthTcp]] as const
    ).filter(([, value]) => Option.isSome(value))
    if (given.length > 1) {
      return yield* Either.left(
        new InvalidFlag({
          flag: given[1]![0],
          value: Option.getOrElse(given[1]![1], () => ""),
          reason: `a box has one health check: give only one of ${given.map(([flag]) => flag).join(" and ")}`
        })
      )
    }
    const checkHost = (flag: string, value: string, host: string) =>
      flags.healthAnyHost || isThisMachine(host)
        ? Either.void
        : Either.left(new InvalidFlag({ flag, value, reason: `${host} is not this machine: ${ANY_HOST_HINT}` }))
    if (Option.isSome(flags.healthCmd)) {
      const cmd = flags.healthCmd.value
      if (cmd.trim() === "") {
        return yield* Either.left(new InvalidFlag({ flag: "--health-cmd", value: cmd, reason: "must not be empty" }))
      }
      return { cmd: ["sh", "-c", cmd] }
    }
    if (Option.isSome(flags.healthHttp)) {
      const text = flags.healthHttp.value
      const url = HealthCheck.parseHttpUrl(text)
      if (typeof url === "string") return yield* Either.left(new InvalidFlag({ flag: "--health-http", value: text, reason: url }))
      yield* checkHost("--health-http", text, HealthCheck.hostOfUrl(url))
      return { http: url.href, cmd: HealthCheck.httpFallbackCmd(url.href, timeoutSecs) }
    }
    if (Option.isSome(flags.healthTcp)) {
      const text = flags.healthTcp.value
      const target = HealthCheck.parseTcpTarget(text)
      if (typeof target === "string") return yield* Either.left(new InvalidFlag({ flag: "--health-tcp", value: text, reason: target }))
      yield* checkHost("--health-tcp", text, target.host)
      return { tcp: HealthCheck.tcpTargetText(target), cmd: HealthCheck.tcpFallbackCmd(target) }
    }
    return null
  })

const healthCheckOf = (
  flags: RunFlags,
  isThisMachine: (host: string) => boolean
): Either.Either<HealthCheck.HealthCheck | null, InvalidFlag> =>
  Either.gen(function*() {
    const interval = yield* optionalCheck(flags.healthInterval, atLeast("--health-interval", 1, " second"))
    const timeout = yield* optionalCheck(flags.healthTimeout, atLeast("--health-timeout", 1, " second"))
    const retries = yield* optionalCheck(flags.healthRetries, atLeast("--health-retries", 1, ""))
    const startPeriod = yield* optionalCheck(flags.healthStartPeriod, atLeast("--health-start-period", 0, " seconds"))
    const probe = yield* probeOf(flags, timeout ?? 5, isThisMachine)
    if (probe === null) {
      const stray = [
        ["--health-interval", interval],
        ["--health-timeout", timeout],
        ["--health-retries", retries],
        ["--health-start-period", startPeriod],
        ["--health-any-host", flags.healthAnyHost ? "true" : null]
      ].find(([, value]) => value !== null)
      if (stray !== undefined) {
        return yield* Either.left(
          new InvalidFlag({ flag: String(stray[0]), value: String(stray[1]), reason: "needs --health-cmd, --health-http or --health-tcp" })
        )
      }
      return null
    }
    return {
      ...probe,
      interval_secs: interval ?? 30,
      timeout_secs: timeout ?? 5,
      retries: retries ?? 3,
      start_period_secs: startPeriod ?? 0
    }
  })

/**
 * Checks every flag of `run` before anything is written. `cwd` resolves a relative
 * `--workdir` and is the working directory when none is given, so that a restart by the
 * monitor runs the command where the first run did; `caller` (the environment `run` runs in)
 * gives the box's base variables, for the same reason. `isThisMachine` says whether an HTTP or
 * TCP check's host is this machine (LocalHosts; a test gives its own).
 */
export const validate = (
  flags: RunFlags,
  cwd: string,
  caller: Readonly<Record<string, string | undefined>>,
  isThisMachine: (host: string) => boolean = LocalHosts.isThisMachine
): Either.Either<RunSpec, RunSpecError> =>
  Either.gen(function*() {
    const program = flags.cmd[0]
    if (program === undefined || program === "") return yield* Either.left(new MissingCommand())
    // An unknown option before the command reaches us as its first word: no program is called `--nmae`.
    if (program.startsWith("-")) return yield* Either.left(new UnknownOption({ command: "run", option: program }))
    const name = Option.getOrNull(flags.name)
    if (name !== null && !BoxNames.isValidName(name)) {
      return yield* Either.left(
        new InvalidFlag({
          flag: "--name",
          value: name,
          reason: "use letters, digits, '_', '.' and '-', starting with a letter or digit"
        })
      )
    }
    yield* RestartPolicy.parse(flags.restart)
    const env = yield* parseEnv(flags.env)
    const healthCheck = yield* healthCheckOf(flags, isThisMachine)
    const stopTimeout = yield* optionalCheck(flags.stopTimeout, atLeast("--stop-timeout", 0, " seconds"))
    const restartDelays = yield* restartDelaysOf(flags)
    const logMaxSize = yield* optionalCheck(flags.logMaxSize, logMaxSizeOf)
    const logMaxFiles = yield* optionalCheck(flags.logMaxFiles, logMaxFilesOf)
    let stopSignal: string | null = null
    if (Option.isSome(flags.stopSignal)) {
      const signal = Signal.parseSignal(flags.stopSignal.value)
      if (Option.isNone(signal)) {
        return yield* Either.left(
          new InvalidFlag({ flag: "--stop-signal", value: flags.stopSignal.value, reason: `expected ${Signal.signalHelp}` })
        )
      }
      stopSignal = signal.value.name
    }
    const workdir = Option.match(flags.workdir, { onNone: () => cwd, onSome: (dir) => path.resolve(cwd, dir) })
    return {
      name,
      restartPolicy: flags.restart,
      autoRemove: flags.rm,
      env,
      baseEnv: BoxEnvironment.baseEnvironment(caller),
      workdir,
      healthCheck,
      stopSignal,
      stopTimeout,
      restartDelay: restartDelays.delay,
      restartMaxDelay: restartDelays.maxDelay,
      logMaxSize,
      logMaxFiles,
      cmd: flags.cmd
    }
  })
