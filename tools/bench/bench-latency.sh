#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Latency benchmark (docs/latency.md): tickgate's receive -> ... -> Redis acknowledged per stage
# and record class, next to a reference measured in the same run, at fixed frame rates, over ws
# and wss. Redis on loopback, PostgreSQL off (the reference has no database either).
#
# For each transport and rate, two runs one after the other, each against a fresh
# tickgate-replay server serving the recording at --rate R (or --max) on one connection:
#   ref:      tickgate-bench-latency (one thread: lws client + pipelined hiredis PUBLISH of
#             every frame; receive -> written, receive -> acknowledged; the first 100 frames
#             are not measured);
#   tickgate: the daemon; /metrics read once the stream runs (> 100 frames) and at the end,
#             quantiles from the difference of the two (the warm-up is left out the same way).
# Each run lasts min(--seconds, frames/rate + 2 s). Then tickgate's idle CPU: the connection
# stays open (--hold) with nothing on it, CPU seconds over --idle seconds, per minute.
# Quantiles are upper bounds of log-linear buckets (<= 6.25 % above the true value).
#
# usage: tools/bench/bench-latency.sh [--rates "100 1000 10000 50000 max"] [--transports "ws wss"]
#            [--seconds S (20)] [--idle S (60)] [--out DIR] [--rec FILE] [--venue V --symbols S]
#            [--spin-us N (tickgate [gateway] spin_us)] [--extra 'KEY = VALUE' (more [gateway])]
# Programs: from build-lat-rel/ (meson release build) unless BENCH_RUN is set: then
# "$BENCH_RUN PROGRAM ARGS" runs each one (the device bundle: BENCH_RUN=.devbundle/run), and
# redis-server too. BENCH_CERT=DIR holds cert.pem/key.pem (else made with gen-test-cert.sh).
# Output: DIR/latency.md (the table), DIR/raw/ (metrics snapshots, logs).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rates="100 1000 10000 50000 max"
transports="ws wss"
seconds=20
idle=60
out=${OUT:-$PWD/bench-latency}
rec=${TG_RECORDINGS:-$root/../shared/recordings}/binance-futures/hftbacktest_usdm_btcusdt_20240808.tgrec.zst
venue=binance-futures
symbols=BTCUSDT
frames_in_rec=93950
spin_us=
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --rates) rates=$2; shift 2 ;;
    --transports) transports=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rec) rec=$2; shift 2 ;;
    --venue) venue=$2; shift 2 ;;
    --symbols) symbols=$2; shift 2 ;;
    --frames) frames_in_rec=$2; shift 2 ;;
    --spin-us) spin_us=$2; shift 2 ;;
    --extra) extra+=("$2"); shift 2 ;;
    -h | --help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-latency: unknown option $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$out/raw"
out=$(cd "$out" && pwd)
raw=$out/raw
log() { echo "bench-latency: $*" >&2; }

bin=${BENCH_BIN:-$root/build-lat-rel}
# prog execs: call it in a subshell, "(prog ...)" or "(prog ...) &", so $! is the program's pid
prog() {
    local p=$1; shift
    # a bundle runs programs through its own loader: `serve` is tickgate-replay-serve's (the
    # program tickgate-replay would execute, docs/replay.md "Program start")
    if [ -n "${BENCH_RUN:-}" ]; then
        [ "$p" = tickgate-replay ] && p=tickgate-replay-serve
        exec $BENCH_RUN "$p" "$@"
    fi
    case $p in
    tickgate) exec "$bin/gateway/tickgate" "$@" ;;
    tickgate-replay) exec "$bin/tools/replay/tickgate-replay" "$@" ;;
    tickgate-bench-latency) exec "$bin/tools/bench/tickgate-bench-latency" "$@" ;;
    *) exec "$p" "$@" ;;
    esac
}

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT INT TERM

# Redis
rport=$(((RANDOM % 20000) + 20000))
mkdir -p "$raw/redis"
(prog redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$raw/redis" \
    --daemonize no --logfile "$raw/redis/log") &
pids+=($!)
for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$rport) 2>/dev/null && break
    sleep 0.05
done

# TLS certificate
cert=${BENCH_CERT:-$raw/tls}
[ -f "$cert/cert.pem" ] || bash "$root/tools/replay/gen-test-cert.sh" "$cert" >/dev/null

# GET http://127.0.0.1:PORT/metrics with bash only (no curl on the device)
scrape() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' >&3
    sed '1,/^\r*$/d' <&3 >"$2"
    exec 3<&-
}

# start the replay server: serve TRANSPORT RATE DIR -> port in $rp_port, pid in $rp_pid
serve() {
    local tls=() pace=(--rate "$2")
    [ "$1" = wss ] && tls=(--tls --cert "$cert/cert.pem" --key "$cert/key.pem")
    [ "$2" = max ] && pace=(--max)
    (prog tickgate-replay serve --port 0 "${tls[@]}" --hold --sub-settle 100 --quiet "${pace[@]}" \
        "$rec" >"$3/replay.out" 2>"$3/replay.log") &
    rp_pid=$!
    pids+=($rp_pid)
    rp_port=
    for _ in $(seq 1 200); do
        rp_port=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$3/replay.out" 2>/dev/null | head -1)
        [ -n "$rp_port" ] && return 0
        sleep 0.05
    done
    log "replay server did not start"; cat "$3/replay.log" >&2
    return 1
}

# quantile of the difference of two metrics snapshots:
# qd A B NAME FILTER Q -> "count p" (p in us, bucket upper bound; "inf"; "-" without samples)
# Sparse buckets (gw_metrics.c) are exact: a bucket left out is empty, so a series' cumulative
# count at any bound is its value at the largest bound emitted at or below it.
qd() {
    awk -v name="$3_bucket{" -v filt="$4" -v q="$5" '
        function num(s) { return s == "+Inf" ? 1e300 : s + 0 }
        index($0, name) == 1 && $0 ~ filt {
            f = (FNR == NR) ? 1 : 2
            le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le)
            s = $0; sub(/,?le=".*/, "", s)
            k = ++n[f, s]; L[f, s, k] = num(le); V[f, s, k] = $NF + 0; S[s] = 1
            if (f == 2) U[num(le)] = 1
        }
        function cum(f, s, x,   i, v) { v = 0; for (i = 1; i <= n[f, s]; i++) if (L[f, s, i] <= x) v = V[f, s, i]; return v }
        END {
            m = 0; for (x in U) u[++m] = x + 0
            for (i = 2; i <= m; i++) { t = u[i]; for (j = i - 1; j >= 1 && u[j] > t; j--) u[j + 1] = u[j]; u[j + 1] = t }
            for (i = 1; i <= m; i++) { c[i] = 0; for (s in S) c[i] += cum(2, s, u[i]) - cum(1, s, u[i]) }
            tot = m ? c[m] : 0
            if (tot <= 0) { print "0 -"; exit }
            for (i = 1; i <= m; i++) if (c[i] >= q * tot) { if (u[i] >= 1e299) print tot, "inf"; else printf "%d %.1f\n", tot, u[i] * 1e6; exit }
        }' "$1" "$2"
}

run_ref() { # TRANSPORT RATE DIR DURATION
    serve "$1" "$2" "$3" || return 1
    (prog tickgate-bench-latency --url "$1://127.0.0.1:$rp_port/rec/$(basename "$rec" .zst | sed 's/\.tgrec$//')" \
        --redis-port "$rport" --seconds "$4" --skip 100 >"$3/ref.out" 2>"$3/ref.log")
    kill "$rp_pid" 2>/dev/null; wait "$rp_pid" 2>/dev/null
}

run_gw() { # TRANSPORT RATE DIR DURATION [IDLE]
    serve "$1" "$2" "$3" || return 1
    local mport=$(((RANDOM % 20000) + 40000)) name http=http
    name=$(basename "$rec" .zst); name=${name%.tgrec}
    [ "$1" = wss ] && http=https
    {
        echo "[gateway]"
        echo "log_level = warn"
        echo "candles = 1s, 1m"
        [ -n "$spin_us" ] && echo "spin_us = $spin_us"
        for e in "${extra[@]}"; do echo "$e"; done
        echo "[postgres]"
        echo "enabled = false"
        echo "[redis]"
        echo "host = 127.0.0.1"
        echo "port = $rport"
        echo "[metrics]"
        echo "listen = 127.0.0.1:$mport"
        echo "[feed $name]"
        echo "venue = $venue"
        echo "url = $1://127.0.0.1:$rp_port/rec/$name"
        echo "rest_url = $http://127.0.0.1:$rp_port/rec/$name"
        [ "$1" = wss ] && echo "ca_file = $cert/cert.pem"
        echo "symbols = $symbols"
        echo "stale_ms = 3600000" # the idle measurement must not see a stale reconnect (30 s)
    } >"$3/tickgate.ini"
    (prog tickgate --config "$3/tickgate.ini" 2>"$3/tickgate.log") &
    local gw=$!
    pids+=($gw)
    local t0=$SECONDS fr=0
    : >"$3/m0"
    while [ $((SECONDS - t0)) -lt 30 ]; do # the stream runs: first snapshot
        sleep 0.05
        scrape "$mport" "$3/m0" 2>/dev/null || continue
        fr=$(awk '/^tickgate_feed_frames_total/ {f += $NF} END {print f + 0}' "$3/m0")
        [ "$fr" -gt 100 ] && break
    done
    sleep "$4"
    scrape "$mport" "$3/m1"
    if [ -n "${5:-}" ]; then # idle CPU: nothing arrives any more (the pass ended, --hold)
        local hz c0 c1
        hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
        local f0=-1 f1=0 n=0 # wait until no frame arrived for 2 s (the pass has ended)
        while [ "$n" -lt 120 ]; do
            scrape "$mport" "$3/m2" 2>/dev/null
            f1=$(awk '/^tickgate_feed_frames_total/ {f += $NF} END {print f + 0}' "$3/m2")
            [ "$f1" = "$f0" ] && break
            f0=$f1 n=$((n + 1))
            sleep 2
        done
        c0=$(awk '{print $14 + $15}' "/proc/$gw/stat")
        sleep "$5"
        c1=$(awk '{print $14 + $15}' "/proc/$gw/stat")
        awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$5" \
            'BEGIN {printf "%.4f\n", (b - a) / hz * 60 / s}' >"$3/idle_cpu_s_per_min"
        scrape "$mport" "$3/m2"
    fi
    kill -TERM "$gw" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$gw" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gw" 2>/dev/null; wait "$gw" 2>/dev/null
    kill "$rp_pid" 2>/dev/null; wait "$rp_pid" 2>/dev/null
}

md=$out/latency.md
{
    echo "# Latency benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo "Command: tools/bench/bench-latency.sh --rates \"$rates\" --transports \"$transports\" --seconds $seconds --idle $idle${spin_us:+ --spin-us $spin_us}"
    echo "Recording: $(basename "$rec") ($venue $symbols), one connection; Redis on loopback, PostgreSQL off."
    echo "p50 / p99 / p99.9 in us (upper bounds of log-linear buckets, <= 6.25 % high); n = samples."
    echo
    echo "| transport | rate | path | n | p50 | p99 | p99.9 | ref n | ref p50 | ref p99 | ref p99.9 | p99 ratio |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$md"

last_t=${transports##* } last_r=${rates##* }
for t in $transports; do
    for r in $rates; do
        d=$raw/$t-$r
        mkdir -p "$d"
        if [ "$r" = max ]; then dur=3; else dur=$((frames_in_rec / r + 2)); fi
        [ "$dur" -gt "$seconds" ] && dur=$seconds
        log "$t rate $r: reference ($dur s)"
        run_ref "$t" "$r" "$d" "$dur"
        log "$t rate $r: tickgate ($dur s)"
        if [ "$t" = "$last_t" ] && [ "$r" = "$last_r" ] && [ "$idle" -gt 0 ]; then
            run_gw "$t" "$r" "$d" "$dur" "$idle"
        else
            run_gw "$t" "$r" "$d" "$dur"
        fi
        read -r rn r50 r99 r999 < <(awk '$1 == "ref" && $2 == "acked" {print $3, $4, $5, $6}' "$d/ref.out")
        read -r wn w50 w99 w999 < <(awk '$1 == "ref" && $2 == "written" {print $3, $4, $5, $6}' "$d/ref.out")
        row() { # LABEL NAME FILTER [REF: acked|written]
            local a b c n
            read -r n a < <(qd "$d/m0" "$d/m1" "$2" "$3" 0.5)
            read -r _ b < <(qd "$d/m0" "$d/m1" "$2" "$3" 0.99)
            read -r _ c < <(qd "$d/m0" "$d/m1" "$2" "$3" 0.999)
            local rn_=- r50_=- r99_=- r999_=- ratio=-
            case ${4:-} in
            acked) rn_=$rn r50_=$r50 r99_=$r99 r999_=$r999 ;;
            written) rn_=$wn r50_=$w50 r99_=$w99 r999_=$w999 ;;
            esac
            if [ -n "${4:-}" ] && [ "$b" != - ] && [ "$b" != inf ] && [ -n "$r99_" ] && [ "$r99_" != - ]; then
                ratio=$(awk -v a="$b" -v r="$r99_" 'BEGIN {if (r > 0) printf "%.2f", a / r; else print "-"}')
            fi
            echo "| $t | $r | $1 | $n | $a | $b | $c | $rn_ | $r50_ | $r99_ | $r999_ | $ratio |" >>"$md"
        }
        S=tickgate_latency_stage_seconds
        row "receive -> book popped" $S 'stage="book_popped"'
        row "receive -> book applied" tickgate_latency_receive_to_book_seconds ''
        for k in trade book candle; do
            row "receive -> sink ring ($k)" $S "stage=\"sink_pushed\",kind=\"$k\""
            row "receive -> redis popped ($k)" $S "stage=\"redis_popped\",kind=\"$k\""
            row "receive -> PUBLISH written ($k)" $S "stage=\"redis_written\",kind=\"$k\"" written
            row "receive -> PUBLISH acked ($k)" $S "stage=\"redis_acked\",kind=\"$k\"" acked
        done
        row "receive -> PUBLISH acked (timer-made)" $S 'stage="redis_acked",kind="timer"'
        row "builder push -> redis popped (trade)" tickgate_latency_redis_ring_seconds 'kind="trade"'
        row "deliberate: book_min_gap" tickgate_deliberate_delay_seconds 'what="book_min_gap"'
        row "deliberate: forming_min_gap" tickgate_deliberate_delay_seconds 'what="forming_min_gap"'
        [ -f "$d/idle_cpu_s_per_min" ] && idle_cpu=$(cat "$d/idle_cpu_s_per_min")
    done
done
{
    echo
    [ -n "${idle_cpu:-}" ] && echo "Idle tickgate (connection open, nothing arriving, ${idle} s): ${idle_cpu} CPU s per minute."
} >>"$md"
cat "$md"
