#!/bin/bash
# usage: scratchpad/state-contention.sh PROCS N   (e.g. 8 250): PROCS processes doing N locked increments each
cd "$(dirname "$0")/.."
H=$(mktemp -d); python3 - $H <<'PY'
import json,sys
d=json.load(open("test/domain/fixtures/boxes.json"))
d.append({"id":"counter","short_id":"c","name":"c","status":"created","cmd":[],"box_dir":"/x","console_log":"/x/l","created_at":"x"})
json.dump(d,open(sys.argv[1]+"/boxes.json","w"),indent=2)
PY
for i in $(seq 1 $1); do node --import tsx test/state/worker.ts increment $H $2 $H/go > $H/out$i 2>&1 & done
until [ "$(cat $H/out* 2>/dev/null | grep -c ready)" = "$1" ]; do sleep 0.1; done
S=$(date +%s.%N); touch $H/go; wait; E=$(date +%s.%N); echo "elapsed $(echo "$E - $S" | bc)"; grep -h done $H/out* | tr '\n' ' '; echo
python3 -c "import json;print([r['restart_count'] for r in json.load(open('$H/boxes.json')) if r['id']=='counter'])"; rm -rf $H
