#!/bin/bash
# usage: cold.sh N cmd... -> median wall ms and median user+sys ms over N runs (interleave-friendly)
n=$1; shift
for i in $(seq 1 $n); do /usr/bin/time -f "%e %U %S" "$@" >/dev/null 2>>/tmp/cold.$$; done
python3 -c '
import sys, statistics
rows=[list(map(float,l.split())) for l in open(sys.argv[1]) if l.strip() and l[0].isdigit()]
w=[r[0]*1000 for r in rows]; c=[(r[1]+r[2])*1000 for r in rows]
print("wall med %.0f min %.0f | cpu med %.0f min %.0f" % (statistics.median(w), min(w), statistics.median(c), min(c)))' /tmp/cold.$$
rm -f /tmp/cold.$$
