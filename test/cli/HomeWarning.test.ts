import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as HomeWarning from "../../src/cli/HomeWarning.js"

describe("HomeWarning.warningLine", () => {
  it.each([0o700, 0o500, 0o40700, 0o1700])("is silent for a home only its user can open (mode %o)", (mode) => {
    expect(HomeWarning.warningLine("/h", mode)).toEqual(Option.none())
  })

  it.each([[0o755, "0755"], [0o750, "0750"], [0o701, "0701"], [0o40777, "0777"], [0o710, "0710"]])(
    "warns for mode %o with the chmod that fixes it",
    (mode, shown) => {
      expect(HomeWarning.warningLine("/home/u/.a3s", mode)).toEqual(Option.some(
        `Warning: the a3s-box home /home/u/.a3s is open to other users (mode ${shown}): box logs and environments under it may hold secrets. Run \`chmod go-rwx /home/u/.a3s\` (--quiet hides this warning).`
      ))
    }
  )

  it("quotes a home that is not one plain shell word", () => {
    const line = Option.getOrThrow(HomeWarning.warningLine("/tmp/it's here", 0o755))
    expect(line).toContain("`chmod go-rwx '/tmp/it'\\''s here'`")
  })
})
