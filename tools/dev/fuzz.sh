#!/usr/bin/env bash
# Run every libFuzzer harness of tests/fuzz (docs/RELIABILITY.md "Fuzzing") for a bounded time
# or number of inputs, seeded from the recordings, and print the figures (inputs run, exec/s,
# corpus size, crashes) per harness.
#
#   tools/dev/fuzz.sh [-t SECONDS | -n RUNS] [-m MAX_LEN] [HARNESS[/VENUE]...]
#     -t SECONDS  per target (default 30)          -n RUNS  per target instead (e.g. 10000000)
#     -m MAX_LEN  longest input (default 16384)
#     HARNESS     venue rest tgrec config client resp http (default: all; venue and rest run once
#                 per venue id, venue/kraken runs one)
#   env: BUILD (default build-fuzzclang, configured here with clang if absent),
#        OUT (default /tmp/tickgate-fuzz: seeds, corpora, logs, crash-* files),
#        TG_RECORDINGS (default ../shared/recordings), JOBS (ninja, default 2)
# Exit status: 1 when any target crashed (its crash file is named in the table); keep each one
# as a regression input under tests/fuzz/regress/<harness>[/<venue>]/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=30 runs= maxlen=16384
while getopts "t:n:m:" o; do
    case $o in
    t) secs=$OPTARG ;;
    n) runs=$OPTARG ;;
    m) maxlen=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
build=${BUILD:-build-fuzzclang}
out=${OUT:-/tmp/tickgate-fuzz}
recs=${TG_RECORDINGS:-$root/../shared/recordings}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(venue rest tgrec config client resp http)

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" --buildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false -Djemalloc=false -Dfuzz=true >/dev/null
fi
targets=(tests/fuzz/fuzz_seed)
for h in venue rest tgrec config client resp http; do targets+=("tests/fuzz/fuzz_$h"); done
ninja -C "$build" -j "${JOBS:-2}" "${targets[@]}" >"$build/fuzz-ninja.log" 2>&1 ||
    { cat "$build/fuzz-ninja.log" >&2; exit 1; }

# seeds: frames per venue, REST answers, recording heads, from the recordings (not committed)
mkdir -p "$out/seed" "$out/corpus" "$out/log" "$out/crash"
if [ ! -f "$out/seed/.done" ]; then
    find "$recs" -name '*.tgrec*' -print0 | sort -z |
        xargs -0 "$build/tests/fuzz/fuzz_seed" -n 100 -s "$maxlen" "$out/seed" >/dev/null
    touch "$out/seed/.done"
fi

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
limit=(-max_total_time="$secs")
[ -z "$runs" ] || limit=(-runs="$runs")
rc=0
printf '%-28s %12s %9s %8s %s\n' target inputs exec/s corpus result
run() { # name exe seed-dirs... (env TG_FUZZ_VENUE set by the caller)
    local name=$1 exe=$2
    shift 2
    local corpus="$out/corpus/$name" log="$out/log/$name.log" dirs=()
    mkdir -p "$corpus" "$out/crash/$name"
    for d in "$@"; do [ -d "$d" ] && dirs+=("$d"); done
    local res=ok
    "$exe" "${limit[@]}" -max_len="$maxlen" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$out/crash/$name/" "$corpus" "${dirs[@]}" >"$log" 2>&1 || res=CRASH
    local n eps
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ $res != ok ]; then
        rc=1
        res="CRASH $(ls -t "$out/crash/$name"/* 2>/dev/null | head -1 || true) (log $log)"
    fi
    printf '%-28s %12s %9s %8s %s\n' "$name" "${n:-?}" "${eps:-?}" "$(ls "$corpus" | wc -l)" "$res"
}
bin=$build/tests/fuzz
for h in "${harnesses[@]}"; do
    case $h in
    venue | rest | venue/* | rest/*)
        kind=${h%%/*}
        if [ "$h" = "$kind" ]; then
            ids=$(TG_FUZZ_LIST=1 "$bin/fuzz_venue")
            [ "$kind" = venue ] || ids=$(TG_FUZZ_LIST=1 "$bin/fuzz_rest")
        else
            ids=${h#*/}
        fi
        for v in $ids; do
            TG_FUZZ_VENUE=$v run "$kind-$v" "$bin/fuzz_$kind" "$out/seed/$kind/$v" \
                "tests/fuzz/corpus/$kind/$v"
        done
        ;;
    tgrec) run tgrec "$bin/fuzz_tgrec" "$out/seed/tgrec" tests/fuzz/corpus/tgrec ;;
    config | client | resp | http) run "$h" "$bin/fuzz_$h" "tests/fuzz/corpus/$h" ;;
    *) echo "unknown harness $h" >&2; exit 2 ;;
    esac
done
exit $rc
