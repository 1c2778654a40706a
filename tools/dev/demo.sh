#!/usr/bin/env bash
# README command 1: the gateway's main job on the shared recordings.
#   installs what is missing, builds (release, jemalloc), starts a throwaway PostgreSQL and
#   Redis on loopback, serves the recordings over wss with tickgate-replay, runs tickgate on
#   them with a generated config, shows live progress, and ends with a report of what is now in
#   PostgreSQL and Redis (and how to query it). Everything is stopped on exit.
# Environment: TG_RECORDINGS (default ../shared/recordings), DEMO_SPEED (replay pace multiplier,
# default 20; "max" = as fast as tickgate reads), DEMO_KEEP=1 keeps the servers running until
# Enter is pressed (so you can paste the queries).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash tools/dev/deps.sh
rec=${TG_RECORDINGS:-$root/../shared/recordings}
speed=${DEMO_SPEED:-20}
[ -d "$rec" ] || { echo "demo: no recordings at $rec (set TG_RECORDINGS)" >&2; exit 1; }

echo "== building (release, jemalloc)" >&2
if [ -f build-release/build.ninja ]; then :; else
    meson setup build-release --buildtype=release -Djemalloc=true >/dev/null
fi
ninja -C build-release >/dev/null

work=$(mktemp -d /tmp/tickgate-demo.XXXXXX)
chmod 755 "$work" # PostgreSQL runs as user postgres and must reach its data dir
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    tests/fixtures/services.sh stop "$work/svc" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== starting PostgreSQL and Redis on 127.0.0.1 (in $work/svc)" >&2
tests/fixtures/services.sh start "$work/svc" >"$work/svc.env"
# shellcheck disable=SC1091
. "$work/svc.env"

echo "== serving the recordings over wss with tickgate-replay (speed: $speed)" >&2
bash tools/replay/gen-test-cert.sh "$work/tls" >/dev/null
mapfile -t files < <(find "$rec" -type f \( -name '*.tgrec' -o -name '*.tgrec.zst' \) | sort)
pace=(--speed "$speed")
[ "$speed" = max ] && pace=(--max)
build-release/tools/replay/tickgate-replay serve --port 0 --tls --cert "$work/tls/cert.pem" \
    --key "$work/tls/key.pem" --hold --sub-settle 300 "${pace[@]}" "${files[@]}" >"$work/replay.out" 2>"$work/replay.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'listening port=' "$work/replay.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$work/replay.out" | head -1)
[ -n "$port" ] || { cat "$work/replay.log" >&2; exit 1; }

echo "== generating the gateway config ($work/tickgate.ini)" >&2
mport=$(( (RANDOM % 20000) + 30000 ))
cat >"$work/tickgate.ini" <<INI
[gateway]
log_level = info
feed_threads = 1
candles = 1s, 1m, 5m, 1h
[postgres]
conninfo = $TG_TEST_PG_DSN
schema = tickgate
spill_dir = $work/spill
[redis]
host = 127.0.0.1
port = $TG_TEST_REDIS_PORT
[metrics]
listen = 127.0.0.1:$mport
INI
expected=0
declare -A want
for f in "${files[@]}"; do
    name=$(basename "$f"); name=${name%.zst}; name=${name%.tgrec}
    hdr=$( (case "$f" in *.zst) zstd -dc "$f" ;; *) cat "$f" ;; esac) | head -200 | grep '^# ' || true)
    venue=$(printf '%s\n' "$hdr" | sed -n 's/^# venue: //p' | head -1)
    syms=$(printf '%s\n' "$hdr" | sed -n 's/^# symbols: //p' | head -1)
    depth=$(printf '%s\n' "$hdr" | sed -n 's/^# sent: .*"depth":\([0-9]*\).*/\1/p' | head -1)
    if ! build-release/gateway/tickgate --list-venues | grep -qx "$venue"; then
        echo "   skip $name: no $venue handler yet" >&2
        continue
    fi
    lines=$( (case "$f" in *.zst) zstd -dc "$f" ;; *) cat "$f" ;; esac) | grep -v '^#' | grep -vc '"generated":true' || true)
    want[$name]=$lines
    expected=$((expected + lines))
    cat >>"$work/tickgate.ini" <<INI
[feed $name]
venue = $venue
url = wss://127.0.0.1:$port/rec/$name
rest_url = https://127.0.0.1:$port/rec/$name
ca_file = $work/tls/cert.pem
symbols = $syms
INI
    [ -n "$depth" ] && echo "depth = $depth" >>"$work/tickgate.ini"
done

echo "== running tickgate (metrics and dashboard: http://127.0.0.1:$mport/)" >&2
build-release/gateway/tickgate --check-config --config "$work/tickgate.ini" >&2
build-release/gateway/tickgate --config "$work/tickgate.ini" 2>"$work/tickgate.log" &
gw=$!
pids+=($gw)

metric_sum() { # name [label-filter]
    awk -v n="$1" -v f="${2:-}" 'index($0,n)==1 && (f=="" || index($0,f)) {s+=$NF} END{printf "%d", s}' "$work/metrics"
}
fetch() { curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" >"$work/metrics" 2>/dev/null || : >"$work/metrics"; }
start=$(date +%s)
last=0
while :; do
    sleep 1
    kill -0 $gw 2>/dev/null || { echo "tickgate exited early:" >&2; tail -20 "$work/tickgate.log" >&2; exit 1; }
    fetch
    frames=$(metric_sum tickgate_feed_frames_total)
    rows=$(metric_sum tickgate_pg_rows_committed_total)
    pubs=$(metric_sum tickgate_redis_messages_total)
    valid=$(metric_sum tickgate_books_valid)
    books=$(metric_sum 'tickgate_books ') # the gauge alone, not _valid/_fault
    el=$(( $(date +%s) - start ))
    printf '  %4ds  frames %8d/%d (%6d/s)  books valid %3d/%-3d  pg rows %8d  redis msgs %8d\n' \
        "$el" "$frames" "$expected" $((frames - last)) "$valid" "$books" "$rows" "$pubs" >&2
    last=$frames
    done_feeds=0
    for name in "${!want[@]}"; do
        got=$(metric_sum tickgate_feed_frames_total "feed=\"$name\"")
        [ "$got" -ge "${want[$name]}" ] && done_feeds=$((done_feeds + 1))
    done
    [ "$done_feeds" -eq "${#want[@]}" ] && break
    [ "$el" -gt 900 ] && { echo; echo "demo: timeout" >&2; break; }
done
echo >&2
echo "== per feed" >&2
grep '^tickgate_feed_frames_total' "$work/metrics" | sed 's/tickgate_feed_frames_total/   frames/' >&2 || true
sleep 1
echo "== stopping tickgate (SIGTERM: flushes every event to PostgreSQL and Redis)" >&2
t0=$(date +%s%N)
kill -TERM $gw
wait $gw && rc=0 || rc=$?
t1=$(date +%s%N)
echo "   tickgate exited with $rc after $(( (t1 - t0) / 1000000 )) ms" >&2

psqlc() { psql "$TG_TEST_PG_DSN" -X -q -P pager=off "$@"; }
echo
echo "== what is in PostgreSQL (schema tickgate)"
psqlc -c "SELECT 'trades' AS table, count(*) FROM tickgate.trades UNION ALL
          SELECT 'book_snapshots', count(*) FROM tickgate.book_snapshots UNION ALL
          SELECT 'candles (closed)', count(*) FROM tickgate.candles UNION ALL
          SELECT 'gaps', count(*) FROM tickgate.gaps"
psqlc -c "SELECT venue, symbol, count(*) AS trades, min(price) AS low, max(price) AS high,
                 sum(size) AS volume
          FROM tickgate.trades_v GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 8"
psqlc -c "SELECT venue, symbol, start_ts, open, high, low, close, volume, vwap, trades
          FROM tickgate.candles_v WHERE interval = '1 minute' ORDER BY trades DESC LIMIT 5"
psqlc -c "SELECT DISTINCT ON (instr) venue, symbol, ts, bid_px[1] AS bid, ask_px[1] AS ask
          FROM tickgate.book_snapshots_v WHERE state = 1 ORDER BY instr, ts DESC LIMIT 8"
echo "== what is in Redis"
rc() { redis-cli -p "$TG_TEST_REDIS_PORT" "$@"; }
echo "   keys: $(rc --scan --pattern 'tg:*' | wc -l)"
rc --scan --pattern 'tg:book:*' | head -5 | while read -r k; do echo "   $k (ttl $(rc ttl "$k")s): $(rc get "$k" | cut -c1-160)"; done
echo
echo "== try it yourself (while the servers run, e.g. with DEMO_KEEP=1)"
echo "   psql '$TG_TEST_PG_DSN' -c \"SELECT * FROM tickgate.candles_v WHERE interval = '1 minute' ORDER BY start_ts DESC LIMIT 5\""
echo "   psql '$TG_TEST_PG_DSN' -c 'SELECT venue, symbol, ts, reason FROM tickgate.gaps_v ORDER BY ts'"
echo "   redis-cli -p $TG_TEST_REDIS_PORT --scan --pattern 'tg:*'"
echo "   redis-cli -p $TG_TEST_REDIS_PORT subscribe 'tg.trades.binance.BTCUSDT'"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
    read -r -p "servers are running; press Enter to stop them " _ || true
fi
exit $rc
