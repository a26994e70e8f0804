import * as Doc from "@effect/printer/Doc"
import * as PageWidth from "@effect/printer/PageWidth"
import { makeWadlerLeijen } from "../../scripts/printer-layout.mjs"
const nm = "/work/main/node_modules/@effect/printer/dist/esm/internal/"
const Layout = await import(nm + "layout.js"), DS = await import(nm + "docStream.js"), PL = await import(nm + "layoutPipeline.js")
const ported = makeWadlerLeijen(DS, PL)
for (const n of [2000, 5000, 8000, 12000, 20000]) {
  let d = Doc.empty; for (let i = 0; i < n; i++) d = Doc.cat(Doc.char("a"), d)
  let fb = false
  ported(d, () => true, Layout.options(PageWidth.defaultPageWidth), () => { fb = true; return null })
  console.log(n, fb ? "fallback" : "ok")
}
