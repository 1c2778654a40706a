#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Absolute figures of the offline path (issue 14) on an idle machine: `tickgate-replay books`
# whole process on the Binance spot recording (zstd and plain), 9 runs each, medians of wall
# and CPU time, MB of text per second of wall and per CPU second (per core), max RSS; then a
# ~4 GB recording (the data lines repeated) for RSS and rate. The peer (Node) is not on that
# machine: ratios come from tools/bench/bench-offline.sh on the dev VM (same run).
#
# Prepare (on the dev VM, release build without jemalloc as the figures in docs/BENCHMARKS.md):
#   meson setup build-rel --buildtype=release -Djemalloc=false && ninja -C build-rel tools/replay/tickgate-replay
#   ../shared/tools/device-bundle.sh build-rel/tools/replay/tickgate-replay zstd time \
#       -f ../shared/recordings/binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst
# Run (device tool, carry [".devbundle"], timeout_s 300):  bash tools/bench/device-offline.sh
# Results: $OUT/offline.txt
set -euo pipefail
B=$(cd "$(dirname "$0")/../.." && pwd)/.devbundle
run() { "$B/run" "$@"; }
out=${OUT:-/tmp}/offline.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rec=$B/files/hftbacktest_spot_btcusdt_20240808.tgrec.zst
run zstd -dcq "$rec" >"$tmp/plain.tgrec"
bytes=$(stat -c %s "$tmp/plain.tgrec")
{
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg)"
    for f in "$rec" "$tmp/plain.tgrec"; do
        for i in $(seq 9); do
            run time -f '%e %U %S %M' -o "$tmp/t" "$B/run" tickgate-replay books "$f" --out "$tmp/r.json" 2>/dev/null
            awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$tmp/t"
        done >"$tmp/runs"
        w=$(cut -d' ' -f1 "$tmp/runs" | sort -n | sed -n 5p)
        c=$(cut -d' ' -f2 "$tmp/runs" | sort -n | sed -n 5p)
        r=$(cut -d' ' -f3 "$tmp/runs" | sort -n | sed -n 5p)
        awk -v b="$bytes" -v n="$(basename "$f")" -v w="$w" -v c="$c" -v r="$r" 'BEGIN {
            printf "%s: wall %.3f s cpu %.3f s rss %.1f MB; %.0f MB/s wall, %.0f MB/s per core (medians of 9)\n",
                   n, w, c, r / 1024, b / w / 1e6, b / c / 1e6 }'
    done
    grep '^#' "$tmp/plain.tgrec" >"$tmp/big.tgrec"
    grep -v '^#' "$tmp/plain.tgrec" >"$tmp/data"
    want=$(awk -v g="${OFFLINE_BIG_GB:-4}" 'BEGIN{printf "%d", g * 1e9}')
    while [ "$(stat -c %s "$tmp/big.tgrec")" -lt "$want" ]; do cat "$tmp/data" >>"$tmp/big.tgrec"; done
    size=$(stat -c %s "$tmp/big.tgrec")
    run time -f '%e %U %S %M' -o "$tmp/t" "$B/run" tickgate-replay books "$tmp/big.tgrec" --out "$tmp/r.json" 2>/dev/null
    awk -v b="$size" '{printf "big plain %.2f GB: wall %.2f s cpu %.2f s max rss %.1f MB; %.0f MB/s per core\n", b/1e9, $1, $2+$3, $4/1024, b/($2+$3)/1e6}' "$tmp/t"
    run zstd -q -1 -T0 --rm "$tmp/big.tgrec" -o "$tmp/big.tgrec.zst"
    run time -f '%e %U %S %M' -o "$tmp/t" "$B/run" tickgate-replay books "$tmp/big.tgrec.zst" --out "$tmp/r.json" 2>/dev/null
    awk -v b="$size" '{printf "big zstd  %.2f GB: wall %.2f s cpu %.2f s max rss %.1f MB; %.0f MB/s per core\n", b/1e9, $1, $2+$3, $4/1024, b/($2+$3)/1e6}' "$tmp/t"
} | tee "$out"
