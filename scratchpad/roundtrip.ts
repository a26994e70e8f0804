import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import { parseStateFile, renderStateFile } from "../src/domain/BoxRecord.js"
import { isDeepStrictEqual } from "node:util"
const text = readFileSync("../shared/fixtures/boxes.json", "utf8")
const p = Either.getOrThrow(parseStateFile(text))
const out = renderStateFile(p.records, p.raw)
console.log(isDeepStrictEqual(JSON.parse(out), JSON.parse(text)))
console.log(parseStateFile("{}"), parseStateFile("[{\"id\":1}]"))
