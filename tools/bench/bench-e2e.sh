#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end benchmarks of the gateway daemon (docs/BENCHMARKS.md, "## End to end").
#
# Builds the release binaries if needed, starts a throwaway PostgreSQL and Redis
# (tests/fixtures/services.sh) and a tickgate-replay server (wss, --hold) in a temp dir, runs
# tickgate on them and reads its /metrics every 0.05 s. Measures, median of RUNS runs each:
#   A. throughput at --max (all recordings at once; the two big Binance files alone):
#      frames/s and events/s from the first frame seen to the poll at which every feed has all
#      its frames, both rings are empty and pg rows committed stop growing for 0.3 s (polls
#      every 0.05 s); tickgate CPU time (user+sys);
#      peak RSS (VmHWM) of tickgate and of the replay server; SIGTERM -> exit time.
#   B. the in-process path, `tickgate-replay books FILE` (no sockets, no servers) on the same
#      files (its time includes reading and zstd-decompressing the file).
#   C. the peer (tardis-dev, node) `full` median time per file, summed over the same files.
#   D. latency at a fixed rate: the big Binance futures file at --rate R (frames/s on its one
#      connection); p50/p99/p99.9 of receive->book, ->pg, ->redis from the cumulative
#      histogram buckets (upper bound of the bucket holding the quantile; bounds are powers of
#      two of 1 us, so each figure is "<= bound" and within a factor 2 of the truth).
# Everything is stopped and removed on exit.
#
# usage: tools/bench/bench-e2e.sh [--runs N] [--rate R]... [--out FILE.md] [--no-peer]
#   --runs N   runs per configuration (default 3)
#   --rate R   latency run(s) at R frames/s (repeatable; default 20000)
#   --out F    markdown summary (default: bench-e2e.md in the current directory)
#   --parts P  which of A B C D to run (default ABCD; the report shows what ran)
# Environment: BENCH_REPLAY_BIN overrides the replay server binary (A/B runs); BENCH_ATTACH='CMD {}' runs CMD on each tickgate (its pid for {}, the replay
# server's for {rp}) and stops it
# with SIGINT before the SIGTERM (perf record -g -p {} -o F, strace -c -f -p {}); BENCH_KEEP=1 keeps the temp dir (metrics, logs of every run); TG_RECORDINGS (default ../shared/recordings), TG_PEER (peer dir with
# node_modules; default /tmp/venA-peer, else ../shared/peer).
set -euo pipefail
cmdline="tools/bench/bench-e2e.sh $*"
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/dev/gw_ini.sh
. "$root/tools/dev/gw_ini.sh"
runs=3
rates=()
out=$PWD/bench-e2e.md
peer_on=1
parts=ABCD
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --rate) rates+=("$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --no-peer) peer_on=0; shift ;;
    --parts) parts=$2; shift 2 ;;
    -h | --help) awk 'NR > 2 && /^#/ {sub(/^# ?/, ""); print; next} NR > 2 {exit}' "$0"; exit 0 ;;
    *) echo "bench-e2e: unknown option $1" >&2; exit 2 ;;
    esac
done
[ ${#rates[@]} -gt 0 ] || rates=(20000)
cd "$root"
rec=${TG_RECORDINGS:-$root/../shared/recordings}
rec=$(realpath "$rec")
peer=${TG_PEER:-/tmp/venA-peer}
[ -d "$peer/node_modules" ] || peer=$root/../shared/peer
[ -d "$peer/node_modules" ] || peer_on=0

if [ ! -f build-release/build.ninja ]; then
    meson setup build-release --buildtype=release -Djemalloc=true >/dev/null
fi
ninja -C build-release gateway/tickgate tools/replay/tickgate-replay tools/replay/tickgate-replay-serve >/dev/null
gwbin=$root/build-release/gateway/tickgate
rpbin=${BENCH_REPLAY_BIN:-$root/build-release/tools/replay/tickgate-replay}

work=$(mktemp -d /tmp/tickgate-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    tests/fixtures/services.sh stop "$work/svc" >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench-e2e: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
log() { echo "bench-e2e: $*" >&2; }
median() { sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"} else if(NR%2){print v[(NR+1)/2]} else {printf "%.6g\n",(v[NR/2]+v[NR/2+1])/2}}'; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_s() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

log "starting PostgreSQL and Redis in $work/svc"
tests/fixtures/services.sh start "$work/svc" >"$work/svc.env"
# shellcheck disable=SC1091
. "$work/svc.env"
bash tools/replay/gen-test-cert.sh "$work/tls" >/dev/null

mapfile -t all_files < <(find "$rec" -type f \( -name '*.tgrec' -o -name '*.tgrec.zst' \) | sort)
big_files=("$rec/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
    "$rec/binance-futures/hftbacktest_usdm_btcusdt_20240808.tgrec.zst")
lat_file=$rec/binance-futures/hftbacktest_usdm_btcusdt_20240808.tgrec.zst

# Per file: name venue symbols depth frames (data lines, minus generated ones).
declare -A f_name f_venue f_syms f_depth f_frames
cat_rec() { case $1 in *.zst) zstd -dc "$1" ;; *) cat "$1" ;; esac; }
for f in "${all_files[@]}"; do
    n=$(basename "$f"); n=${n%.zst}; n=${n%.tgrec}
    hdr=$(cat_rec "$f" | head -200 | grep '^# ' || true)
    f_name[$f]=$n
    f_venue[$f]=$(printf '%s\n' "$hdr" | sed -n 's/^# venue: //p' | head -1)
    f_syms[$f]=$(printf '%s\n' "$hdr" | sed -n 's/^# symbols: //p' | head -1)
    f_depth[$f]=$(printf '%s\n' "$hdr" | sed -n 's/^# sent: .*"depth":\([0-9]*\).*/\1/p' | head -1)
    f_frames[$f]=$(cat_rec "$f" | grep -v '^#' | grep -vc '"generated":true' || true)
done
venues=$("$gwbin" --list-venues)
usable() { grep -qx "${f_venue[$1]}" <<<"$venues"; }

# ---- one gateway run: run_gw TAG PACE-ARGS... -- FILES... ; appends to $work/res.<TAG>
run_gw() {
    local tag=$1; shift
    local pace=()
    while [ "$1" != -- ]; do pace+=("$1"); shift; done
    shift
    local files=() f
    for f in "$@"; do usable "$f" && files+=("$f"); done
    local d=$work/run.$tag.$RANDOM
    mkdir -p "$d"
    "$rpbin" serve --port 0 --tls --cert "$work/tls/cert.pem" --key "$work/tls/key.pem" --hold \
        --sub-settle 300 --quiet "${pace[@]}" "${files[@]}" >"$d/replay.out" 2>"$d/replay.log" &
    local rp=$!
    pids+=("$rp")
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$d/replay.out" 2>/dev/null | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { cat "$d/replay.log" >&2; return 1; }
    local mport=$(((RANDOM % 20000) + 30000))
    gw_ini "$d/tickgate.ini" warn "${BENCH_FEED_THREADS:-1}" "b_${tag}_$RANDOM" "$d/spill" "$mport"
    local want=0
    for f in "${files[@]}"; do
        want=$((want + f_frames[$f]))
        cat >>"$d/tickgate.ini" <<INI
[feed ${f_name[$f]}]
venue = ${f_venue[$f]}
url = wss://127.0.0.1:$port/rec/${f_name[$f]}
rest_url = https://127.0.0.1:$port/rec/${f_name[$f]}
ca_file = $work/tls/cert.pem
symbols = ${f_syms[$f]}
INI
        [ -n "${f_depth[$f]}" ] && echo "depth = ${f_depth[$f]}" >>"$d/tickgate.ini"
    done
    "$gwbin" --config "$d/tickgate.ini" 2>"$d/tickgate.log" &
    local gw=$!
    pids+=("$gw")
    local perfp=
    if [ -n "${BENCH_ATTACH:-}" ]; then # diagnosis: e.g. BENCH_ATTACH='perf record -g -p {} -o F'
        local cmd=${BENCH_ATTACH//\{rp\}/$rp}
        bash -c "${cmd//\{\}/$gw}" >"$d/attach.log" 2>&1 &
        perfp=$!
    fi
    local t0 el frames events rows pgq rdq
    t0=$(now_s)
    : >"$d/series"
    while :; do
        sleep 0.05
        kill -0 $gw 2>/dev/null || { log "tickgate exited early"; tail -5 "$d/tickgate.log" >&2; return 1; }
        curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" >"$d/m" 2>/dev/null || continue
        el=$(echo "$(now_s) - $t0" | bc)
        read -r frames events rows pgq rdq < <(awk '
            /^tickgate_feed_frames_total/ {f+=$NF}
            /^tickgate_feed_events_total/ {e+=$NF}
            /^tickgate_pg_rows_committed_total/ {r+=$NF}
            /^tickgate_ring_depth\{ring="postgres"/ {pq=$NF}
            /^tickgate_ring_depth\{ring="redis"/ {rq=$NF}
            END {printf "%d %d %d %d %d\n", f, e, r, pq, rq}' "$d/m")
        echo "$el $frames $events $rows $pgq $rdq" >>"$d/series"
        if [ "$frames" -ge "$want" ] && [ "$pgq" -eq 0 ] && [ "$rdq" -eq 0 ]; then
            # done when rows committed did not grow for 1 s after all frames arrived
            if [ -n "${quiet_since:-}" ] && [ "$rows" -eq "$last_rows" ]; then
                [ "$(echo "$el - $quiet_since > 1.0" | bc)" = 1 ] && break
            else
                quiet_since=$el
                last_rows=$rows
            fi
            [ -n "${stable_since:-}" ] || stable_since=$el
        fi
        [ -n "${stable_since:-}" ] && [ "$(echo "$el - $stable_since > 5" | bc)" = 1 ] && break
        [ "$(echo "$el > 900" | bc)" = 1 ] && { log "timeout"; break; }
    done
    unset stable_since quiet_since last_rows
    cp "$d/m" "$d/final.metrics"
    local gw_hwm rp_hwm gw_cpu
    gw_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$gw/stat")
    gw_hwm=$(hwm_kb $gw)
    local rp_cpu
    rp_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$rp/stat")
    # per thread: name, cpu s, voluntary context switches (sleep/wake churn)
    local th=""
    for t in /proc/$gw/task/*; do
        th+="$(cat "$t/comm"):$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "$t/stat")s/$(awk '/^voluntary_ctxt_switches/{print $2}' "$t/status")cs "
    done
    rp_hwm=$(hwm_kb $rp)
    local ts te tf
    ts=$(awk '$2>0 {print $1; exit}' "$d/series")
    tf=$(awk -v w="$want" '$2>=w {print $1; exit}' "$d/series")
    # end: first poll with every frame in and both rings empty after which rows committed do not
    # grow for 0.3 s (> the 200 ms batch age). Later single rows are timer-driven (periodic
    # book snapshots), not throughput.
    te=$(awk -v w="$want" '{t[NR]=$1; f[NR]=$2; r[NR]=$4; pq[NR]=$5; rq[NR]=$6}
        END { for (i=1;i<=NR;i++) { if (f[i]<w || pq[i] || rq[i]) continue
                  ok=1; for (j=i+1;j<=NR && t[j]<=t[i]+0.3;j++) if (r[j]!=r[i]) ok=0
                  if (ok && j<=NR) {print t[i]; exit} } print t[NR] }' "$d/series")
    if [ -n "$perfp" ]; then kill -INT $perfp 2>/dev/null || true; wait $perfp || true; fi
    local t1 t2 rc=0
    t1=$(now_s)
    kill -TERM $gw
    wait $gw || rc=$?
    t2=$(now_s)
    kill -TERM $rp 2>/dev/null || true
    wait $rp 2>/dev/null || true
    local stop_ms
    stop_ms=$(echo "($t2 - $t1) * 1000" | bc)
    local dt dtf
    dt=$(printf '%.3f' "$(echo "$te - $ts" | bc)")
    dtf=$(printf '%.3f' "$(echo "$tf - $ts" | bc)")
    stop_ms=$(printf '%.0f' "$stop_ms")
    printf '%s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$want" "$frames" "$events" "$rows" "$dt" \
        "$gw_hwm" "$rp_hwm" "$stop_ms" "$rc" "$dtf" "$gw_cpu" "$rp_cpu" "$d" >>"$work/res.$tag"
    log "$tag: frames $frames/$want events $events pg rows $rows; all frames in ${dtf}s, all committed ${dt}s; tickgate cpu ${gw_cpu}s [$th] replay cpu ${rp_cpu}s; tickgate VmHWM ${gw_hwm} kB, replay ${rp_hwm} kB; stop ${stop_ms} ms rc $rc; load $(load)"
}

# quantile from cumulative Prometheus buckets: q_hist METRICS NAME Q -> upper bound in us
q_hist() {
    awk -v n="$2_bucket" -v q="$3" 'index($0,n)==1 {
            le=$0; sub(/.*le="/,"",le); sub(/".*/,"",le); b[++k]=le; c[k]=$NF }
        END { tot=c[k]; if (tot==0) {print "n/a"; exit}
              for (i=1;i<=k;i++) if (c[i] >= q*tot) { if (b[i]=="+Inf") print "inf"; else printf "%g\n", b[i]*1e6; exit } }' "$1"
}
h_count() { awk -v n="$2_count" 'index($0,n)==1 {print $NF; exit}' "$1"; }

date_s=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(load)
log "load average at start: $load_start"

# ---- A. throughput at --max
sets=(all big)
for s in "${sets[@]}" $(for rate in "${rates[@]}"; do echo "lat$rate"; done); do : >"$work/res.$s"; done
for s in "${sets[@]}"; do : >"$work/inproc.$s"; : >"$work/peer.$s"; done
[[ $parts == *A* ]] && for r in $(seq 1 "$runs"); do
    for s in "${sets[@]}"; do
        if [ "$s" = all ]; then run_gw all --max -- "${all_files[@]}"; else run_gw big --max -- "${big_files[@]}"; fi
    done
done

# ---- B. in-process path
[[ $parts == *B* ]] && for r in $(seq 1 "$runs"); do
    for s in "${sets[@]}"; do
        if [ "$s" = all ]; then fl=("${all_files[@]}"); else fl=("${big_files[@]}"); fi
        tot=0 fr=0 ev=0
        for f in "${fl[@]}"; do
            usable "$f" || continue
            line=$("$rpbin" books "$f" --out /dev/null 2>&1 | tail -1)
            # "...: N frames, M events in X s"
            read -r a b c < <(sed -n 's/.*: \([0-9]*\) frames, \([0-9]*\) events in \([0-9.]*\) s.*/\1 \2 \3/p' <<<"$line")
            fr=$((fr + a)); ev=$((ev + b)); tot=$(echo "$tot + $c" | bc)
        done
        echo "$fr $ev $tot" >>"$work/inproc.$s"
    done
done

# ---- C. peer: each file once per run; sums over "all" and over the two big files
if [ "$peer_on" = 1 ] && [[ $parts == *C* ]]; then
    for r in $(seq 1 "$runs"); do
        ta=0 tb=0 na=0 nb=0
        for f in "${all_files[@]}"; do
            usable "$f" || continue
            (cd "$peer" && node --expose-gc --max-old-space-size=16384 peer.js "$f" --bench \
                --repeat 5 --out "$work/peer.json" >/dev/null 2>&1) || { log "peer failed on $f"; continue; }
            read -r a b c < <(node -e 'const b=require(process.argv[1]).bench;console.log(b.full.median_s,b.messages,b.peak_rss_mb)' "$work/peer.json")
            ta=$(echo "$ta + $a" | bc -l); na=$((na + b))
            case " ${big_files[*]} " in *" $f "*) tb=$(echo "$tb + $a" | bc -l); nb=$((nb + b)) ;; esac
            [ "$f" = "$lat_file" ] && printf '%.1f\n' "$c" >>"$work/peer.rss"
        done
        echo "$ta $na" >>"$work/peer.all"
        echo "$tb $nb" >>"$work/peer.big"
        log "peer run $r: all $ta s ($na msgs), big $tb s ($nb msgs); load $(load)"
    done
fi

# ---- D. latency at fixed rates
[[ $parts == *D* ]] && for rate in "${rates[@]}"; do
    for r in $(seq 1 "$runs"); do run_gw "lat$rate" --rate "$rate" -- "$lat_file"; done
done
load_end=$(load)

# ---- report
col() { awk -v c="$2" '{print $c}' "$1" | median; }
{
    echo "Date: $date_s; host: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))."
    echo "Load average (1/5/15 min): $load_start at start, $load_end at the end. Medians of $runs runs."
    echo "Command: \`$cmdline\` (commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)); node $(node --version 2>/dev/null || echo n/a)."
    echo
    echo "### Throughput at --max, PostgreSQL + Redis on (first frame -> all frames in and all rows committed)"
    echo
    echo "| files | frames | events | pg rows | frames in s | all committed s | frames/s | events/s | tickgate CPU s | replay server CPU s | in-process s | in-process frames/s | peer full s | ratio peer/e2e | ratio peer/in-process |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in "${sets[@]}"; do
        w=$(col "$work/res.$s" 1); ev=$(col "$work/res.$s" 3); rw=$(col "$work/res.$s" 4)
        dt=$(col "$work/res.$s" 5); dtf=$(col "$work/res.$s" 10); cpu=$(col "$work/res.$s" 11); rcpu=$(col "$work/res.$s" 12)
        fps=$(awk '{printf "%.0f\n", $1/$5}' "$work/res.$s" | median)
        eps=$(awk '{printf "%.0f\n", $3/$5}' "$work/res.$s" | median)
        ipt=$(col "$work/inproc.$s" 3)
        ipf=$(awk '{printf "%.0f\n", $1/$3}' "$work/inproc.$s" | median)
        if [ -s "$work/peer.$s" ] && [ -s "$work/res.$s" ] && [ -s "$work/inproc.$s" ]; then
            pt=$(col "$work/peer.$s" 1)
            ra=$(echo "scale=2; $pt / $dt" | bc -l); rb=$(echo "scale=2; $pt / $ipt" | bc -l)
            pt=$(printf '%.3f' "$pt")
        else pt=n/a ra=n/a rb=n/a; fi
        lbl=$([ "$s" = all ] && echo "all ${#all_files[@]} recordings (usable: $(for f in "${all_files[@]}"; do usable "$f" && echo; done | wc -l))" || echo "2 big Binance (spot + usdm)")
        echo "| $lbl | $w | $ev | $rw | $dtf | $dt | $fps | $eps | $cpu | $rcpu | $(printf '%.3f' "$ipt") | $ipf | $pt | $ra | $rb |"
    done
    echo
    echo "frames/s and events/s = all frames / (first frame -> all committed). ratio = peer time / tickgate time (> 1: tickgate faster). Peer: sum over the files of"
    echo "tardis-dev \`full\` median pass time (one node thread, file preloaded). In-process:"
    echo "\`tickgate-replay books FILE\` wall time (includes reading and zstd-decompressing the file)."
    echo
    echo "### Peak RSS (VmHWM just before SIGTERM) and stop time (SIGTERM -> exit, everything flushed)"
    echo
    echo "| run | tickgate VmHWM MB | replay server VmHWM MB | stop ms | exit codes |"
    echo "|---|---:|---:|---:|---|"
    for s in "${sets[@]}" $(for rate in "${rates[@]}"; do echo "lat$rate"; done); do
        echo "| $s | $(awk '{printf "%.1f\n",$6/1024}' "$work/res.$s" | median) | $(awk '{printf "%.1f\n",$7/1024}' "$work/res.$s" | median) | $(col "$work/res.$s" 8) | $(awk '{printf "%s ", $9}' "$work/res.$s")|"
    done
    [ -s "$work/peer.rss" ] && echo "| peer (node, $(basename "$lat_file"), --bench) | $(median <"$work/peer.rss") | | | |"
    echo
    echo "### Latency at a fixed replay rate ($(basename "$lat_file"), one wss connection)"
    echo
    echo "Quantiles are the upper bound of the histogram bucket that holds them (buckets are"
    echo "powers of two of 1 us: each figure means '<= bound', resolution a factor of 2)."
    echo
    echo "| --rate | achieved frames/s | path | samples | p50 us | p99 us | p99.9 us |"
    echo "|---:|---:|---|---:|---:|---:|---:|"
    for rate in "${rates[@]}"; do
        s=lat$rate
        ach=$(awk '{printf "%.0f\n", $1/$10}' "$work/res.$s" | median)
        for p in book redis pg; do
            name=tickgate_latency_receive_to_${p}_seconds
            n=$(while read -r _ _ _ _ _ _ _ _ _ _ _ _ d; do h_count "$d/final.metrics" $name; done <"$work/res.$s" | median)
            q50=$(while read -r _ _ _ _ _ _ _ _ _ _ _ _ d; do q_hist "$d/final.metrics" $name 0.5; done <"$work/res.$s" | median)
            q99=$(while read -r _ _ _ _ _ _ _ _ _ _ _ _ d; do q_hist "$d/final.metrics" $name 0.99; done <"$work/res.$s" | median)
            q999=$(while read -r _ _ _ _ _ _ _ _ _ _ _ _ d; do q_hist "$d/final.metrics" $name 0.999; done <"$work/res.$s" | median)
            echo "| $rate | $ach | receive -> $p | $n | $q50 | $q99 | $q999 |"
        done
    done
    echo
    echo "Raw runs (want frames events rows committed_s gwHWMkB replayHWMkB stop_ms rc frames_in_s gw_cpu_s replay_cpu_s):"
    echo
    echo '```'
    for s in "${sets[@]}" $(for rate in "${rates[@]}"; do echo "lat$rate"; done); do
        awk -v s="$s" '{print s": "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12}' "$work/res.$s"
    done
    for s in "${sets[@]}"; do awk -v s="$s" '{print "in-process "s": frames "$1" events "$2" s "$3}' "$work/inproc.$s"; done
    for s in "${sets[@]}"; do [ -s "$work/peer.$s" ] && awk -v s="$s" '{print "peer "s": s "$1" msgs "$2}' "$work/peer.$s"; done
    echo '```'
} >"$out"
cat "$out"
log "summary written to $out"
