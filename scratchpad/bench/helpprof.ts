import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Doc from "@effect/printer/Doc"
import * as Optimize from "@effect/printer/Optimize"
const { rootCommand } = await import("../../src/cli/Cli.js")
const doc = Command.getHelp(rootCommand, CliConfig.defaultConfig)
for (let i = 0; i < 5; i++) HelpDoc.toAnsiText(doc)
const t0 = performance.now()
for (let i = 0; i < 20; i++) HelpDoc.toAnsiText(doc)
console.log("render x20", (performance.now() - t0).toFixed(0))
