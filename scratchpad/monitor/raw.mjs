setInterval(() => {}, 100)
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000 }
setTimeout(() => { const c0 = cpu(); setTimeout(() => { console.log("raw node setInterval(100ms):", ((cpu() - c0) / 20).toFixed(2), "ms/s"); process.exit(0) }, 20000) }, 3000)
