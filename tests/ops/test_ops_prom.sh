#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live gateway's /metrics against Prometheus' own tools (issue 12):
#   1. `promtool check metrics` finds no problem in /metrics (names, types, HELP, suffixes);
#   2. every metric the alert rules (tools/ops/prometheus/tickgate-alerts.yml) use is exported;
#   3. when Debian's `prometheus` is installed: a real Prometheus scrapes the gateway, loads the
#      rules, and a query (the frame rate) answers with a positive value.
# The gateway reads a recording from tickgate-replay. With TG_TEST_PG_DSN/TG_TEST_REDIS_PORT
# (tests/fixtures/services.sh) the sinks run too and their metrics are checked; without them
# the sinks are disabled and only the gateway's own metrics are.
# Usage: test_ops_prom.sh TICKGATE TICKGATE-REPLAY SOURCE_ROOT. Exit 77 (skip) without promtool.
set -u
gw=$1 replay=$2 root=$3
command -v promtool >/dev/null || { echo "SKIP: promtool not installed (apt-get install prometheus)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
rec=${TG_RECORDINGS:-$root/../shared/recordings}
file=$(find "$rec/binance" -name 'hftbacktest_spot_*.tgrec*' 2>/dev/null | sort | head -1)
[ -n "$file" ] || { echo "SKIP: no binance recording under $rec"; exit 77; }
name=$(basename "$file"); name=${name%.zst}; name=${name%.tgrec}
rules=$root/tools/ops/prometheus/tickgate-alerts.yml

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

"$replay" serve --port 0 --rate 1000 --loop 0 --hold "$file" >"$tmp/replay.out" 2>"$tmp/replay.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'listening port=' "$tmp/replay.out" && break; sleep 0.1; done
rport=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$tmp/replay.out" | head -1)
[ -n "$rport" ] || { cat "$tmp/replay.log"; echo "FAIL: replay did not start"; exit 1; }

mport=$(free_port)
sinks=0
if [ -n "${TG_TEST_PG_DSN:-}" ] && [ -n "${TG_TEST_REDIS_PORT:-}" ]; then
    sinks=1
    printf '[postgres]\nconninfo = %s\nschema = tg_ops_prom\nspill_dir = %s/spill\n' \
        "$TG_TEST_PG_DSN" "$tmp" >"$tmp/gw.ini"
    printf '[redis]\nport = %s\n' "$TG_TEST_REDIS_PORT" >>"$tmp/gw.ini"
else
    printf '[postgres]\nenabled = false\n[redis]\nenabled = false\n' >"$tmp/gw.ini"
fi
cat >>"$tmp/gw.ini" <<INI
[metrics]
listen = 127.0.0.1:$mport
[feed hft]
venue = binance
url = ws://127.0.0.1:$rport/rec/$name
rest_url = http://127.0.0.1:$rport/rec/$name
symbols = BTCUSDT
INI
"$gw" --config "$tmp/gw.ini" 2>"$tmp/gw.log" &
gwpid=$!
pids+=($gwpid)

# wait for data: frames counted and a book VALID
ok=0
for _ in $(seq 1 150); do
    if curl -sf --max-time 2 "http://127.0.0.1:$mport/metrics" >"$tmp/metrics" &&
       awk '/^tickgate_feed_frames_total/ {f+=$NF} /^tickgate_books_valid / {v=$NF}
            END {exit !(f > 0 && v > 0)}' "$tmp/metrics"; then
        ok=1
        break
    fi
    kill -0 $gwpid 2>/dev/null || break
    sleep 0.2
done
if [ $ok != 1 ]; then
    tail -20 "$tmp/gw.log"
    echo "FAIL: no frames or no VALID book on /metrics"
    exit 1
fi
echo "ok: gateway at 127.0.0.1:$mport serves $(grep -vc '^#' "$tmp/metrics") samples (sinks: $sinks)"

# 1. promtool's lint
if out=$(promtool check metrics <"$tmp/metrics" 2>&1) && [ -z "$out" ]; then
    echo "ok: promtool check metrics: clean"
else
    fail "promtool check metrics:"; echo "$out"
fi

# 2. the rules name metrics the gateway exports
for m in $(grep -o 'tickgate_[a-z0-9_]*' "$rules" | sed 's/_bucket$//' | sort -u); do
    case $m in tickgate_pg_* | tickgate_redis_* | tickgate_spill_* | *_to_redis_* | *_to_pg_*)
        [ $sinks = 1 ] || continue ;;
    esac
    if grep -q "^# TYPE $m " "$tmp/metrics"; then
        echo "ok: rules use $m: exported"
    else
        fail "the alert rules use $m, which /metrics does not export"
    fi
done

# 3. a real Prometheus scrapes it
if ! command -v prometheus >/dev/null; then
    echo "note: prometheus not installed: scrape test not run"
else
    pport=$(free_port)
    cp "$rules" "$tmp/rules.yml"
    cat >"$tmp/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
scrape_configs:
  - job_name: tickgate
    static_configs: [{targets: ['127.0.0.1:$mport']}]
YML
    prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
        --web.listen-address="127.0.0.1:$pport" >"$tmp/prom.log" 2>&1 &
    pids+=($!)
    q='sum(rate(tickgate_feed_frames_total{job="tickgate"}[5s]))'
    val=
    for _ in $(seq 1 120); do
        js=$(curl -sf --max-time 2 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$q") &&
            val=$(python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' <<<"$js")
        [ -n "$val" ] && python3 -c "import sys; sys.exit(0 if float('$val') > 0 else 1)" && break
        val=
        sleep 0.5
    done
    if [ -n "$val" ]; then
        echo "ok: prometheus: $q = $val frames/s"
    else
        tail -5 "$tmp/prom.log"; fail "prometheus: no positive answer to $q"
    fi
    up=$(curl -sf -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=up{job="tickgate"}' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
    [ "$up" = 1 ] && echo "ok: prometheus: up{job=\"tickgate\"} = 1" || fail "prometheus: up = '$up'"
    nrules=$(curl -sf "http://127.0.0.1:$pport/api/v1/rules" |
        python3 -c 'import json,sys; print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')
    want=$(grep -c '^ *- alert:' "$rules")
    [ "$nrules" = "$want" ] && echo "ok: prometheus loaded $nrules alert rules" ||
        fail "prometheus loaded '$nrules' rules, the file has $want"
fi

echo "$fails failure(s)"
[ $fails = 0 ]
