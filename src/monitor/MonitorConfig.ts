/** The monitor's configuration lives in src/domain/MonitorConfig.ts (the metrics server reads it too). */
export * from "../domain/MonitorConfig.js"
