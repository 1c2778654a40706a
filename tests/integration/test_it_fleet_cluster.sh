#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A fleet on a Redis Cluster (issue 13): tickgate-split divides a recording's symbols between
# two gateway instances, both publish into a real 6-node Redis Cluster (3 primaries; the
# fixture tests/fixtures/redis_cluster.sh) from tickgate-replay serving the recording; at the
# end every instrument's book key in the cluster, read from the primary that owns its slot
# (redis-py's cluster client follows MOVED), equals the offline rebuild (tickgate-replay books)
# level by level and VALID, every symbol is in exactly one instance's file, the instruments are
# spread over the primaries, and neither gateway logs an error. Then the Python client
# (redis-cluster://) follows the books, through a CLUSTER FAILOVER (it_fleet_client.py).
# Usage (under redis_cluster.sh run): test_it_fleet_cluster.sh TICKGATE REPLAY SPLIT RECS
#        [C_EXAMPLE]
set -u
# shellcheck source=tests/fixtures/replay_port.sh
. "$(dirname "$0")/../fixtures/replay_port.sh"
gw=$1 replay=$2 split=$3 recs=$4 cex=${5:-}
rec="$recs/binance/cryptofeed_1312c062_BINANCE-b38f7c.tgrec.zst"
[ -n "${TG_TEST_REDIS_CLUSTER:-}" ] || { echo "no TG_TEST_REDIS_CLUSTER: skipped"; exit 77; }
[ -r "$rec" ] || { echo "no $rec: skipped"; exit 77; }
/usr/bin/python3 -c 'import redis.cluster' 2>/dev/null || { echo "no python3-redis with cluster: skipped"; exit 77; }
d=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$d"
}
trap cleanup EXIT

"$replay" books "$rec" --depth 10 --out "$d/off.json" >/dev/null 2>&1 || { echo "FAIL: books"; exit 1; }
/usr/bin/python3 -c 'import json, sys
for s in sorted(json.load(open(sys.argv[1]))["symbols"]): print(s)' "$d/off.json" >"$d/syms.txt"
n_syms=$(wc -l <"$d/syms.txt")

"$replay" serve --port 0 --quiet --hold --max "$rec" >"$d/replay.out" 2>"$d/replay.err" &
pids+=($!)
port=$(replay_port "$d/replay.out" "$d/replay.err") || exit 1

seeds=$(echo "$TG_TEST_REDIS_CLUSTER" | cut -d, -f1,2)
cat >"$d/base.ini" <<INI
[gateway]
log_level = info
[postgres]
enabled = false
[redis]
cluster = $seeds
[metrics]
listen = 127.0.0.1:0
INI
"$split" --venue binance --instances 2 --name fleet --base "$d/base.ini" --out "$d/cfg" \
    --url "ws://127.0.0.1:$port/stream" --rest-url "http://127.0.0.1:$port" "$d/syms.txt" ||
    { echo "FAIL: split"; exit 1; }
for i in 1 2; do
    "$gw" --config "$d/cfg/fleet-$i.ini" >"$d/gw$i.log" 2>&1 &
    pids+=($!)
done

# done when every book key exists and its levels have not changed for 2 s
/usr/bin/python3 - "$d/off.json" "$TG_TEST_REDIS_CLUSTER" "$d/cfg" <<'PY'
import glob, json, re, sys, time
from decimal import Decimal
import redis
from redis.cluster import RedisCluster, ClusterNode

off = json.load(open(sys.argv[1]))["symbols"]
nodes = [ClusterNode(h, int(p)) for h, p in (a.split(":") for a in sys.argv[2].split(","))]
rc = RedisCluster(startup_nodes=nodes, decode_responses=True)
owner = {}  # symbol -> instance, from the split files
for path in glob.glob(sys.argv[3] + "/fleet-*.ini"):
    inst = re.search(r"fleet-(\d+)\.ini", path).group(1)
    for line in open(path):
        if line.startswith("symbols = "):
            for s in line[10:].strip().split(", "):
                owner[s] = inst

def key(s):
    return "tg:book:{binance:%s}" % s

def levels_of(raw):  # what must settle: the levels (seq and times move with every publish)
    if raw is None:
        return None
    d = json.loads(raw)
    return (d["bids"], d["asks"], d.get("state"))

last, steady = None, 0
for _ in range(240):
    docs = {s: rc.get(key(s)) for s in off}
    now = {s: levels_of(v) for s, v in docs.items()}
    if all(docs.values()) and last is not None and now == {s: levels_of(v) for s, v in last.items()}:
        steady += 1
        if steady >= 4:
            break
    else:
        steady = 0
    last = docs
    time.sleep(0.5)

def lv(levels):
    return [(Decimal(p), Decimal(q)) for p, q in levels]

bad, primaries = 0, {}
for s, o in sorted(off.items()):
    raw = last.get(s) if last else None
    if raw is None:
        print("FAIL: %s: no book key" % s); bad += 1; continue
    d = json.loads(raw)
    slot = rc.keyslot(key(s))
    node = rc.get_node_from_key(key(s))
    primaries[node.name] = primaries.get(node.name, 0) + 1
    if lv(d["bids"]) != lv(o["bids"]) or lv(d["asks"]) != lv(o["asks"]):
        print("FAIL: %s: book differs from the offline rebuild (state %s vs %s)" % (s, d.get("state"), o["state"]))
        bad += 1
    if str(d.get("state")).lower() != str(o["state"]).lower():
        print("FAIL: %s: state %s, offline %s" % (s, d.get("state"), o["state"]))
        bad += 1
    if s not in owner:
        print("FAIL: %s in no instance's file" % s); bad += 1
print("%d books in the cluster equal the offline rebuild (%d differ); instruments per primary: %s; instances: %s"
      % (len(off) - bad, bad, sorted(primaries.values()),
         {i: sum(1 for v in owner.values() if v == i) for i in sorted(set(owner.values()))}))
if len(primaries) < 2:
    print("FAIL: the books are not spread over the primaries"); bad += 1
sys.exit(1 if bad else 0)
PY
rc=$?
# the Python client follows the fleet's books on the cluster, through a CLUSTER FAILOVER
if [ $rc = 0 ] && [ -n "${TG_CLIENT_PYTHONPATH:-}" ]; then
    PYTHONPATH="$TG_CLIENT_PYTHONPATH" /usr/bin/python3 "$(dirname "$0")/it_fleet_client.py" \
        "$d/off.json" "$TG_TEST_REDIS_CLUSTER" $cex || rc=1
fi
# each instance ran under its own name and logged no error
for i in 1 2; do
    if ! grep -q "instance=fleet-$i" "$d/gw$i.log"; then
        echo "FAIL: fleet-$i log"; head -5 "$d/gw$i.log"; rc=1
    fi
    if grep -qi "level=error" "$d/gw$i.log"; then
        echo "FAIL: fleet-$i logged errors:"; grep -i "level=error" "$d/gw$i.log" | head -5; rc=1
    fi
done
echo "$n_syms symbols, 2 instances: $([ $rc = 0 ] && echo ok || echo FAILED)"
exit $rc
