#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built-in dashboard (docs/dashboard.md) in headless Chromium against a live gateway:
# two feeds (Binance and Coinbase recordings, 1000 frames/s each, looping) whose first
# connection tickgate-replay cuts, so that the books have gap events (reconnect, resynced).
# tests/ops/ops_dashboard_check.py then checks the page: rates > 0 on the first load, the
# counters it shows against /metrics within one poll, per-feed gaps adding up to
# tickgate_book_gaps_total, the ladder, gap reasons, the clock-offset note; and saves a
# screenshot as OUTDIR/dashboard.png.
# Usage: test_ops_dashboard.sh TICKGATE TICKGATE-REPLAY SOURCE_ROOT OUTDIR. Exit 77 (skip)
# without chromium (apt-get install chromium) or the recordings.
set -u
gw=$1 replay=$2 root=$3 outdir=$4
chromium=$(command -v chromium || command -v chromium-browser) ||
    { echo "SKIP: chromium not installed (apt-get install chromium)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
# shellcheck source=tests/ops/ops_lib.sh
. "$root/tests/ops/ops_lib.sh"
ops_recording bin binance 'hftbacktest_spot_*.tgrec*'
ops_recording cb coinbase 'cryptofeed_*COINBASE*.tgrec*'

ops_start_replay "$replay" --rate 1000 --loop 0 --hold --fault drop-after=2500,times=2 "$bin" "$cb"
ops_sinks_ini tg_ops_dash >"$tmp/gw.ini"
{ ops_feed_ini binance-btcusdt "$bin" | sed 's/^symbols = .*/symbols = BTCUSDT/'
  ops_feed_ini coinbase "$cb"; } >>"$tmp/gw.ini"
MIN_VALID=2 ops_start_gateway "$gw" "$tmp/gw.ini"
# wait for the cut connections to come back (gap events: reconnect/stale, then resynced)
for _ in $(seq 1 100); do
    curl -sf --max-time 2 "http://127.0.0.1:$mport/metrics" >"$tmp/metrics" || break
    n=$(awk '/^tickgate_feed_connects_total/ && $NF >= 2 {n++} END {print n+0}' "$tmp/metrics")
    [ "$n" -ge 2 ] && break
    sleep 0.2
done
sleep 3 # a few history samples after the reconnects
echo "ok: gateway at http://127.0.0.1:$mport/ ($(grep '^tickgate_book_gaps_total' "$tmp/metrics"))"
mkdir -p "$outdir"
TMPDIR=$tmp python3 "$root/tests/ops/ops_dashboard_check.py" "$chromium" \
    "http://127.0.0.1:$mport" "$outdir/dashboard.png" || fails=$((fails + 1))
kill -0 "$gwpid" 2>/dev/null || fail "the gateway died"
echo "$fails failure(s)"
[ $fails = 0 ]
