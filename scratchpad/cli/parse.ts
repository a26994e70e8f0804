import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Args from "@effect/cli/Args"
import * as Effect from "effect/Effect"
import * as Console from "effect/Console"
import * as NodeContext from "@effect/platform-node/NodeContext"
const run = Command.make("run", {
  detach: Options.boolean("detach").pipe(Options.withAlias("d")),
  name: Options.text("name").pipe(Options.optional),
  env: Options.text("env").pipe(Options.withAlias("e"), Options.repeated),
  stopTimeout: Options.integer("stop-timeout").pipe(Options.optional),
  rm: Options.boolean("rm"),
  cmd: Args.text({ name: "CMD" }).pipe(Args.repeated)
}, (a) => Console.log(JSON.stringify(a)))
const stop = Command.make("stop", { t: Options.integer("time").pipe(Options.withAlias("t"), Options.withDefault(10)), boxes: Args.text({name:"BOX"}).pipe(Args.atLeast(1)) }, (a) => Console.log(JSON.stringify(a)))
const root = Command.make("a3s-box").pipe(Command.withSubcommands([run, stop]))
const cli = Command.run(root, { name: "x", version: "1" })
cli(["node", "x", ...process.argv.slice(2)]).pipe(Effect.provide(NodeContext.layer), Effect.catchAll(e => Console.log("ERR", e._tag)), Effect.runPromise)
