import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { ensureDirectories, PRIVATE_DIR_MODE } from "../platform/Directories.js"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { BoxRecord } from "../domain/BoxRecord.js"
import * as BoxStatus from "../domain/BoxStatus.js"
import { type BootedBox, BoxRuntime } from "../runtime/BoxRuntime.js"
import { StateStore } from "../state/StateStore.js"
import * as BoxRef from "./BoxRef.js"
import { BoxFileError, InvalidFlag } from "./CliErrors.js"
import * as HomeWarning from "./HomeWarning.js"
import type { NewBoxEvent } from "../domain/BoxEvent.js"
import * as Journal from "./Journal.js"
import * as Lifecycle from "./Lifecycle.js"
import * as LogStream from "./LogStream.js"
import * as Outcome from "./Outcome.js"
import * as RunSpec from "./RunSpec.js"
import * as SupervisionWarning from "./SupervisionWarning.js"
import * as Transitions from "./Transitions.js"

/** `a3s-box run [-d] [OPTIONS] -- CMD [ARG...]`: create a box and start it. */

const seconds = (name: string, description: string) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.optional)

export const flags = {
  detach: Options.boolean("detach").pipe(
    Options.withAlias("d"),
    Options.withDescription("Run in the background and print the box id (otherwise stay attached to its output)")
  ),
  name: Options.text("name").pipe(Options.withDescription("Name of the box (default: generated)"), Options.optional),
  restart: Options.text("restart").pipe(
    Options.withDescription("Restart policy: no (default), always, unless-stopped, on-failure, on-failure:N"),
    Options.withDefault("no")
  ),
  rm: Options.boolean("rm").pipe(Options.withDescription("Remove the box when it exits")),
  env: Options.text("env").pipe(
    Options.withAlias("e"),
    Options.withDescription("Set an environment variable KEY=VALUE (repeatable)"),
    Options.repeated
  ),
  workdir: Options.text("workdir").pipe(
    Options.withAlias("w"),
    Options.withDescription("Working directory of the command (default: the current directory)"),
    Options.optional
  ),
  healthCmd: Options.text("health-cmd").pipe(
    Options.withDescription("Health check command, run with `sh -c`; exit 0 means healthy"),
    Options.optional
  ),
  healthHttp: Options.text("health-http").pipe(
    Options.withDescription("Health check by HTTP GET of this http:// URL, made by the monitor (no process): 2xx or 3xx means healthy"),
    Options.optional
  ),
  healthTcp: Options.text("health-tcp").pipe(
    Options.withDescription("Health check by TCP connect to [HOST:]PORT (HOST default 127.0.0.1), made by the monitor: accepted means healthy"),
    Options.optional
  ),
  healthAnyHost: Options.boolean("health-any-host").pipe(
    Options.withDescription("Let --health-http/--health-tcp probe a host other than this machine")
  ),
  healthInterval: seconds("health-interval", "Seconds between health checks (default 30, at least 1)"),
  healthTimeout: seconds("health-timeout", "Seconds a health check may run (default 5, at least 1)"),
  healthRetries: seconds("health-retries", "Consecutive failures that make the box unhealthy (default 3, at least 1)"),
  healthStartPeriod: seconds("health-start-period", "Seconds after start before health checks begin (default 0)"),
  stopSignal: Options.text("stop-signal").pipe(
    Options.withDescription("Signal that stops the box gracefully (default SIGTERM)"),
    Options.optional
  ),
  stopTimeout: seconds("stop-timeout", "Seconds to wait after the stop signal before SIGKILL (default 10)"),
  restartDelay: Options.float("restart-delay").pipe(
    Options.withDescription("Seconds the monitor waits before the first restart that follows a failed one; doubles per failure (default 1)"),
    Options.optional
  ),
  restartMaxDelay: Options.float("restart-max-delay").pipe(
    Options.withDescription("The longest wait between restarts, in seconds (default 60)"),
    Options.optional
  ),
  logMaxSize: Options.text("log-max-size").pipe(
    Options.withDescription("Rotate the console log when it reaches SIZE (512k, 10m, 1g; default 10m; 0: never)"),
    Options.optional
  ),
  logMaxFiles: Options.integer("log-max-files").pipe(
    Options.withDescription("Console log files kept, the live one included (default 3; 0: never rotate)"),
    Options.optional
  ),
  quiet: SupervisionWarning.quietOption,
  cmd: Args.text({ name: "CMD" }).pipe(
    Args.withDescription("The command and its arguments; put `--` before it when an argument starts with '-'"),
    Args.repeated
  )
} as const

/** Checks that an explicit `--workdir` is an existing directory before anything is written. */
const checkWorkdir = (given: Option.Option<string>, resolved: string) =>
  Effect.gen(function*() {
    if (Option.isNone(given)) return
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.option(fs.stat(resolved))
    if (Option.isNone(info) || info.value.type !== "Directory") {
      return yield* new InvalidFlag({ flag: "--workdir", value: given.value, reason: "no such directory" })
    }
  })

/**
 * Records the end of an attached box that exited by itself (unless something else changed it
 * meanwhile), once what its command left in its process group is killed (SPEC §12).
 */
const recordExit = (box: BoxRecord, code: number) =>
  Effect.gen(function*() {
    const runtime = yield* BoxRuntime
    if (runtime.killRemains !== undefined) yield* runtime.killRemains([box])
    const store = yield* StateStore
    const at = yield* Clock.currentTimeMillis
    type Recorded = { readonly removed: boolean; readonly events: ReadonlyArray<NewBoxEvent> }
    const { events, removed } = yield* store.modify((records): readonly [Recorded, ReadonlyArray<BoxRecord>] => {
      const current = BoxRef.findById(records, box.id)
      if (current === undefined) return [{ removed: box.auto_remove, events: [] }, records]
      if (!BoxStatus.isRunning(current) || !Transitions.sameIncarnation(current, box)) {
        return [{ removed: false, events: [] }, records]
      }
      const dead = Transitions.exited(current, code, at)
      return current.auto_remove
        ? [{ removed: true, events: [Journal.died(dead), Journal.destroyed(dead)] }, Transitions.without(records, box.id)]
        : [{ removed: false, events: [Journal.died(dead)] }, Transitions.replace(records, dead)]
    })
    yield* Journal.append(events)
    if (removed) yield* Lifecycle.removeBoxDir(box)
  })

/** Follows the box's console log to stdout until the box exits; records the exit and exits with its code. */
const follow = (box: BoxRecord, booted: BootedBox, copied: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.fork(booted.exited)
    yield* LogStream.stream({
      path: box.console_log,
      until: Effect.map(Fiber.poll(exit), Option.isSome),
      position: copied
    })
    const code = yield* Fiber.join(exit)
    yield* recordExit(box, code)
    yield* Outcome.setExitCode(code)
  })

/**
 * Ctrl-C of an attached run: stop the box as `stop` would, print what it wrote meanwhile (its
 * last words on SIGTERM reach the terminal, not only `logs`), exit with the code it stopped with.
 */
const stopAttached = (box: BoxRecord, copied: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const stopped = yield* Lifecycle.stop(box)
    yield* LogStream.stream({ path: box.console_log, position: copied })
    if (box.auto_remove) yield* Lifecycle.forget(box)
    yield* Outcome.setExitCode(stopped.exit_code ?? 130)
  }).pipe(Effect.catchAll(Outcome.report))

export const command = Command.make("run", flags, (input) =>
  Effect.gen(function*() {
    const spec = yield* RunSpec.validate(input, process.cwd(), process.env)
    yield* checkWorkdir(input.workdir, spec.workdir)
    // From here on, an interrupt (Ctrl-C) is only seen once an attached box can be stopped:
    // never between writing the record and booting or recording the process.
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const created = yield* Lifecycle.create(spec)
        const { box, booted } = yield* ensureDirectories(created.box_dir, PRIVATE_DIR_MODE).pipe(
          Effect.mapError((error) =>
            new BoxFileError({ path: created.box_dir, operation: "create", reason: error.message })
          ),
          Effect.zipRight(Lifecycle.boot(created)),
          // A box whose process could not be started is removed: `run` is all or nothing.
          Effect.tapError(() => Effect.ignore(Lifecycle.forget(created)))
        )
        if (input.detach || Option.isNone(booted)) {
          yield* Console.log(box.id)
          yield* restore(SupervisionWarning.warnIfUnsupervised({ quiet: input.quiet }))
          yield* restore(HomeWarning.warnIfShared({ quiet: input.quiet }))
          return
        }
        // Not interruptible (one stat): an interrupt is only seen once the attached box can be stopped.
        yield* HomeWarning.warnIfShared({ quiet: input.quiet })
        const copied = yield* Ref.make(0)
        yield* restore(follow(box, booted.value, copied)).pipe(Effect.onInterrupt(() => stopAttached(box, copied)))
      })
    )
  })
).pipe(Command.withDescription("Create a box and start it: in the background with -d, else attached to its output"))
