import * as Data from "effect/Data"
import * as Either from "effect/Either"

/** Docker restart policies (SPEC §4). */
export type RestartPolicy =
  | { readonly _tag: "No" }
  | { readonly _tag: "Always" }
  | { readonly _tag: "UnlessStopped" }
  | { readonly _tag: "OnFailure"; readonly maxRetries: number | null }

export const VALID_FORMS = ["no", "always", "unless-stopped", "on-failure", "on-failure:N"] as const

export class InvalidRestartPolicy extends Data.TaggedError("InvalidRestartPolicy")<{
  readonly input: string
}> {
  override get message(): string {
    return `invalid restart policy '${this.input}': expected one of ${VALID_FORMS.join(", ")} (N a positive integer)`
  }
}

const No: RestartPolicy = { _tag: "No" }

/** Strict parse, for user input (`--restart`). */
export const parse = (input: string): Either.Either<RestartPolicy, InvalidRestartPolicy> => {
  switch (input) {
    case "no":
      return Either.right(No)
    case "always":
      return Either.right({ _tag: "Always" })
    case "unless-stopped":
      return Either.right({ _tag: "UnlessStopped" })
    case "on-failure":
      return Either.right({ _tag: "OnFailure", maxRetries: null })
  }
  const match = /^on-failure:([1-9][0-9]{0,8})$/.exec(input)
  if (match !== null) {
    return Either.right({ _tag: "OnFailure", maxRetries: Number(match[1]) })
  }
  return Either.left(new InvalidRestartPolicy({ input }))
}

/** Lenient parse, for records read from the state file: unknown or malformed values behave like `no`. */
export const fromRecord = (value: string): RestartPolicy => Either.getOrElse(parse(value), () => No)

export const format = (policy: RestartPolicy): string => {
  switch (policy._tag) {
    case "No":
      return "no"
    case "Always":
      return "always"
    case "UnlessStopped":
      return "unless-stopped"
    case "OnFailure":
      return policy.maxRetries === null ? "on-failure" : `on-failure:${policy.maxRetries}`
  }
}

/** What the restart decision looks at; a subset of a box record. */
export interface RestartInput {
  readonly restart_policy: string
  readonly max_restart_count: number
  readonly restart_count: number
  readonly stopped_by_user: boolean
  readonly exit_code: number | null
}

/**
 * SPEC §4: whether a dead box should be restarted. Only call it for `dead` boxes
 * (a box the user stopped has status `stopped` and is never a candidate).
 */
export const shouldRestart = (box: RestartInput): boolean => {
  const policy = fromRecord(box.restart_policy)
  const underCap = box.max_restart_count <= 0 || box.restart_count < box.max_restart_count
  switch (policy._tag) {
    case "No":
      return false
    case "Always":
      return underCap
    case "UnlessStopped":
      return !box.stopped_by_user && underCap
    case "OnFailure":
      return (
        !box.stopped_by_user &&
        box.exit_code !== 0 &&
        underCap &&
        (policy.maxRetries === null || box.restart_count < policy.maxRetries)
      )
  }
}

/**
 * Why a dead box that its policy would restart is not restarted any more: the restarts its
 * policy allows are used up (`on-failure:N` after N restarts, or `max_restart_count`). Null when
 * the policy restarts it, or would not restart it whatever the count (exit 0 under
 * `on-failure`, `no`, a user stop). The monitor logs this once when the box dies its last time.
 */
export const limitReached = (box: RestartInput): string | null => {
  if (shouldRestart(box)) return null
  if (!shouldRestart({ ...box, max_restart_count: 0, restart_count: 0 })) return null
  const policy = fromRecord(box.restart_policy)
  const restarts = `${box.restart_count} restart${box.restart_count === 1 ? "" : "s"}`
  if (policy._tag === "OnFailure" && policy.maxRetries !== null && box.restart_count >= policy.maxRetries) {
    return `policy ${format(policy)} allows ${policy.maxRetries} restart${policy.maxRetries === 1 ? "" : "s"} and it has had ${restarts}`
  }
  return `max_restart_count ${box.max_restart_count} reached (${restarts})`
}
