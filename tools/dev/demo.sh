#!/usr/bin/env bash
# README command 1: the gateway's main job on the shared recordings.
#   installs what is missing, builds (release, jemalloc), starts a throwaway PostgreSQL and
#   Redis on loopback, serves the recordings over wss with tickgate-replay, runs tickgate on
#   them with a generated config, shows live progress, and ends with a report of what is now in
#   PostgreSQL and Redis (gap events by reason name) and a verdict line (PASS/FAIL: frames
#   received against the recordings, trades in PostgreSQL against the trades the feeds emitted,
#   the gateway's clean exit). Everything is stopped on exit.
# Environment: TG_RECORDINGS (default ../shared/recordings), DEMO_SPEED (replay pace multiplier,
# default 20; "max" = as fast as tickgate reads), DEMO_KEEP=1 keeps everything running (the
# gateway with its dashboard, PostgreSQL, Redis, the replay) until Enter is pressed, and prints
# how to reach each; the gateway keeps refreshing the Redis book keys meanwhile.
# DEMO_BUILD: the build dir to use (default build-release, set up here if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=tools/dev/gw_ini.sh
. tools/dev/gw_ini.sh
bash tools/dev/deps.sh
rec=${TG_RECORDINGS:-$root/../shared/recordings}
speed=${DEMO_SPEED:-20}
[ -d "$rec" ] || { echo "demo: no recordings at $rec (set TG_RECORDINGS)" >&2; exit 1; }

echo "== building (release, jemalloc)" >&2
build=${DEMO_BUILD:-build-release} # DEMO_BUILD: another (configured) build dir
if [ -f "$build/build.ninja" ]; then :; else
    meson setup "$build" --buildtype=release -Djemalloc=true >/dev/null
fi
ninja -C "$build" >/dev/null

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
"$build"/tools/replay/tickgate-replay serve --port 0 --tls --cert "$work/tls/cert.pem" \
    --key "$work/tls/key.pem" --hold --sub-settle 300 "${pace[@]}" "${files[@]}" >"$work/replay.out" 2>"$work/replay.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'listening port=' "$work/replay.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$work/replay.out" | head -1)
[ -n "$port" ] || { cat "$work/replay.log" >&2; exit 1; }

echo "== generating the gateway config ($work/tickgate.ini)" >&2
mport=$(( (RANDOM % 20000) + 30000 ))
keep=${DEMO_KEEP:-0}
gw_ini "$work/tickgate.ini" info 1 tickgate "$work/spill" "$mport"
expected=0
declare -A want used
# feed names: the venue, with the symbol when the recording has one ("binance-btcusdt"),
# numbered when a venue has several recordings ("coinbase", "coinbase-2")
feed_name() { # venue symbols -> $feed (not in a subshell: `used` must remember)
    local n=$1 k=2
    case $2 in *,*) ;; ?*) n=$1-$(tr 'A-Z/:_' 'a-z---' <<<"$2") ;; esac
    local base=$n
    while [ -n "${used[$n]:-}" ]; do n=$base-$k; k=$((k + 1)); done
    used[$n]=1
    feed=$n
}
for f in "${files[@]}"; do
    name=$(basename "$f"); name=${name%.zst}; name=${name%.tgrec}
    hdr=$( (case "$f" in *.zst) zstd -dc "$f" ;; *) cat "$f" ;; esac) | head -200 | grep '^# ' || true)
    venue=$(printf '%s\n' "$hdr" | sed -n 's/^# venue: //p' | head -1)
    syms=$(printf '%s\n' "$hdr" | sed -n 's/^# symbols: //p' | head -1)
    depth=$(printf '%s\n' "$hdr" | sed -n 's/^# sent: .*"depth":\([0-9]*\).*/\1/p' | head -1)
    if ! "$build"/gateway/tickgate --list-venues | grep -qx "$venue"; then
        echo "   skip $name: no $venue handler yet" >&2
        continue
    fi
    lines=$( (case "$f" in *.zst) zstd -dc "$f" ;; *) cat "$f" ;; esac) | grep -v '^#' | grep -vc '"generated":true' || true)
    feed_name "$venue" "$syms"
    want[$feed]=$lines
    expected=$((expected + lines))
    # stale_ms: the replay holds each connection open after its recording ends; a live feed
    # that silent would be STALE after the default 30 s, here the books stay as they ended
    cat >>"$work/tickgate.ini" <<INI
[feed $feed]
stale_ms = 3600000
venue = $venue
url = wss://127.0.0.1:$port/rec/$name
rest_url = https://127.0.0.1:$port/rec/$name
ca_file = $work/tls/cert.pem
symbols = $syms
INI
    [ -n "$depth" ] && echo "depth = $depth" >>"$work/tickgate.ini"
done

echo "== running tickgate (metrics and dashboard: http://127.0.0.1:$mport/)" >&2
"$build"/gateway/tickgate --check-config --config "$work/tickgate.ini" >&2
"$build"/gateway/tickgate --config "$work/tickgate.ini" 2>"$work/tickgate.log" &
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
echo "== per feed (frames received / in the recording)" >&2
short=()
for name in $(printf '%s\n' "${!want[@]}" | sort); do
    got=$(metric_sum tickgate_feed_frames_total "feed=\"$name\"")
    printf '   %-28s %8d / %-8d\n' "$name" "$got" "${want[$name]}" >&2
    [ "$got" -ge "${want[$name]}" ] || short+=("$name")
done
sleep 1
fetch
frames=$(metric_sum tickgate_feed_frames_total)
emitted=$(metric_sum tickgate_feed_trades_total)
books_valid=$(metric_sum tickgate_books_valid)
books_seen=$(metric_sum 'tickgate_books ')
books_fault=$(metric_sum tickgate_books_fault)
# Redis as the running gateway serves it (after a stop every book is STALE: its feed is gone)
rc() { redis-cli -p "$TG_TEST_REDIS_PORT" "$@"; }
redis_report=$(
    echo "== what is in Redis (read while tickgate ran)"
    echo "   keys: $(rc --scan --pattern 'tg:*' | wc -l)"
    { rc --scan --pattern 'tg:book:*' || true; } | sort | head -5 | while read -r k; do
        echo "   $k (ttl $(rc ttl "$k")s): $(rc get "$k" | cut -c1-160)"
    done || true # head closes the pipe early
)
psqlc() { psql "$TG_TEST_PG_DSN" -X -q -P pager=off "$@"; }
pg_trades() { psql "$TG_TEST_PG_DSN" -X -qtA -c 'SELECT count(*) FROM tickgate.trades' 2>/dev/null || echo 0; }
# wait (30 s at most) for PostgreSQL to have committed every trade or to stop growing, then
# read how many rows it ignored as duplicates (a trade sent again after a reconnect)
last_rows=-1
same=0
for _ in $(seq 1 60); do
    n=$(pg_trades)
    [ "$n" -ge "$emitted" ] && break
    if [ "$n" = "$last_rows" ]; then same=$((same + 1)); else same=0; fi
    [ "$same" -ge 4 ] && break # 2 s without a new row
    last_rows=$n
    sleep 0.5
done
fetch
dups=$(metric_sum tickgate_pg_rows_duplicate_total)
if [ "$keep" = 1 ]; then
    rc=0
else
    echo "== stopping tickgate (SIGTERM: flushes every event to PostgreSQL and Redis)" >&2
    t0=$(date +%s%N)
    kill -TERM $gw
    wait $gw && rc=0 || rc=$?
    t1=$(date +%s%N)
    echo "   tickgate exited with $rc after $(( (t1 - t0) / 1000000 )) ms" >&2
fi
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
# gap events by reason name (tickgate.gaps stores BOOK_GAP_* numbers, book/book_out.h)
gaps_sql="WITH g AS (SELECT venue, symbol, recv_ts, reason AS r,
      (ARRAY['sequence','checksum','crossed','reconnect','stale','resynced','bad_event','fault'])[reason] AS reason,
      (ARRAY['RESYNCING','VALID','STALE','FAULT'])[state + 1] AS book_now FROM tickgate.gaps_v)"
echo "== gap events by reason (a gap event is a change of a book's state, not lost data by itself)"
psqlc -c "$gaps_sql SELECT reason, count(*) AS events, count(DISTINCT (venue, symbol)) AS books,
          CASE r WHEN 6 THEN 'book VALID after a snapshot: one per connection, more where a venue resends full books'
                 WHEN 1 THEN 'exchange sequence skipped: the book waited for a new snapshot'
                 WHEN 4 THEN 'connection re-established: the book waited for a new snapshot'
                 WHEN 5 THEN 'feed silent or disconnected: book marked STALE'
                 WHEN 2 THEN 'venue checksum mismatch: resync'
                 WHEN 3 THEN 'crossed book after a message: resync'
                 WHEN 7 THEN 'an event the book could not apply'
                 WHEN 8 THEN 'a value could not be held exactly: book FAULT' END AS meaning
          FROM g GROUP BY reason, r ORDER BY events DESC"
echo "== the first gap events, one row per event"
psqlc -c "$gaps_sql SELECT nullif(recv_ts, 'epoch') AS recv_ts, venue, symbol, reason, book_now
          FROM g ORDER BY recv_ts, venue, symbol LIMIT 12"
echo "$redis_report"
echo

# the verdict: what was compared, PASS only if all of it holds
rows=$(pg_trades)
why=()
[ ${#short[@]} = 0 ] || why+=("feeds short of their recording: ${short[*]}")
# equal, or short by no more than the duplicate rows PostgreSQL ignored
[ "$rows" -le "$emitted" ] && [ $((emitted - rows)) -le "$dups" ] ||
    why+=("PostgreSQL holds $rows trades, the feeds emitted $emitted ($dups duplicate rows ignored)")
[ "$rc" = 0 ] || why+=("tickgate exited $rc")
what="${#want[@]} feeds: frames received $frames/$expected in the recordings, $rows/$emitted trades in PostgreSQL$([ "$rows" = "$emitted" ] || echo " (the rest: duplicates after reconnects, $dups rows ignored)"), books VALID $books_valid/$books_seen (FAULT $books_fault: a value no int64 scale holds, docs/design.md), gap events $(metric_sum tickgate_book_gaps_total)"
if [ ${#why[@]} = 0 ]; then
    verdict="PASS: $what$([ "$keep" = 1 ] || echo ", tickgate exited 0")"
else
    verdict="FAIL: $(IFS=';'; echo "${why[*]}") ($what)"
fi

if [ "$keep" = 1 ]; then
    echo "== everything is still running (DEMO_KEEP=1); try:"
    echo "   dashboard:  http://127.0.0.1:$mport/   (metrics: /metrics, health: /health)"
    echo "   psql '$TG_TEST_PG_DSN' -c \"SELECT * FROM tickgate.candles_v WHERE interval = '1 minute' ORDER BY start_ts DESC LIMIT 5\""
    echo "   psql '$TG_TEST_PG_DSN' -c 'SELECT venue, symbol, recv_ts, reason FROM tickgate.gaps_v ORDER BY recv_ts'"
    echo "   redis-cli -p $TG_TEST_REDIS_PORT --scan --pattern 'tg:book:*'   (kept fresh by the running gateway)"
    echo "   redis-cli -p $TG_TEST_REDIS_PORT subscribe 'tg.trades.binance.BTCUSDT'"
    echo "   the replayed exchange: wss://127.0.0.1:$port/rec/<recording>; the config: $work/tickgate.ini"
    echo
    echo "$verdict"
    read -r -p "press Enter to stop them all " _ || true
    kill -TERM $gw
    wait $gw || rc=$?
    echo "tickgate exited with $rc"
else
    echo "== to keep the gateway (dashboard), PostgreSQL and Redis running and query them: DEMO_KEEP=1 $0"
    echo
    echo "$verdict"
fi
[ ${#why[@]} = 0 ] && [ "$rc" = 0 ]
