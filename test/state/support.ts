/** Test helpers for the state store: temp homes, a stub BoxRuntime (for `Boxes.load`), the store layer. */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { BoxRecord } from "../../src/domain/BoxRecord.js"
import { BoxRuntime, ExitWatch } from "../../src/runtime/BoxRuntime.js"
import * as SyncFileSystem from "../../src/platform/SyncFileSystem.js"
import * as NodeStateStore from "../../src/state/NodeStateStore.js"
import type { StateStore } from "../../src/state/StateStore.js"

export interface StubRuntimeOptions {
  /** Liveness by pid; default: every pid is alive. */
  readonly isAlive?: (pid: number, pidStartTime: number | null) => boolean
  /** Exit-code file contents by box id; default: none. */
  readonly exitCodes?: ReadonlyMap<string, number>
}

/** A BoxRuntime that answers liveness and exit codes from tables and cannot boot anything. */
export const stubRuntime = (options: StubRuntimeOptions = {}): Layer.Layer<BoxRuntime> =>
  Layer.succeed(BoxRuntime, {
    boot: (box) => Effect.dieMessage(`stub runtime cannot boot ${box.name}`),
    stop: (box) => Effect.dieMessage(`stub runtime cannot stop ${box.name}`),
    probe: (box) => Effect.dieMessage(`stub runtime cannot probe ${box.name}`),
    watchExit: () => Effect.succeed(ExitWatch.Unwatchable({ reason: "a stub" })),
    liveness: (targets, verify) =>
      Effect.sync(() => targets.map((t) => options.isAlive?.(t.pid, verify ? t.startTime : null) ?? true)),
    exitCode: (box: BoxRecord) => Effect.sync(() => Option.fromNullable(options.exitCodes?.get(box.id)))
  })

export const storeLayer = (
  home: string,
  runtime: StubRuntimeOptions = {},
  options: NodeStateStore.Options = {},
  files: Layer.Layer<FileSystem.FileSystem> = SyncFileSystem.layer
): Layer.Layer<StateStore | BoxRuntime> =>
  NodeStateStore.layer(home, options).pipe(Layer.provide(files), Layer.provideMerge(stubRuntime(runtime)))

/**
 * The file systems a store is tested over: the Node stacks' (platform/SyncFileSystem, whose
 * reads the store makes itself, with a precise stamp) and any other (here @effect/platform-node's,
 * whose methods are then the only way the store reads).
 */
export const fileSystems: ReadonlyArray<readonly [string, Layer.Layer<FileSystem.FileSystem>]> = [
  ["SyncFileSystem", SyncFileSystem.layer],
  ["another FileSystem", NodeFileSystem.layer]
]

/** A fresh temp directory; `cleanup` removes all of them. */
export const tempDirs = () => {
  const made: Array<string> = []
  return {
    make: (prefix = "a3s-state-"): string => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
      made.push(dir)
      return dir
    },
    cleanup: () => {
      for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..")
export const fixtureText = fs.readFileSync(path.join(repoRoot, "test", "domain", "fixtures", "boxes.json"), "utf8")

/** A minimal valid record. */
export const record = (id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  short_id: id.replaceAll("-", "").slice(0, 12),
  name: `box-${id}`,
  status: "created",
  pid: null,
  cmd: ["true"],
  box_dir: `/nonexistent/${id}`,
  console_log: `/nonexistent/${id}/console.log`,
  created_at: "2026-01-01T00:00:00Z",
  ...overrides
})

/** The same, decoded (defaults filled in), for returning from a modify. */
export const boxRecord = (id: string, overrides: Record<string, unknown> = {}): BoxRecord =>
  Schema.decodeUnknownSync(BoxRecord)(record(id, overrides))
