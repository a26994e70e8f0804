/** The errors of the monitor's lease; `MonitorLease` exports them. */
import * as Data from "effect/Data"
import { type LeaseHolder, leasePath } from "./leaseFile.js"

/** Another live monitor holds the lease on this home (and this one was not started with --standby). */
export class MonitorAlreadyRunning extends Data.TaggedError("MonitorAlreadyRunning")<{
  readonly home: string
  readonly holder: LeaseHolder
  /** False when the holder runs on another host, so that its liveness cannot be checked from here. */
  readonly checkable: boolean
}> {
  override get message(): string {
    const { holder, home } = this
    const since = new Date(holder.acquiredAt).toISOString()
    if (!this.checkable) {
      return `another a3s-box monitor (pid ${holder.pid} on host ${holder.host}, since ${since}) holds the lease on ${home}: only one monitor may supervise a home. If that monitor is gone, remove ${
        leasePath(home)
      }; or start this one with --standby to take over when the lease is released`
    }
    return `another a3s-box monitor (pid ${holder.pid}, since ${since}) is already supervising ${home}: only one monitor may run per home. Stop it first (kill ${holder.pid}), or start this one with --standby to take over when it exits`
  }
}

/** The lease file or its mutex could not be read, written or taken. */
export class MonitorLeaseUnavailable extends Data.TaggedError("MonitorLeaseUnavailable")<{
  readonly path: string
  readonly operation: "read" | "write" | "lock"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `cannot ${this.operation} the monitor lease ${this.path}: ${this.detail}`
  }
}

/** The lease this monitor held is now held by another live process: this monitor must stop supervising. */
export class MonitorLeaseLost extends Data.TaggedError("MonitorLeaseLost")<{
  readonly home: string
  readonly holder: LeaseHolder
}> {
  override get message(): string {
    return `this monitor lost its lease on ${this.home} (${
      leasePath(this.home)
    }) to another monitor (pid ${this.holder.pid} on host ${this.holder.host}): stopping so that only one monitor supervises the home`
  }
}
