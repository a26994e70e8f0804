import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as os from "node:os"
import * as path from "node:path"

/** `$A3S_HOME` if set, else `~/.a3s` (SPEC §2). */
export const home: Effect.Effect<string> = Config.string("A3S_HOME").pipe(
  Config.withDefault(""),
  Effect.map((value) => path.resolve(value === "" ? path.join(os.homedir(), ".a3s") : value)),
  Effect.orDie
)

export const stateFilePath = (homeDir: string): string => path.join(homeDir, "boxes.json")
/** The state file's lock directory. Not `boxes.json.lock`: the original a3s-box flocks a file by that name. */
export const stateLockPath = (homeDir: string): string => path.join(homeDir, "boxes.json.lk")
/** The event journal (issue 14); rotated files are `events.jsonl.1`, `events.jsonl.2`, ... (1 the newest). */
export const eventsFilePath = (homeDir: string): string => path.join(homeDir, "events.jsonl")
/** The journal's append lock directory (FileLock.ts). */
export const eventsLockPath = (homeDir: string): string => path.join(homeDir, "events.jsonl.lk")
/** `<home>/monitor.log`: where the launchd agent sends the monitor's stdout and stderr (rotated by the monitor: LogRotator). */
export const monitorLogPath = (homeDir: string): string => path.join(homeDir, "monitor.log")
export const boxesDir = (homeDir: string): string => path.join(homeDir, "boxes")
