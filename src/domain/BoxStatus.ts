/**
 * The words of a box's life, as the state file writes them: a box's `status` and its
 * `health_status`. The schema keeps both as strings (other tools write other values, and they
 * must survive a rewrite: SPEC §2), so code compares them only through the predicates below,
 * never with string literals of its own.
 */
import type { HealthStatus } from "./HealthCheck.js"

/** The statuses this project writes or acts on. */
export type BoxStatus = "created" | "running" | "paused" | "stopping" | "stopped" | "dead"

/** Every status this project knows, in the order `ps` and `/metrics` list them. */
export const BOX_STATUSES: ReadonlyArray<BoxStatus> = ["created", "running", "paused", "stopping", "stopped", "dead"]

/** A status some other tool wrote is tolerated (SPEC §2): it is none of ours. */
export const isKnownStatus = (status: string): status is BoxStatus => (BOX_STATUSES as ReadonlyArray<string>).includes(status)

type WithStatus = { readonly status: string }

export const isCreated = (box: WithStatus): boolean => box.status === "created"
export const isRunning = (box: WithStatus): boolean => box.status === "running"
export const isPaused = (box: WithStatus): boolean => box.status === "paused"
/** `stop` marks a box `stopping` (with `stopped_by_user`) for the length of its graceful stop. */
export const isStopping = (box: WithStatus): boolean => box.status === "stopping"
export const isStopped = (box: WithStatus): boolean => box.status === "stopped"
export const isDead = (box: WithStatus): boolean => box.status === "dead"
/** `running` and `paused` boxes are active: they should have a live process (SPEC §3). */
export const isActive = (box: WithStatus): boolean => isRunning(box) || isPaused(box)

/** Docker HEALTHCHECK states (SPEC §6), in the order `/metrics` lists them. */
export const HEALTH_STATUSES: ReadonlyArray<HealthStatus> = ["none", "starting", "healthy", "unhealthy"]

type WithHealth = { readonly health_status: string }

export const isHealthy = (box: WithHealth): boolean => box.health_status === "healthy"
export const isUnhealthy = (box: WithHealth): boolean => box.health_status === "unhealthy"
export const isStarting = (box: WithHealth): boolean => box.health_status === "starting"
