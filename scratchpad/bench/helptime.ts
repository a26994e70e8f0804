import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as CliConfig from "@effect/cli/CliConfig"
const t0 = performance.now()
const { rootCommand } = await import("../../src/cli/Cli.js")
const t1 = performance.now()
const doc = Command.getHelp(rootCommand, CliConfig.defaultConfig)
const t2 = performance.now()
const text = HelpDoc.toAnsiText(doc)
const t3 = performance.now()
HelpDoc.toAnsiText(doc)
const t4 = performance.now()
console.log(`import ${(t1 - t0).toFixed(0)} getHelp ${(t2 - t1).toFixed(0)} render ${(t3 - t2).toFixed(0)} render again ${(t4 - t3).toFixed(0)} chars ${text.length}`)
