/** The monitor's stats live in src/telemetry/MonitorStats.ts (the metrics server renders them). */
export * from "../telemetry/MonitorStats.js"
