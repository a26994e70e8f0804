#!/bin/bash
# usage: bench.sh N cmd...   -> min and median of user+sys and of wall
n=$1; shift
for i in $(seq 1 $n); do /usr/bin/time -o /tmp/bench.$$ -f "%U %S %e" "$@" >/dev/null 2>&1; cat /tmp/bench.$$; done | python3 -c '
import sys, statistics
rows=[list(map(float,l.split())) for l in sys.stdin if l.strip()]
c=[r[0]+r[1] for r in rows]; w=[r[2] for r in rows]
print("cpu min %.3f med %.3f | wall min %.3f med %.3f" % (min(c), statistics.median(c), min(w), statistics.median(w)))'
rm -f /tmp/bench.$$
