#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Candles after re-delivery, end to end (issue 15 item 4): tickgate-replay drops the
# connection after 8000 frames on the first four connections, and every new connection plays
# the recording from its start again, so tickgate receives most trades several times. The
# trades table keeps each once (its key); the closed 1-minute candles in PostgreSQL must equal
# the offline rebuild (tickgate-replay books) bar for bar: trades, volume, open, high, low,
# close. Before the dedup window the first bars counted every re-delivery again.
# Usage (under tests/fixtures/services.sh): test_it_candle_redelivery.sh TICKGATE REPLAY RECS
set -u
# shellcheck source=tests/fixtures/replay_port.sh
. "$(dirname "$0")/../fixtures/replay_port.sh"
gw=$1 replay=$2 recs=$3
rec="$recs/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
[ -n "${TG_TEST_PG_DSN:-}" ] || { echo "TG_TEST_PG_DSN not set: skipped"; exit 77; }
[ -r "$rec" ] || { echo "no $rec: skipped"; exit 77; }
command -v psql >/dev/null && command -v python3 >/dev/null || { echo "no psql/python3: skipped"; exit 77; }
d=$(mktemp -d)
schema="tg_it_redeliv_$$"
rp="" gp=""
cleanup() {
    [ -n "$gp" ] && kill -TERM "$gp" 2>/dev/null && wait "$gp" 2>/dev/null
    [ -n "$rp" ] && kill "$rp" 2>/dev/null && wait "$rp" 2>/dev/null
    psql "$TG_TEST_PG_DSN" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
    rm -rf "$d"
}
trap cleanup EXIT
"$replay" serve --port 0 --quiet --hold --max --fault drop-after=8000,times=4 "$rec" \
    >"$d/replay.out" 2>"$d/replay.err" &
rp=$!
port=$(replay_port "$d/replay.out" "$d/replay.err") || exit 1
cat >"$d/gw.ini" <<INI
[gateway]
candles = 1m
[postgres]
conninfo = $TG_TEST_PG_DSN
schema = $schema
spill_dir = $d/spill
[redis]
enabled = false
[metrics]
listen = 127.0.0.1:0
$(it_binance_feed_ini "$port")
INI
"$gw" --config "$d/gw.ini" >"$d/gw.log" 2>&1 &
gp=$!
want=9757 # trades in the recording (the golden test checks this count)
n=$(it_pg_wait_count "$schema.trades" "$want")
kill -TERM "$gp"
wait "$gp"
gp=""
drops=$(grep -c 'connection closed\|connect failed' "$d/gw.log")
sent=$(grep -o ' trades=[0-9]*' "$d/gw.log" | tail -1 | cut -d= -f2)
echo "trades stored $n of $want, trade records $sent, connections lost $drops"
if [ "$n" != "$want" ] || [ "${sent:-0}" -le "$want" ]; then
    echo "FAIL: expected $want stored and re-delivered records (> $want)"; tail -5 "$d/gw.log"
    exit 1
fi
"$replay" books "$rec" --out "$d/off.json" >/dev/null 2>&1 || { echo "FAIL: books"; exit 1; }
psql "$TG_TEST_PG_DSN" -Atc "SELECT (extract(epoch FROM start_ts) * 1000)::bigint, trades,
    volume, open, high, low, close FROM $schema.candles WHERE interval = '1 minute'
    ORDER BY start_ts" >"$d/pg.txt"
python3 - "$d/off.json" "$d/pg.txt" <<'PY'
import decimal, json, sys
D = decimal.Decimal
def bars_of(o):
    if isinstance(o, dict):
        if "bars" in o:
            return o
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            r = bars_of(v)
            if r:
                return r
    return None
s = bars_of(json.load(open(sys.argv[1])))
off = list(s["bars"]) + ([s["open_bar"]] if s.get("open_bar") else [])
pg = [l.split("|") for l in open(sys.argv[2]).read().split()]
bad = 0
if len(pg) < len(s["bars"]) or len(pg) > len(off):
    print(f"FAIL: {len(pg)} candles in PostgreSQL, offline {len(s['bars'])} closed (+ open)")
    bad += 1
for b, p in zip(off, pg):
    got = (int(p[0]), int(p[1]), D(p[2]), D(p[3]), D(p[4]), D(p[5]), D(p[6]))
    want = (b["start_ms"], int(b["trades"]), D(b["volume"]), D(b["open"]), D(b["high"]),
            D(b["low"]), D(b["close"]))
    if got != want:
        print("FAIL: candle", got, "offline", want)
        bad += 1
print(f"{len(pg)} candles compared, {bad} differ")
sys.exit(1 if bad else 0)
PY
