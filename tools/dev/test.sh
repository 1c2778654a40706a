#!/usr/bin/env bash
# README command 2: install, build (release + ASan/UBSan + TSan), start throwaway PostgreSQL and
# Redis on loopback, run every test, stop the servers. Non-zero exit on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash tools/dev/deps.sh

jobs=$(nproc)
setup() { # dir args...
    local d=$1
    shift
    if [ -f "$d/build.ninja" ]; then
        meson configure "$d" "$@" >/dev/null
    else
        meson setup "$d" "$@" >/dev/null
    fi
    # the compiler's output only when something fails (warnings are errors)
    if ! ninja -C "$d" -j "$jobs" >"$d/ninja-output.log" 2>&1; then
        cat "$d/ninja-output.log" >&2
        return 1
    fi
    echo "   $d: built" >&2
}
echo "== build: release (jemalloc), asan+ubsan, tsan" >&2
setup build-release --buildtype=release --werror -Djemalloc=true
setup build-asan --buildtype=debug --werror -Db_sanitize=address,undefined -Db_lundef=false -Djemalloc=false
setup build-tsan --buildtype=debugoptimized --werror -Db_sanitize=thread -Djemalloc=false

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

rc=0
echo "== tests: unit + integration + headers under ASan/UBSan (real PostgreSQL and Redis)" >&2
tests/fixtures/services.sh run meson test -C build-asan --print-errorlogs --num-processes 2 \
    --suite unit --suite integration --suite headers --suite ops || rc=1
echo "== tests: threaded parts under ThreadSanitizer" >&2
tests/fixtures/services.sh run meson test -C build-tsan --print-errorlogs --suite tsan || rc=1
echo "== tests: release build (jemalloc), unit + integration (not the slow suite)" >&2
# the `slow` suite (test_it_client, test_it_backfill, test_it_reliability: ~4 minutes together)
# ran under ASan (test_it_client under TSan too)
# and the release build runs the rest, to keep CI within its 30 minutes
tests/fixtures/services.sh run meson test -C build-release --print-errorlogs --num-processes 2 \
    --suite unit --suite integration --no-suite slow || rc=1
# One line over every build: each run's meson-logs/testlog.json (one JSON object per test).
python3 - build-asan build-tsan build-release <<'PY' || rc=1
import json, sys
ok = bad = skip = 0
failed = []
for d in sys.argv[1:]:
    try:
        lines = open(d + "/meson-logs/testlog.json").read().splitlines()
    except OSError:
        print("no test log in %s" % d)
        sys.exit(1)
    for l in lines:
        t = json.loads(l)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            bad += 1
            failed.append("%s:%s" % (d, t.get("name")))
print("== all builds: %d passed, %d failed, %d skipped" % (ok, bad, skip))
for f in failed:
    print("   failed: " + f)
PY
if [ $rc -ne 0 ]; then
    echo "FAILED: see the logs above (build-*/meson-logs/testlog.txt)" >&2
fi
exit $rc
