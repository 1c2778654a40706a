#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live gateway's /metrics against Prometheus' own tools (issue 12):
#   1. `promtool check metrics` finds no problem in /metrics (names, types, HELP, suffixes);
#   2. every metric the alert rules (tools/ops/prometheus/tickgate-alerts.yml) use is exported;
#   3. when Debian's `prometheus` is installed: a real Prometheus scrapes the gateway, loads the
#      rules, and a query (the frame rate) answers with a positive value;
#   4. every expression of the Grafana dashboard (tools/ops/grafana/tickgate.json) is accepted
#      by that Prometheus and names only exported metrics (tests/ops/ops_grafana_check.py).
# The gateway reads a recording from tickgate-replay. With TG_TEST_PG_DSN/TG_TEST_REDIS_PORT
# (tests/fixtures/services.sh) the sinks run too and their metrics are checked; without them
# the sinks are disabled and only the gateway's own metrics are.
# Usage: test_ops_prom.sh TICKGATE TICKGATE-REPLAY SOURCE_ROOT. Exit 77 (skip) without promtool.
set -u
gw=$1 replay=$2 root=$3
command -v promtool >/dev/null || { echo "SKIP: promtool not installed (apt-get install prometheus)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
# shellcheck source=tests/ops/ops_lib.sh
. "$root/tests/ops/ops_lib.sh"
ops_recording file binance 'hftbacktest_spot_*.tgrec*'
rules=$root/tools/ops/prometheus/tickgate-alerts.yml

ops_start_replay "$replay" --rate 1000 --loop 0 --hold "$file"
{ printf '[gateway]\nname = prom-a.1\n'; ops_sinks_ini tg_ops_prom; } >"$tmp/gw.ini"
ops_feed_ini hft "$file" | sed 's/^symbols = .*/symbols = BTCUSDT/' >>"$tmp/gw.ini"
ops_start_gateway "$gw" "$tmp/gw.ini"
echo "ok: gateway at 127.0.0.1:$mport serves $(grep -vc '^#' "$tmp/metrics") samples (sinks: $sinks)"

# 0. the instance's name in /metrics, /health, every log line and PostgreSQL's application_name
if grep -q '^tickgate_instance_info{instance="prom-a.1",version="[0-9.]*"} 1$' "$tmp/metrics"; then
    echo "ok: tickgate_instance_info names the instance"
else
    fail "no tickgate_instance_info{instance=\"prom-a.1\"} 1 in /metrics"
fi
if curl -s --max-time 2 "http://127.0.0.1:$mport/health" | grep -q '^{"instance":"prom-a.1",'; then
    echo "ok: /health names the instance"
else
    fail "/health does not begin with \"instance\":\"prom-a.1\""
fi
nlog=$(grep -c . "$tmp/gw.log")
if [ "$nlog" -gt 0 ] && [ "$(grep -c ' instance=prom-a.1$' "$tmp/gw.log")" = "$nlog" ]; then
    echo "ok: all $nlog log lines end with instance=prom-a.1"
else
    fail "log lines without instance=prom-a.1:"; grep -v ' instance=prom-a.1$' "$tmp/gw.log" | head -3
fi
if [ $sinks = 1 ]; then
    n=$(psql "$TG_TEST_PG_DSN" -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tickgate-writer:prom-a.1'")
    row=$(psql "$TG_TEST_PG_DSN" -Atc "SELECT name FROM tg_ops_prom.instances")
    if [ "$n" = 1 ] && [ "$row" = prom-a.1 ]; then
        echo "ok: PostgreSQL sees application_name tickgate-writer:prom-a.1 and its instances row"
    else
        fail "pg_stat_activity: $n writer connections named tickgate-writer:prom-a.1; instances: '$row'"
    fi
fi

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
    pport=$(ops_free_port)
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

    # 4. the Grafana dashboard: every expression parses (the server evaluates it) and names
    #    only metrics the gateway exports; the panels that need no sink answer with data.
    python3 "$root/tests/ops/ops_grafana_check.py" "$root/tools/ops/grafana/tickgate.json" \
        "http://127.0.0.1:$pport" "$tmp/metrics" "$sinks" || fail "grafana dashboard (above)"
fi

echo "$fails failure(s)"
[ $fails = 0 ]
