/** The heartbeat file `<home>/monitor.json` (SPEC §11): its schema, its text, and reading it. */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { errorText, isNotFound } from "../../platform/ErrorText.js"
import { Timestamp } from "./leaseFile.js"

export const heartbeatPath = (home: string): string => path.join(home, "monitor.json")

/** `<home>/monitor.json`; timestamps are RFC 3339 in the file, epoch milliseconds in memory. */
export const MonitorHeartbeat = Schema.Struct({
  pid: Schema.Int.pipe(Schema.positive()),
  pid_start_time: Schema.NullOr(Schema.Number),
  host: Schema.String,
  interval_secs: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  /** `HOST:PORT` the metrics server is bound to, or null when it is off. */
  metrics_addr: Schema.NullOr(Schema.String),
  version: Schema.String,
  started_at: Timestamp,
  /** Null until the first poll cycle completes. */
  last_cycle_at: Schema.NullOr(Timestamp),
  updated_at: Timestamp,
  /** Set by a monitor that exits cleanly. */
  stopped_at: Schema.optionalWith(Schema.NullOr(Timestamp), { default: () => null })
})

export type MonitorHeartbeat = typeof MonitorHeartbeat.Type

const decodeHeartbeat = Schema.decodeUnknownEither(Schema.parseJson(MonitorHeartbeat))
const encodeHeartbeat = Schema.encodeSync(Schema.parseJson(MonitorHeartbeat, { space: 2 }))

/** Parses the file's text; Left names what is wrong. */
export const parse = (text: string): Either.Either<MonitorHeartbeat, string> =>
  Either.mapLeft(decodeHeartbeat(text), (error) => ParseResult.TreeFormatter.formatErrorSync(error))

export const render = (heartbeat: MonitorHeartbeat): string => `${encodeHeartbeat(heartbeat)}\n`

/** What a read of the file finds. Never an error: "cannot read" is a result like the others. */
export type ReadResult = Data.TaggedEnum<{
  Missing: {}
  Unreadable: { readonly detail: string }
  Found: { readonly heartbeat: MonitorHeartbeat }
}>

export const ReadResult = Data.taggedEnum<ReadResult>()

/** Reads `<home>/monitor.json`. Never fails. */
export const read = (home: string): Effect.Effect<ReadResult, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFileString(heartbeatPath(home)).pipe(
      Effect.map((text): ReadResult =>
        Either.match(parse(text), {
          onLeft: (detail) => ReadResult.Unreadable({ detail: `not a valid heartbeat: ${detail}` }),
          onRight: (heartbeat) => ReadResult.Found({ heartbeat })
        })
      ),
      Effect.catchAll((error) =>
        Effect.succeed(isNotFound(error) ? ReadResult.Missing() : ReadResult.Unreadable({ detail: errorText(error) }))
      )
    )
  })
