/**
 * A real `systemd --user` manager for tests (TESTING.md): our machines do not boot with systemd,
 * but the user manager runs when it believes they did, which it decides from the directory
 * /run/systemd/system alone. So it runs in a private mount namespace with a tmpfs on
 * /run/systemd holding that directory, with its own HOME and XDG_RUNTIME_DIR, in its own cgroup.
 * `systemctl --user` from outside reaches it through $XDG_RUNTIME_DIR/systemd/private.
 *
 * Needs root, unshare, /lib/systemd/systemd and a writable cgroup file system.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const SYSTEMD = ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"].find((p) => fs.existsSync(p))
const CGROUP_ROOT = "/sys/fs/cgroup"
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/** The cgroup hierarchies a manager must be placed in: named v1 `systemd` + `unified` (hybrid), or the v2 root. */
const cgroupHierarchies = (): ReadonlyArray<string> => {
  if (fs.existsSync(path.join(CGROUP_ROOT, "systemd", "cgroup.procs"))) {
    return [path.join(CGROUP_ROOT, "systemd"), path.join(CGROUP_ROOT, "unified")].filter((d) => fs.existsSync(d))
  }
  if (fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return [CGROUP_ROOT]
  return []
}

const onPath = (name: string) => PATH.split(":").some((dir) => fs.existsSync(path.join(dir, name)))

/** Why a manager cannot be started here, or undefined when it can. */
export const unavailableReason = (): string | undefined => {
  if (process.platform !== "linux") return "not Linux"
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root (mount namespace, cgroups)"
  if (SYSTEMD === undefined) return "no /lib/systemd/systemd (apt-get install systemd)"
  for (const tool of ["unshare", "systemctl", "sh"]) if (!onPath(tool)) return `no ${tool} on PATH`
  const hierarchies = cgroupHierarchies()
  if (hierarchies.length === 0) return "no cgroup file system at /sys/fs/cgroup"
  try {
    for (const h of hierarchies) fs.accessSync(h, fs.constants.W_OK)
  } catch {
    return "the cgroup file system is not writable"
  }
  return undefined
}

export interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface SystemdUserManager {
  /** HOME of the manager (its units live in HOME/.config/systemd/user). */
  readonly home: string
  /** XDG_RUNTIME_DIR of the manager (0700); its private socket is in there. */
  readonly runtimeDir: string
  /** The environment that reaches this manager: HOME, XDG_RUNTIME_DIR, a plain PATH. */
  readonly env: Readonly<Record<string, string>>
  readonly pid: number
  /** `systemctl --user ARGS` against this manager. */
  readonly systemctl: (...args: ReadonlyArray<string>) => Run
  /** SIGTERM (the manager stops its units), wait, then remove its cgroups and directories. Idempotent. */
  readonly stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export const waitFor = async <A>(what: string, check: () => A | undefined, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null

/** Every pid in a cgroup directory and its descendants. */
const cgroupPids = (dir: string): Array<number> => {
  if (!fs.existsSync(dir)) return []
  const own = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter((l) => l !== "").map(Number)
  const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())
  return [...own, ...children.flatMap((e) => cgroupPids(path.join(dir, e.name)))]
}

/** Removes a cgroup directory tree, deepest first (cgroup directories are removed with rmdir). */
const removeCgroup = (dir: string) => {
  if (!fs.existsSync(dir)) return
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeCgroup(path.join(dir, e.name))
  }
  try {
    fs.rmdirSync(dir)
  } catch {
    // Still busy: the caller reports what is left.
  }
}

/** Starts a manager in a fresh temp directory and waits until `systemctl --user` reaches it. */
export const startSystemdUserManager = async (): Promise<SystemdUserManager> => {
  const reason = unavailableReason()
  if (reason !== undefined) throw new Error(`cannot start a systemd --user manager: ${reason}`)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "a3s-systemd-"))
  const home = path.join(root, "home")
  const runtimeDir = path.join(root, "run")
  fs.mkdirSync(home)
  fs.mkdirSync(runtimeDir, { mode: 0o700 })
  const cgroupName = `a3s-test-${process.pid}-${path.basename(root)}`
  const cgroups = cgroupHierarchies().map((h) => path.join(h, cgroupName))
  const env = { HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH, LANG: "C.UTF-8" }
  // The shell moves itself into the cgroups, then becomes unshare, then the manager: one pid throughout.
  const script = [
    ...cgroups.map((dir) => `mkdir -p '${dir}' && echo $$ > '${dir}/cgroup.procs' || exit 97`),
    `exec unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=755 tmpfs /run/systemd && mkdir /run/systemd/system && exec ${SYSTEMD} --user'`
  ].join("\n")
  const child = spawn("sh", ["-c", script], {
    env,
    stdio: ["ignore", "ignore", fs.openSync(path.join(root, "manager.log"), "a")],
    detached: true
  })
  const systemctl = (...args: ReadonlyArray<string>): Run => {
    const r = spawnSync("systemctl", ["--user", ...args], { env, encoding: "utf8", timeout: 30_000 })
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }
  }
  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      if (!exited(child)) {
        // Our own unreaped child: its pid cannot have been reused.
        child.kill("SIGTERM")
        const deadline = Date.now() + 15_000
        while (!exited(child) && Date.now() < deadline) await sleep(50)
        if (!exited(child)) child.kill("SIGKILL")
        while (!exited(child)) await sleep(20)
      }
      // Anything left in the manager's cgroups is ours (e.g. KillMode=process children).
      for (const dir of cgroups) {
        for (const pid of cgroupPids(dir)) {
          try {
            process.kill(pid, "SIGKILL")
          } catch {
            // Already gone.
          }
        }
      }
      await waitFor("the test cgroups to empty", () => (cgroups.every((d) => cgroupPids(d).length === 0) ? true : undefined), 10_000)
        .catch(() => undefined)
      for (const dir of cgroups) removeCgroup(dir)
      fs.rmSync(root, { recursive: true, force: true })
    })()
    return stopped
  }
  try {
    await waitFor("systemctl --user to reach the manager", () => {
      if (exited(child)) {
        const log = fs.readFileSync(path.join(root, "manager.log"), "utf8")
        throw new Error(`the systemd --user manager exited (${child.exitCode ?? child.signalCode}): ${log}`)
      }
      return systemctl("show-environment").status === 0 ? true : undefined
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { home, runtimeDir, env, pid: child.pid!, systemctl, stop }
}
