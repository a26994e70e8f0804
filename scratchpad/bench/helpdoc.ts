import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as CliConfig from "@effect/cli/CliConfig"
const InternalHelpDoc = await import("/work/main/node_modules/@effect/cli/dist/esm/internal/helpDoc.js")
const { rootCommand } = await import("../../src/cli/Cli.js")
const doc = Command.getHelp(rootCommand, CliConfig.defaultConfig)
const ansi = (InternalHelpDoc as any).toAnsiDoc(doc)
const count: Record<string, number> = {}
const seen = new Set()
const walk = (d: any) => { if (d === null || typeof d !== "object" || seen.has(d)) return; seen.add(d); if (d._tag) count[d._tag] = (count[d._tag] ?? 0) + 1; for (const k of ["left", "right", "doc", "document"]) walk(d[k]) }
walk(ansi)
console.log(count)
const text = HelpDoc.toAnsiText(doc)
console.log(text.split("\n").length, "lines")
