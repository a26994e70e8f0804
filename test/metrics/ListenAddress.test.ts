import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import * as ListenAddress from "../../src/metrics/ListenAddress.js"

describe("ListenAddress.parse", () => {
  it.each([
    ["127.0.0.1:9464", "127.0.0.1", 9464],
    ["0.0.0.0:0", "0.0.0.0", 0],
    ["localhost:65535", "localhost", 65535],
    ["metrics.internal:80", "metrics.internal", 80],
    ["my-host:8080", "my-host", 8080],
    ["[::1]:9464", "::1", 9464],
    ["[::]:9464", "::", 9464],
    ["[fe80::1%eth0]:1", "fe80::1%eth0", 1],
    ["[::ffff:127.0.0.1]:9100", "::ffff:127.0.0.1", 9100],
    ["127.0.0.1:09464", "127.0.0.1", 9464]
  ])("accepts %s", (input, host, port) => {
    expect(ListenAddress.parse(input)).toEqual(Either.right({ host, port }))
  })

  it.each([
    ["", "it is empty"],
    ["127.0.0.1", "the port is missing"],
    ["127.0.0.1:", "the port is missing"],
    [":9464", "the host is missing"],
    ["127.0.0.1:65536", "the port 65536 is out of range"],
    ["127.0.0.1:99999999999999999999", "out of range"],
    ["127.0.0.1:-1", "is not a number"],
    ["127.0.0.1:http", "is not a number"],
    ["127.0.0.1:+80", "is not a number"],
    ["127.0.0.1:1e3", "is not a number"],
    ["::1:9464", "must be in brackets: [::1]:9464"],
    ["[::1]", "the port is missing"],
    ["[::1]9464", "the port is missing"],
    ["[::1:9464", "is not closed"],
    ["[127.0.0.1]:80", "is not an IPv6 address"],
    ["[nonsense]:80", "is not an IPv6 address"],
    ["300.1.1.1:80", "neither an IPv4 address nor a host name"],
    ["1.2.3:80", "neither an IPv4 address nor a host name"],
    ["bad_host:80", "neither an IPv4 address nor a host name"],
    ["-host:80", "neither an IPv4 address nor a host name"],
    ["host..name:80", "neither an IPv4 address nor a host name"],
    ["http://127.0.0.1:80", "it is a URL"],
    ["a:b:80", "neither an IPv4 address nor a host name"],
    [" 127.0.0.1:80", "whitespace"],
    ["127.0.0.1:80\n", "whitespace"]
  ])("rejects %j (%s)", (input, reason) => {
    const result = ListenAddress.parse(input)
    expect(Either.isLeft(result)).toBe(true)
    const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
    expect(error._tag).toBe("InvalidListenAddress")
    expect(error.input).toBe(input)
    expect(error.reason).toContain(reason)
    // The message names the bad value and the forms that are accepted.
    expect(error.message).toContain(JSON.stringify(input))
    expect(error.message).toContain("HOST:PORT")
    expect(error.message).toContain("[IPV6]:PORT")
    expect(error.message).toContain("0-65535")
  })

  it("format is the inverse of parse", () => {
    for (const input of ["127.0.0.1:9464", "localhost:0", "[::1]:9464", "[fe80::1%eth0]:1"]) {
      const parsed = Either.getOrThrow(ListenAddress.parse(input))
      expect(ListenAddress.format(parsed)).toBe(input)
    }
  })
})

describe("ListenAddress.isLoopbackIp", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["::ffff:10.0.0.1", false],
    ["128.0.0.1", false],
    ["localhost", false]
  ])("%s -> %s", (ip, loopback) => {
    expect(ListenAddress.isLoopbackIp(ip)).toBe(loopback)
  })
})
