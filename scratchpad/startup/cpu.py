#!/usr/bin/env python3
"""Interleaved runs of several commands: median wall, CPU (user+sys, wait4 rusage) and max RSS.
usage: cpu.py N 'label=cmd args' ...   (env A3S_HOME is a fresh temp dir)"""
import os, sys, time, statistics, tempfile, shlex
n = int(sys.argv[1]); cmds = [a.split("=", 1) for a in sys.argv[2:]]
home = tempfile.mkdtemp(prefix="a3s-startup-"); env = dict(os.environ, A3S_HOME=home)
res = {l: ([], [], []) for l, _ in cmds}
devnull = os.open(os.devnull, os.O_WRONLY)
def run(cmd):
    argv = shlex.split(cmd); t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull, 1); os.dup2(devnull, 2); os.execvpe(argv[0], argv, env)
    _, status, ru = os.wait4(pid, 0); wall = time.perf_counter() - t0
    if status != 0: print("FAILED", cmd, status, file=sys.stderr)
    return wall * 1000, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss / 1024
for l, c in cmds: run(c)
for i in range(n):
    for l, c in cmds:
        w, cpu, rss = run(c); res[l][0].append(w); res[l][1].append(cpu); res[l][2].append(rss)
print(f"load {os.getloadavg()[0]:.2f} n={n}")
for l, (w, c, r) in res.items():
    print(f"{l:>14}: wall {statistics.median(w):6.1f} ms  cpu {statistics.median(c):6.1f} ms  maxrss {statistics.median(r):5.1f} MiB")
os.system(f"rm -rf {home}")
