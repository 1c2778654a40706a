#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scale load test (docs/scale.md, "10 000 instruments in one process"): the Binance spot
# BTCUSDT recording served by `tickgate-replay serve --clone N` (BTCUSDT, BTCUSDT_1 ..
# BTCUSDT_<N-1>, each with the recorded update-id chain, played in a loop), received by one
# tickgate with PER symbols per connection (one [feed] section each), PostgreSQL and Redis off.
# For each N it reports: books VALID / total when all are VALID (or at the time limit), the
# start-up time from the gateway's start to all VALID, tickgate's RSS then (VmRSS) and its peak
# (VmHWM), RSS per instrument and per connection.
# REST snapshots are the book as of the frames already sent (`serve --live-snapshots`), as a
# venue answers; --recorded-snapshots serves the one recorded snapshot instead (the old runs).
# The replay server is local, so REST snapshots are unpaced here (rest_weight_per_min =
# 4294967295); at Binance's published budget a start-up needs N * 50 / 5400 minutes (see
# docs/scale.md).
#
# usage: tools/bench/bench-scale.sh [--per PER] [--feed-ring R] [--limit S] [--settle S]
#                                    [--runs K] N...
#   --per PER       symbols per connection (default 250)
#   --feed-ring R   [gateway] feed_ring: events per connection ring (default auto: 65536 up to
#                   16 connections, then 64 MiB shared; docs/config.md)
#   --dedup W       [gateway] candle_dedup_window (default 1024: 20 B a key per instrument)
#   --limit S       give up on all VALID after S seconds (default 300)
#   --settle S      after all VALID, keep the load S seconds more before reading RSS, so every
#                   ring page has been touched (default 0: read at once)
#   --runs K        runs per N (default 1); the table shows every run
#   --recorded-snapshots  serve the recorded snapshot whatever the position (no
#                   --live-snapshots)
# Environment: BENCH_BUILD: build dir with gateway/tickgate and tools/replay/tickgate-replay
# (default build-rel, configured --buildtype=release if missing); TG_RECORDINGS
# (default ../shared/recordings). BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
per=250 ring=auto dedup=1024 limit=300 settle=0 runs=1 live=--live-snapshots
ns=()
while [ $# -gt 0 ]; do
    case $1 in
    --per) per=$2; shift 2 ;;
    --feed-ring) ring=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --dedup) dedup=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --recorded-snapshots) live=; shift ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    -*) echo "bench-scale: unknown option $1" >&2; exit 2 ;;
    *) ns+=("$1"); shift ;;
    esac
done
[ ${#ns[@]} -gt 0 ] || ns=(100 1000)
cd "$root"
bd=${BENCH_BUILD:-build-rel}
[ -f "$bd/build.ninja" ] || meson setup "$bd" --buildtype=release >/dev/null
ninja -C "$bd" -j2 gateway/tickgate tools/replay/tickgate-replay tools/replay/tickgate-replay-serve >/dev/null
gwbin=$root/$bd/gateway/tickgate
rpbin=$root/$bd/tools/replay/tickgate-replay
rec=$(realpath "${TG_RECORDINGS:-$root/../shared/recordings}")/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst

work=$(mktemp -d /tmp/tickgate-scale.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench-scale: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
log() { echo "bench-scale: $*" >&2; }
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_s() { date +%s.%N; }
metric() { awk -v m="$1" '$1 == m {print $2}' "$2" | head -1; }

printf '| N | conns | feed_ring | VALID / books | start-up to all VALID (s) | RSS (MiB) | peak RSS (MiB) | RSS / instrument (KiB) | RSS / connection (MiB) | load |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for n in "${ns[@]}"; do
    for ((r = 0; r < runs; r++)); do
        d=$work/n$n.$r
        mkdir -p "$d"
        "$rpbin" serve --port 0 --hold --quiet --loop 0 --clone "$n" --sub-settle 1000 \
            ${live:+"$live"} "$rec" >"$d/replay.out" 2>"$d/replay.log" &
        rp=$!
        pids+=("$rp")
        port=
        for _ in $(seq 200); do
            port=$(sed -n 's/^listening port=\([0-9]*\).*/\1/p' "$d/replay.out" | head -1)
            [ -n "$port" ] && break
            sleep 0.05
        done
        [ -n "$port" ] || { cat "$d/replay.log" >&2; exit 1; }
        mport=$(((RANDOM % 20000) + 30000))
        cat >"$d/tickgate.ini" <<INI
[gateway]
log_level = warn
feed_ring = $ring
candle_dedup_window = $dedup
[postgres]
enabled = false
[redis]
enabled = false
[metrics]
listen = 127.0.0.1:$mport
INI
        conns=$(((n + per - 1) / per))
        for ((c = 0; c < conns; c++)); do
            syms=
            for ((i = c * per; i < (c + 1) * per && i < n; i++)); do
                if [ "$i" = 0 ]; then s=BTCUSDT; else s=BTCUSDT_$i; fi
                syms=${syms:+$syms,}$s
            done
            cat >>"$d/tickgate.ini" <<INI
[feed scale$c]
venue = binance
url = ws://127.0.0.1:$port/stream
rest_url = http://127.0.0.1:$port
rest_weight_per_min = 4294967295
symbols = $syms
INI
        done
        t0=$(now_s)
        "$gwbin" --config "$d/tickgate.ini" 2>"$d/tickgate.log" &
        gw=$!
        pids+=("$gw")
        valid=0 total=0 el=0
        while :; do
            sleep 0.5
            kill -0 "$gw" 2>/dev/null || { log "tickgate exited early"; tail -5 "$d/tickgate.log" >&2; exit 1; }
            el=$(echo "$(now_s) - $t0" | bc)
            curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" >"$d/m" 2>/dev/null || continue
            valid=$(metric tickgate_books_valid "$d/m")
            total=$(metric tickgate_books "$d/m")
            [ "${valid:-0}" -ge "$n" ] && break
            [ "$(echo "$el > $limit" | bc)" = 1 ] && break
        done
        [ "$settle" = 0 ] || { sleep "$settle"; curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" >"$d/m" 2>/dev/null || true; }
        rss=$(kb "$gw" VmRSS) hwm=$(kb "$gw" VmHWM)
        cap=$(awk '$1 ~ /^tickgate_ring_capacity\{feed=/ {print $2; exit}' "$d/m")
        lv=$(metric tickgate_book_levels "$d/m") bb=$(metric tickgate_book_memory_bytes "$d/m")
        if [ -n "$lv" ] && [ "${lv:-0}" -gt 0 ]; then
            # the issue's memory goal: 1.5 x 16 B a level held + a few (here 4) KiB an
            # instrument + 2 MiB a connection
            log "  levels held $lv, book memory $(echo "$bb / 1048576" | bc -l | xargs printf '%.1f') MiB ($(echo "$bb / $lv" | bc -l | xargs printf '%.1f') B a level); goal 1.5 x 16 B x levels + 4 KiB x $n + 2 MiB x $conns = $(echo "(24 * $lv + 4096 * $n + 2097152 * $conns) / 1048576" | bc -l | xargs printf '%.1f') MiB against RSS $(echo "$rss / 1024" | bc -l | xargs printf '%.1f') MiB"
        fi
        printf '| %s | %s | %s | %s / %s | %s | %.1f | %.1f | %.1f | %.2f | %s |\n' "$n" "$conns" "$ring${cap:+ ($cap)}" \
            "${valid:-0}" "${total:-0}" "$(printf '%.1f' "$el")" "$(echo "$rss / 1024" | bc -l)" \
            "$(echo "$hwm / 1024" | bc -l)" "$(echo "$rss / $n" | bc -l)" \
            "$(echo "$rss / 1024 / $conns" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
        grep -E '^tickgate_feed_(rest_sent|rest_throttled|ring_full_total|events_dropped_total|ring_overflow_episodes_total)' "$d/m" | awk '{k = $1; sub(/\{.*/, "", k); s[k] += $2} END {for (k in s) printf "bench-scale:   %s %d\n", k, s[k]}' >&2 || true
        kill "$gw" "$rp" 2>/dev/null || true
        wait "$gw" 2>/dev/null || true
        wait "$rp" 2>/dev/null || true
    done
done
