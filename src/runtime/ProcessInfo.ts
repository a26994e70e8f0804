/**
 * What the runtime knows about a process (state, group, start-time identity) is read by
 * src/platform/ProcessInfo.ts, below both the runtime and the state store's lock (which
 * needs whether a lock holder's process is gone). Re-exported here for the runtime's users.
 */
export * from "../platform/ProcessInfo.js"
