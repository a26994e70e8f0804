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
export const boxesDir = (homeDir: string): string => path.join(homeDir, "boxes")
