#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Offline path benchmark (issue 14, docs/replay.md "Reading recordings"): the whole process of
# `tickgate-replay books FILE` against the peer's (tardis-dev under Node, `node peer.js FILE`)
# on the same file, runs interleaved so both see the same machine load. Prints per tool the
# median wall time, CPU time (user + sys), max RSS, the text rate (decompressed recording bytes
# per second of wall and per second of CPU, i.e. per core) and the ratio peer / tickgate.
# With --rss-gb N it also builds a recording of about N GB (the file's data lines repeated,
# in a temp dir, deleted at the end) and reports tickgate's max RSS on it, plain and zstd.
# With --chain N the runs use a continuous recording of N copies of FILE instead (Binance,
# tools/bench/tgrec-chain.py: ids follow on, the book stays valid, so the book work per byte
# is a real day's; built in the temp dir, deleted at the end).
# With --ref PATH a second tickgate-replay (e.g. a copy of the binary from before a change) is
# run in the same interleaved loop: its row and the ratio ref / tickgate are printed too.
#
# usage: tools/bench/bench-offline.sh [-n RUNS] [--bin PATH] [--ref PATH] [--peer PATH]
#                                     [--rss-gb N] [--chain N] [FILE]
#   defaults: 7 runs, build/tools/replay/tickgate-replay, /tmp/peer/peer.js,
#             ../shared/recordings/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
runs=7
bin=$here/build/tools/replay/tickgate-replay
peer=/tmp/peer/peer.js
rss_gb=0
ref=
chain=0
file=$here/../shared/recordings/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst
while [ $# -gt 0 ]; do
    case $1 in
    -n) runs=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    --peer) peer=$2; shift 2 ;;
    --rss-gb) rss_gb=$2; shift 2 ;;
    --chain) chain=$2; shift 2 ;;
    -h|--help) sed -n '3,21p' "$0"; exit 0 ;;
    *) file=$1; shift ;;
    esac
done
[ -x "$bin" ] || { echo "no $bin (build it: ninja -C build tools/replay/tickgate-replay)" >&2; exit 2; }
[ -r "$file" ] || { echo "no $file" >&2; exit 2; }
[ -z "$ref" ] || [ -x "$ref" ] || { echo "no $ref" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$chain" != 0 ]; then
    python3 "$here/tools/bench/tgrec-chain.py" "$file" "$tmp/chain.tgrec" "$chain"
    file=$tmp/chain.tgrec
fi

case $file in
*.zst) text_bytes=$(zstd -dc "$file" | wc -c) ;;
*) text_bytes=$(wc -c <"$file") ;;
esac

# one run: "wall cpu rss_kb" on stdout
measure() {
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" ||
        { echo "FAILED: $*" >&2; cat "$tmp/err" >&2; exit 1; }
    awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$tmp/t"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

have_peer=0
if command -v node >/dev/null && [ -r "$peer" ]; then have_peer=1; fi
: >"$tmp/tg"
: >"$tmp/peer"
: >"$tmp/ref"
for i in $(seq "$runs"); do
    measure "$bin" books "$file" --out "$tmp/tg.json" >>"$tmp/tg"
    if [ -n "$ref" ]; then
        measure "$ref" books "$file" --out "$tmp/ref.json" >>"$tmp/ref"
    fi
    if [ $have_peer = 1 ]; then
        measure node "$peer" "$file" --out "$tmp/peer.json" >>"$tmp/peer"
    fi
done

report() { # name file -> prints a row, sets med_wall
    local w c r
    w=$(cut -d' ' -f1 "$2" | median)
    c=$(cut -d' ' -f2 "$2" | median)
    r=$(cut -d' ' -f3 "$2" | median)
    awk -v n="$1" -v w="$w" -v c="$c" -v r="$r" -v b="$text_bytes" 'BEGIN {
        printf "%-10s wall %7.3f s  cpu %7.3f s  rss %7.1f MB  text %8.1f MB/s wall %8.1f MB/s per core\n",
               n, w, c, r / 1024, (w > 0 ? b / w / 1e6 : 0), (c > 0 ? b / c / 1e6 : 0) }'
    eval "med_wall_$1=$w; med_cpu_$1=$c"
}
echo "file: $file ($(awk -v b="$text_bytes" 'BEGIN{printf "%.1f", b/1e6}') MB of text), $runs runs each, medians"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
report tickgate "$tmp/tg"
if [ -n "$ref" ]; then
    report ref "$tmp/ref"
    awk -v a="$med_wall_ref" -v b="$med_wall_tickgate" -v c="$med_cpu_ref" -v d="$med_cpu_tickgate" \
        'BEGIN { printf "ratio ref/tickgate: wall %.2fx  cpu %.2fx\n", a / b, c / d }'
    cmp -s "$tmp/tg.json" "$tmp/ref.json" && echo "ref and tickgate JSON: identical" ||
        echo "ref and tickgate JSON: DIFFERENT"
fi
if [ $have_peer = 1 ]; then
    report peer "$tmp/peer"
    awk -v a="$med_wall_peer" -v b="$med_wall_tickgate" -v c="$med_cpu_peer" -v d="$med_cpu_tickgate" \
        'BEGIN { printf "ratio peer/tickgate: wall %.1fx  cpu %.1fx\n", a / b, c / d }'
else
    echo "peer: not run (node or $peer missing)"
fi

if [ "$rss_gb" != 0 ]; then
    # A big recording: this file's header once, then its data lines again and again.
    big=$tmp/big.tgrec
    src=$tmp/src.tgrec
    case $file in *.zst) zstd -dcq "$file" >"$src" ;; *) cp "$file" "$src" ;; esac
    grep '^#' "$src" >"$big"
    grep -v '^#' "$src" >"$tmp/data"
    want=$(awk -v g="$rss_gb" 'BEGIN{printf "%d", g * 1e9}')
    while [ "$(stat -c %s "$big")" -lt "$want" ]; do cat "$tmp/data" >>"$big"; done
    rm -f "$src" "$tmp/data"
    size=$(stat -c %s "$big")
    echo "big recording: $(awk -v b="$size" 'BEGIN{printf "%.2f", b/1e9}') GB of text"
    read -r w c r < <(measure "$bin" books "$big" --out "$tmp/big.json")
    awk -v w="$w" -v c="$c" -v r="$r" -v b="$size" 'BEGIN {
        printf "  plain: wall %.2f s  cpu %.2f s  max rss %.1f MB  %.0f MB/s per core\n",
               w, c, r / 1024, b / c / 1e6 }'
    zstd -q -1 -T0 --rm "$big" -o "$big.zst"
    read -r w c r < <(measure "$bin" books "$big.zst" --out "$tmp/big.json")
    awk -v w="$w" -v c="$c" -v r="$r" -v b="$size" 'BEGIN {
        printf "  zstd:  wall %.2f s  cpu %.2f s  max rss %.1f MB  %.0f MB/s per core\n",
               w, c, r / 1024, b / c / 1e6 }'
    rm -f "$big.zst"
fi
