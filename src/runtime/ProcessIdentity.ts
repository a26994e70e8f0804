import { readFileSync } from "node:fs"
import type { ProcessInfo } from "./ProcessInfo.js"

/**
 * Whether the process now at a box's recorded pid can be the box's own, for records that have
 * no `pid_start_time` (written by the original a3s-box or by other tools). Such a record still
 * has `started_at`: a box's process is started before its record says it started, so a process
 * that started clearly later than `started_at` is another process that got the pid when it was
 * reused, and must never be signalled.
 */

/**
 * Linux reports process start times in clock ticks of USER_HZ, which the kernel fixes at 100
 * for user space on every architecture Node runs on (`getconf CLK_TCK`).
 */
export const LINUX_USER_HZ = 100

/**
 * How much later than `started_at` the box's own process may appear to have started: the boot
 * time is known to the second, the tick is 10 ms, and the wall clock may have been adjusted
 * a little since.
 */
export const START_SLACK_MS = 5_000

let bootTime: number | null | undefined

/** Linux: the boot time (`btime` of /proc/stat) in epoch milliseconds; null if unknown. Read once. */
export const linuxBootTimeMillis = (): number | null => {
  if (bootTime !== undefined) return bootTime
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"))
    bootTime = match === null ? null : Number(match[1]) * 1000
  } catch {
    bootTime = null
  }
  return bootTime
}

/**
 * When a process started, in epoch milliseconds, from its `ProcessInfo.startTime` (Linux:
 * clock ticks since boot; elsewhere, as `ps` tells it: seconds since the epoch). Null if unknown.
 */
export const startedAtMillis = (
  info: Pick<ProcessInfo, "startTime">,
  platform: NodeJS.Platform = process.platform,
  bootTimeMillis: () => number | null = linuxBootTimeMillis
): number | null => {
  if (platform !== "linux") return info.startTime * 1000
  const boot = bootTimeMillis()
  return boot === null ? null : boot + (info.startTime * 1000) / LINUX_USER_HZ
}

/**
 * Pure: whether a process that started at `processStartMillis` cannot be the process of a box
 * that `started_at` `startedAt` (it started more than `START_SLACK_MS` later). Unknown times
 * prove nothing: false.
 */
export const startedAfterBox = (processStartMillis: number | null, startedAt: string | null): boolean => {
  if (processStartMillis === null || startedAt === null) return false
  const boxStart = Date.parse(startedAt)
  return Number.isFinite(boxStart) && processStartMillis > boxStart + START_SLACK_MS
}

/**
 * Whether the process `info` (now at the box's recorded pid) is known not to be the box's:
 * its start time differs from the recorded one, or, with none recorded, it started after the box.
 */
export const isForeign = (
  info: Pick<ProcessInfo, "startTime">,
  box: { readonly pid_start_time: number | null; readonly started_at: string | null }
): boolean =>
  box.pid_start_time !== null
    ? info.startTime !== box.pid_start_time
    : startedAfterBox(startedAtMillis(info), box.started_at)
