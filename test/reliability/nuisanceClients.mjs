// A separate process that keeps N idle or slow connections open to 127.0.0.1:PORT (the kinds in
// turn: idle, slow headers, slow body, idle keep-alive), opening each one the server closes
// again 3 s later, until it is killed. Prints a JSON summary line on SIGTERM.
//   node nuisanceClients.mjs PORT N
import * as net from "node:net"

const port = Number(process.argv[2])
const count = Number(process.argv[3] ?? "500")
const RECONNECT_MS = 3_000
const kinds = ["idle", "slow-headers", "slow-body", "keep-alive"]
let opened = 0
let connected = 0
let open = 0

const start = (kind) => {
  opened++
  const socket = net.connect(port, "127.0.0.1")
  let timer
  let isOpen = false
  socket.on("error", () => undefined)
  socket.on("data", () => undefined)
  socket.on("connect", () => {
    connected++
    open++
    isOpen = true
    if (kind === "slow-headers") {
      socket.write("GET /metrics HTTP/1.1\r\nX-Slow: ")
      timer = setInterval(() => socket.writable && socket.write("a"), 200)
    } else if (kind === "slow-body") {
      socket.write("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nab")
    } else if (kind === "keep-alive") {
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
    }
  })
  socket.on("close", () => {
    if (timer !== undefined) clearInterval(timer)
    if (isOpen) open--
    setTimeout(() => start(kind), RECONNECT_MS)
  })
}

for (let i = 0; i < count; i++) start(kinds[i % kinds.length])
const report = () => process.stdout.write(JSON.stringify({ opened, connected, open }) + "\n")
setInterval(report, 500)
process.on("SIGTERM", () => {
  report()
  process.exit(0)
})
