#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Redundant gateways (A/B, issue 13; docs/scale.md "Redundant gateways"): two tickgate
# instances on the same feed (each its own connection to tickgate-replay, which plays the
# Binance spot recording to each from its start at the same pace), both writing into one
# PostgreSQL schema and both in the Redis lease group `ab`. One holds the lease and publishes;
# the test SIGKILLs it mid-stream. Checked:
#   - PostgreSQL holds every trade of the recording exactly once (9757; two writers race on the
#     same trades, the unique key keeps one);
#   - a subscriber (pub/sub) sees one stream per channel: one publisher's epoch at a time, never
#     two interleaved, trade numbers without holes inside an epoch (book numbers only grow: book
#     messages are snapshots, coalesced under load), and the new epoch starting at 1; the trades
#     between the two epochs are reported (by trade id);
#   - the failover time (SIGKILL -> first message of the new epoch) is within the lease's
#     bound (lease_ms * 4/3 plus 2 s of slack for a loaded machine); printed.
# Usage (under tests/fixtures/services.sh): test_it_redundant_ab.sh TICKGATE REPLAY RECS
set -u
# shellcheck source=tests/fixtures/replay_port.sh
. "$(dirname "$0")/../fixtures/replay_port.sh"
gw=$1 replay=$2 recs=$3
rec="$recs/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
py=/usr/bin/python3
lease_ms=1000
[ -n "${TG_TEST_PG_DSN:-}" ] && [ -n "${TG_TEST_REDIS_PORT:-}" ] ||
    { echo "TG_TEST_PG_DSN/TG_TEST_REDIS_PORT not set: skipped"; exit 77; }
[ -r "$rec" ] || { echo "no $rec: skipped"; exit 77; }
command -v psql >/dev/null && command -v curl >/dev/null && $py -c 'import redis' 2>/dev/null ||
    { echo "no psql/curl/python3-redis: skipped"; exit 77; }
d=$(mktemp -d)
schema="tg_it_ab_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    psql "$TG_TEST_PG_DSN" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
    redis-cli -p "$TG_TEST_REDIS_PORT" DEL tg:leader:ab >/dev/null 2>&1
    rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for x in a b; do echo "--- gateway $x:"; tail -5 "$d/$x.log"; done; exit 1; }
free_port() { $py -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# ~20 s of stream per connection: 41 k frames at 2000/s
"$replay" serve --port 0 --quiet --hold --rate 2000 "$rec" >"$d/replay.out" 2>"$d/replay.err" &
pids+=($!)
port=$(replay_port "$d/replay.out" "$d/replay.err") || exit 1

# the subscriber: every message of the trades and book channels, with its arrival time
$py - "$TG_TEST_REDIS_PORT" "$d/sub.txt" >"$d/sub.err" 2>&1 <<'PY' &
import json, sys, time, redis
r = redis.Redis(port=int(sys.argv[1]))
ps = r.pubsub()
ps.psubscribe("tg.trades.*", "tg.book.*")
with open(sys.argv[2], "w", buffering=1) as out:
    for m in ps.listen():
        if m["type"] != "pmessage":
            continue
        d = json.loads(m["data"])
        out.write("%.6f %s %s %s %s\n" % (time.time(), m["channel"].decode(), d["epoch"], d["seq"],
                                          d.get("trade_id", "-")))
PY
pids+=($!)
sleep 0.5

declare -A mport gpid
for x in a b; do
    mport[$x]=$(free_port)
    cat >"$d/$x.ini" <<INI
[gateway]
name = gw-$x
[postgres]
conninfo = $TG_TEST_PG_DSN
schema = $schema
spill_dir = $d/spill-$x
[redis]
port = $TG_TEST_REDIS_PORT
leader = ab
leader_lease_ms = $lease_ms
[metrics]
listen = 127.0.0.1:${mport[$x]}
$(it_binance_feed_ini "$port")
INI
done
for x in a b; do
    "$gw" --config "$d/$x.ini" >"$d/$x.log" 2>&1 &
    gpid[$x]=$!
    pids+=(${gpid[$x]})
done
metric() { # gateway metric
    curl -sf --max-time 2 "http://127.0.0.1:${mport[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}'
}
leader=""
for _ in $(seq 1 100); do
    la=$(metric a tickgate_redis_leader) lb=$(metric b tickgate_redis_leader)
    [ "$la" = 1 ] && [ "$lb" = 0 ] && leader=a other=b
    [ "$la" = 0 ] && [ "$lb" = 1 ] && leader=b other=a
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || fail "no single leader (a: ${la:-?}, b: ${lb:-?})"
curl -sf "http://127.0.0.1:${mport[$other]}/health" | grep -q '"role":"standby"' ||
    fail "the standby's /health does not say standby"
echo "ok: gw-$leader holds the lease, gw-$other stands by (healthy)"

# mid-stream: ~5 s of trades published, then the leader dies
sleep 5
n_before=$(grep -c . "$d/sub.txt")
[ "$n_before" -gt 100 ] || fail "only $n_before messages before the kill"
t_kill=$(date +%s.%N)
kill -KILL "${gpid[$leader]}"
echo "killed gw-$leader at $t_kill after $n_before messages"

want=9757 # trades in the recording (the golden test checks this count)
n=$(it_pg_wait_count "$schema.trades" "$want")
[ "$(metric $other tickgate_redis_leader)" = 1 ] || fail "gw-$other did not take the lease"
kill -TERM "${gpid[$other]}"
wait "${gpid[$other]}" 2>/dev/null
sleep 0.5
distinct=$(psql "$TG_TEST_PG_DSN" -Atc "SELECT count(DISTINCT trade_id) FROM $schema.trades")
inst=$(psql "$TG_TEST_PG_DSN" -Atc "SELECT string_agg(name, ',' ORDER BY name) FROM $schema.instances")
echo "PostgreSQL: $n trade rows, $distinct distinct, of $want in the recording; writers: $inst"
[ "$n" = "$want" ] && [ "$distinct" = "$want" ] || fail "trades not stored exactly once"
[ "$inst" = "gw-a,gw-b" ] || fail "instances table: $inst"

$py - "$d/sub.txt" "$t_kill" "$lease_ms" <<'PY' || exit 1
import sys
lines = [l.split() for l in open(sys.argv[1])]
t_kill, lease = float(sys.argv[2]), int(sys.argv[3])
chans = {}
for t, ch, ep, seq, tid in lines:
    chans.setdefault(ch, []).append((float(t), int(ep), int(seq), tid))
bad = []
first_new = None
for ch, ms in chans.items():
    epochs, cur, last = [], None, 0
    for t, ep, seq, tid in ms:
        if ep != cur:
            if ep in epochs:
                bad.append("%s: epoch %d again after %d (two publishers interleaved)" % (ch, ep, cur))
            epochs.append(ep)
            if cur is not None:
                if seq != 1:
                    bad.append("%s: new epoch starts at seq %d" % (ch, seq))
                if first_new is None or t < first_new:
                    first_new = t
            cur, last = ep, seq
            continue
        # trades: every number; books: full snapshots, coalesced under load (docs/redis.md),
        # so numbers only grow
        if seq != last + 1 if ch.startswith("tg.trades.") else seq <= last:
            bad.append("%s: seq %d after %d in epoch %d" % (ch, seq, last, ep))
        last = seq
    if len(epochs) != 2:
        bad.append("%s: %d epochs (want the killed leader's, then the new one's)" % (ch, len(epochs)))
    if ch.startswith("tg.trades."):
        a = [int(tid) for t, ep, s, tid in ms if ep == epochs[0]]
        b = [int(tid) for t, ep, s, tid in ms if len(epochs) > 1 and ep == epochs[1]]
        if a and b:
            print("%s: %d trades in the first epoch (last id %d), %d in the second (first id %d):"
                  " %d trade ids between them reported as the failover's hole"
                  % (ch, len(a), a[-1], len(b), b[0], max(0, b[0] - a[-1] - 1)))
for x in bad[:10]:
    print("FAIL:", x)
if first_new is None:
    print("FAIL: no message of a new epoch")
    sys.exit(1)
fo = first_new - t_kill
bound = lease * 4 / 3 / 1000 + 2.0
print("failover: SIGKILL -> first message of the new epoch %.3f s (lease %d ms; bound %.2f s)"
      % (fo, lease, bound))
if fo > bound:
    print("FAIL: failover slower than the bound")
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
echo "ok: one stream per channel, every trade stored once"
