#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tickgate-split (issue 13): a venue's symbol list becomes instance configs that the gateway
# accepts, every symbol exactly once, every connection within the venue's limit, instances
# balanced by weight, each instance's name in its own log lines; bad input refused with lines.
# Usage: test_ops_split.sh TICKGATE TICKGATE-SPLIT SOURCE_ROOT
set -u
gw=$1 split=$2 src=$3
fails=0
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# 2 500 symbols with Zipf weights (a few hot, a long tail), in shuffled order
python3 -c '
import random
r = random.Random(7)
rows = ["S%04dUSDT %.3f" % (i, 100000.0 / (i + 1)) for i in range(2500)]
r.shuffle(rows)
print("# symbol weight")
print("\n".join(rows))' >"$tmp/syms.txt"
# the example config without its feeds, as a base; PostgreSQL and Redis off for the run below
grep -v '^\[feed\|^venue\|^url\|^symbols\|^channels\|^depth' "$src/tickgate.example.ini" \
    >"$tmp/base.ini"
printf '[postgres]\nenabled = false\n[redis]\nenabled = false\n' >>"$tmp/base.ini"

# a free port for binance-2's /metrics (instance i listens on base + i - 1)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$("$split" --venue binance --instances 4 --base "$tmp/base.ini" --out "$tmp/out" \
    --metrics-port $((port - 1)) "$tmp/syms.txt" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "split exited $rc"
for i in 1 2 3 4; do
    f=$tmp/out/binance-$i.ini
    if "$gw" --check-config --config "$f" >/dev/null 2>&1; then echo "ok: binance-$i.ini passes --check-config"
    else fail "binance-$i.ini: $("$gw" --check-config --config "$f" 2>&1 | head -3)"; fi
done
# every symbol exactly once, connections within the venue's limit (512 for binance), balance
python3 - "$tmp/syms.txt" "$tmp"/out/binance-*.ini <<'PY' || fails=$((fails + 1))
import re, sys
w = {}
for line in open(sys.argv[1]):
    line = line.split("#")[0].split()
    if line:
        w[line[0]] = float(line[1])
seen, inst_w, bad = {}, [], 0
for path in sys.argv[2:]:
    feed, tot, names = None, 0.0, set()
    per = {}
    for line in open(path):
        m = re.match(r"\[feed (\S+)\]", line)
        if m:
            feed = m.group(1)
            per[feed] = 0
        m = re.match(r"symbols = (.*)", line)
        if m:
            for s in m.group(1).split(", "):
                seen[s] = seen.get(s, 0) + 1
                per[feed] += 1
                tot += w.get(s, 0)
        m = re.match(r"name = (\S+)", line)
        if m:
            names.add(m.group(1))
    for f, n in per.items():
        if n > 512:
            print("FAIL: feed %s has %d symbols (> 512)" % (f, n)); bad += 1
    inst_w.append(tot)
missing = set(w) - set(seen)
twice = [s for s, n in seen.items() if n != 1]
extra = set(seen) - set(w)
if missing or twice or extra:
    print("FAIL: %d missing, %d more than once, %d unknown" % (len(missing), len(twice), len(extra)))
    bad += 1
ratio = max(inst_w) / (sum(inst_w) / len(inst_w))
print("%s: %d symbols once each, heaviest/mean instance weight %.4f" %
      ("ok" if ratio < 1.02 else "FAIL", len(seen), ratio))
bad += ratio >= 1.02
sys.exit(1 if bad else 0)
PY

# each instance runs under its own name (no network here: the feeds only retry)
for i in 2 3; do
    "$gw" --config "$tmp/out/binance-$i.ini" >"$tmp/run$i.log" 2>&1 &
    pids+=($!)
done
sleep 2
for i in 2 3; do
    if grep -q "instance=binance-$i\$" "$tmp/run$i.log" && ! grep -q "instance=binance-[^$i]" "$tmp/run$i.log"; then
        echo "ok: instance binance-$i logs under its own name"
    else
        fail "binance-$i log:"; head -5 "$tmp/run$i.log"
    fi
done
if curl -sf "http://127.0.0.1:$port/metrics" | grep -q 'tickgate_instance_info{instance="binance-2"'; then
    echo "ok: binance-2 serves /metrics on $port under its name"
else
    fail "binance-2 /metrics on $port"
fi
for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
pids=()

# --max-per-instance: the fewest instances that hold them all
"$split" --venue okx --max-per-instance 1000 --name okx-a --out "$tmp/m" "$tmp/syms.txt" >"$tmp/m.out" 2>&1
n=$(ls "$tmp/m" | wc -l)
[ "$n" = 3 ] && echo "ok: --max-per-instance 1000 -> 3 instances" || fail "--max-per-instance: $n files"

# bad input: every problem with its line, nothing written
printf 'BTCUSDT 5\nETHUSDT x\nBTCUSDT\nA,B\n' >"$tmp/bad.txt"
out=$("$split" --venue binance --instances 1 --out "$tmp/bad" "$tmp/bad.txt" 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q "bad.txt:2: bad weight 'x'" <<<"$out" &&
   grep -q "bad.txt:3: BTCUSDT listed again (first on line 1)" <<<"$out" &&
   grep -q "bad.txt:4: bad symbol 'A,B'" <<<"$out" && [ ! -e "$tmp/bad" ]; then
    echo "ok: bad input refused with its lines, nothing written"
else
    fail "bad input (rc $rc): $out"
fi
printf '[feed x]\nvenue = binance\n' >"$tmp/feedbase.ini"
out=$("$split" --venue binance --instances 1 --base "$tmp/feedbase.ini" --out "$tmp/fb" "$tmp/syms.txt" 2>&1)
[ $? = 2 ] && grep -q "feedbase.ini:1: the base may not have \[feed\] sections" <<<"$out" &&
    echo "ok: a base with [feed] sections is refused" || fail "base with [feed]: $out"
out=$("$split" --venue bitfinex --instances 1 --per-conn 100 --out "$tmp/pc" "$tmp/syms.txt" 2>&1)
[ $? = 2 ] && grep -q "more than bitfinex allows on one connection (15)" <<<"$out" &&
    echo "ok: --per-conn above the venue's limit is refused" || fail "--per-conn: $out"

echo "$fails failure(s)"
[ $fails = 0 ]
