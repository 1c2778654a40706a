#!/usr/bin/env bash
# The examples of docs/clients.md run against a real redis-server (tests/fixtures/services.sh):
# the C example (poll API, then callback API) and the Python example strategy join from the
# snapshot key, apply the messages, report the hole (seq 3 -> 5) and print exact prices.
# Usage: test_it_client_examples.sh C_EXAMPLE PYTHON PKGDIR STRATEGY; exit 77 without Redis.
set -euo pipefail
[ -n "${TG_TEST_REDIS_PORT:-}" ] || { echo "TG_TEST_REDIS_PORT unset: skipping"; exit 77; }
exe=$1 py=$2 pkg=$3 strategy=$4
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
cli() { redis-cli -p "$TG_TEST_REDIS_PORT" "$@" >/dev/null; }
book() { # seq bid ask
    printf '{"type":"book","venue":"exv","symbol":"AAA-USD","seq":%s,"epoch":7,"state":"VALID","generation":1,"exch_seq":%s,"reason":"change","ts_exch":1,"ts_recv":2,"depth_bids":1,"depth_asks":1,"bids":[["%s","1.5"]],"asks":[["%s","0.25"]]}' "$1" "$1" "$2" "$3"
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run_one() { # name command...
    local name=$1
    shift
    cli SET ex:book:exv:AAA-USD "$(book 1 100.5 101)"
    "$@" >"$out/$name" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
        [ "$(redis-cli -p "$TG_TEST_REDIS_PORT" PUBSUB NUMSUB ex.book.exv.AAA-USD | tail -1)" -ge 1 ] && break
        sleep 0.05
    done
    sleep 0.2
    cli PUBLISH ex.book.exv.AAA-USD "$(book 1 100.5 101)"   # covered by the key: skipped
    cli PUBLISH ex.book.exv.AAA-USD "$(book 2 100.25 101)"
    cli PUBLISH ex.book.exv.AAA-USD "$(book 3 100.75 101.25)"
    cli PUBLISH ex.book.exv.AAA-USD "$(book 5 99.999999999 100.000000001)" # 4 is missing
    wait "$pid"
    cat "$out/$name"
}
url="redis://127.0.0.1:$TG_TEST_REDIS_PORT"
for mode in poll callback; do
    flag=; [ $mode = callback ] && flag=-c
    run_one c-$mode "$exe" $flag "$url" ex exv AAA-USD 4
    f=$out/c-$mode
    grep -q 'book exv AAA-USD seq=1 VALID bid 100.5 ask 101 spread 0.5 (snapshot key)' "$f"
    grep -q 'book exv AAA-USD seq=2 VALID bid 100.25 ask 101 spread 0.75' "$f"
    grep -q 'HOLE ex.book.exv.AAA-USD: 1 missing (after 3, got 5) recovered' "$f"
    grep -q 'book exv AAA-USD seq=5 VALID bid 99.999999999 ask 100.000000001' "$f"
    [ "$(grep -c 'seq=1 ' "$f")" = 1 ] # the message the key covered was skipped
done
run_one py env PYTHONPATH="$pkg" "$py" "$strategy" --url "$url" --prefix ex --count 4 exv AAA-USD
f=$out/py
grep -q 'exv AAA-USD mid 100.75 spread 0.5' "$f"
grep -q 'exv AAA-USD mid 101.00 spread 0.50' "$f"
grep -q 'HOLE ex.book.exv.AAA-USD: 1 message(s) missing (after 3, got 5), recovered from the message' "$f"
grep -q 'exv AAA-USD mid 100.000000000 spread 0.000000002' "$f"
echo "examples: ok"
