#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The latency benchmark (tools/bench/bench-latency.sh, docs/latency.md) on the idle 16-core
# device machine, from a bundle (../shared/tools/device-bundle.sh): the device has none of our
# packages, no curl, no openssl, no zstd.
#
# 1. Here (the build machine), once:
#      tools/bench/device-latency.sh --prepare
#    builds build-lat-rel (release), makes a test certificate and packs tickgate,
#    tickgate-replay, tickgate-bench-latency, redis-server, the recording and the certificate
#    into .devbundle/.
# 2. On the device (run tool, carry [".devbundle"], timeout_s 600; about 6 minutes):
#      tools/bench/device-latency.sh
#    runs rates 100, 1000, 10000, 50000 and max over ws and wss, 20 s (or one pass of the
#    recording) per run, then 60 s of idle CPU, and writes $OUT/latency.md (the table) and
#    $OUT/raw/ (metrics snapshots, logs). Extra arguments go to bench-latency.sh (e.g.
#    --rates "1000" --spin-us 200 for a second look at one rate).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
rec_name=hftbacktest_usdm_btcusdt_20240808.tgrec.zst
if [ "${1:-}" = --prepare ]; then
    [ -f build-lat-rel/build.ninja ] || meson setup build-lat-rel --buildtype=release >/dev/null
    ninja -C build-lat-rel gateway/tickgate tools/replay/tickgate-replay \
        tools/replay/tickgate-replay-serve tools/bench/tickgate-bench-latency >/dev/null
    tls=$(mktemp -d)
    bash tools/replay/gen-test-cert.sh "$tls" >/dev/null
    ../shared/tools/device-bundle.sh build-lat-rel/gateway/tickgate \
        build-lat-rel/tools/replay/tickgate-replay build-lat-rel/tools/replay/tickgate-replay-serve \
        build-lat-rel/tools/bench/tickgate-bench-latency \
        redis-server -f "${TG_RECORDINGS:-../shared/recordings}/binance-futures/$rec_name" \
        -f "$tls/cert.pem" -f "$tls/key.pem"
    rm -rf "$tls"
    exit 0
fi
[ -x .devbundle/run ] || { echo "device-latency: no .devbundle (run --prepare here first)" >&2; exit 1; }
out=${OUT:-$PWD/device-latency-out}
echo "device-latency: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)" >&2
BENCH_RUN=$root/.devbundle/run BENCH_CERT=$root/.devbundle/files \
    bash tools/bench/bench-latency.sh --rec "$root/.devbundle/files/$rec_name" \
    --rates "100 1000 10000 50000 max" --transports "ws wss" --seconds 20 --idle 60 \
    --out "$out" "$@"
