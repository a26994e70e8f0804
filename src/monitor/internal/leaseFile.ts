/**
 * The lease file `<home>/monitor.lease` (SPEC §11): who holds the lease, its JSON form, and the
 * paths of the file and of the mutex that guards claims.
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as path from "node:path"

/** Who holds (or held) the lease. */
export interface LeaseHolder {
  readonly pid: number
  /** Start-time identity of `pid` (Linux: field 22 of /proc/PID/stat); null where unknown. */
  readonly pidStartTime: number | null
  /** `os.hostname()` of the holder. */
  readonly host: string
  /** Epoch milliseconds. */
  readonly acquiredAt: number
}

/** An RFC 3339 timestamp in the file, epoch milliseconds in memory. */
export const Timestamp = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (text, _, ast) => {
    const millis = Date.parse(text)
    return Number.isNaN(millis)
      ? ParseResult.fail(new ParseResult.Type(ast, text, `not an RFC 3339 timestamp: ${JSON.stringify(text)}`))
      : ParseResult.succeed(millis)
  },
  encode: (millis, _, ast) => {
    const date = new Date(millis)
    return Number.isNaN(date.getTime())
      ? ParseResult.fail(new ParseResult.Type(ast, millis, "not a valid time"))
      : ParseResult.succeed(date.toISOString())
  }
})

const Pid = Schema.Int.pipe(Schema.positive())

/** `<home>/monitor.lease` */
export const LeaseFile = Schema.Struct({
  pid: Pid,
  pid_start_time: Schema.NullOr(Schema.Number),
  host: Schema.String,
  acquired_at: Timestamp
})

const LeaseJson = Schema.parseJson(LeaseFile)
const decodeLease = Schema.decodeUnknownEither(LeaseJson)
const encodeLease = Schema.encodeSync(Schema.parseJson(LeaseFile, { space: 2 }))

/** Parses the lease file's text; Left names what is wrong with it. */
export const parseLease = (text: string): Either.Either<LeaseHolder, string> =>
  Either.match(decodeLease(text), {
    onLeft: (error) => Either.left(ParseResult.TreeFormatter.formatErrorSync(error)),
    onRight: (file) =>
      Either.right({ pid: file.pid, pidStartTime: file.pid_start_time, host: file.host, acquiredAt: file.acquired_at })
  })

export const renderLease = (holder: LeaseHolder): string =>
  `${encodeLease({ pid: holder.pid, pid_start_time: holder.pidStartTime, host: holder.host, acquired_at: holder.acquiredAt })}\n`

/** Same process: pid, start time and host (the acquisition time is not part of the identity). */
export const sameHolder = (a: Omit<LeaseHolder, "acquiredAt">, b: Omit<LeaseHolder, "acquiredAt">): boolean =>
  a.pid === b.pid && a.pidStartTime === b.pidStartTime && a.host === b.host

/** `pid 123` or `pid 123 on host h` when it is not this host. */
export const describeHolder = (holder: LeaseHolder, localHost: string): string =>
  holder.host === localHost ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`

export const leasePath = (home: string): string => path.join(home, "monitor.lease")
export const mutexPath = (home: string): string => path.join(home, "monitor.lease.lk")

/** What one read of the lease finds. */
export type LeaseState = Data.TaggedEnum<{
  Missing: {}
  Corrupt: { readonly detail: string }
  Found: { readonly holder: LeaseHolder }
}>

export const LeaseState = Data.taggedEnum<LeaseState>()
