#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every program and subcommand answers --help and --version with exit 0 and the expected text
# (issue 12); config mistakes a new user makes are explained in one clear line.
# Usage: test_ops_cli.sh TICKGATE TICKGATE-REPLAY TICKGATE-SUB TICKGATE-SPLIT VERSION [BUILD_ROOT]
# With BUILD_ROOT, every program `meson install` puts in bin/ must be one of the three tested.
set -u
gw=$1 replay=$2 sub=$3 split=$4 version=$5 build=${6:-}
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect RC PATTERN CMD...: CMD exits RC and its stdout+stderr matches the grep -E PATTERN.
expect() {
    local want=$1 pat=$2
    shift 2
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: '$*' exited $rc, expected $want; output:"; echo "$out" | head -5
        fails=$((fails + 1))
    elif ! grep -Eq -- "$pat" <<<"$out"; then
        echo "FAIL: '$*' output lacks /$pat/:"; echo "$out" | head -5
        fails=$((fails + 1))
    else
        echo "ok: $* -> $rc"
    fi
}

for h in --help -h; do
    expect 0 '^usage: tickgate --config FILE' "$gw" $h
    expect 0 '^usage: tickgate-replay <command>' "$replay" $h
    expect 0 '^usage: tickgate-replay serve' "$replay" serve $h
    expect 0 '^usage: tickgate-replay books FILE' "$replay" books $h
    expect 0 '^usage: tickgate-sub ' "$sub" $h
    expect 0 '^usage: tickgate-split ' "$split" $h
done
expect 0 '--out FILE' "$replay" books --help
for v in --version -V; do
    expect 0 "^tickgate $version\$" "$gw" $v
    expect 0 "^tickgate-replay $version\$" "$replay" $v
    expect 0 "^tickgate-replay $version\$" "$replay" serve $v
    expect 0 "^tickgate-replay $version\$" "$replay" books $v
    expect 0 "^tickgate-sub $version\$" "$sub" $v
    expect 0 "^tickgate-split $version\$" "$split" $v
done
# help on stdout (so `| less` works), nothing on stderr
for p in "$gw" "$replay" "$sub" "$split"; do
    if [ -n "$("$p" --help 2>&1 >/dev/null)" ]; then
        echo "FAIL: $p --help writes to stderr"; fails=$((fails + 1))
    fi
done

# usage errors stay exit 2
expect 2 'invalid option|unrecognized option|see --help' "$sub" --bogus
expect 2 'unknown command' "$replay" bogus
expect 2 'needs the file to check' "$gw" --check-config
expect 2 'no configuration' "$gw"
expect 2 '^usage: tickgate-split' "$split" --instances 2
expect 2 "unknown venue 'binanc' \\(this build has: .*binance" "$split" --venue binanc --instances 2

# a missing ']' is one clear error on its line
printf '[gateway\nname = x\n[feed a]\nvenue = binance\nsymbols = BTCUSDT\n' >"$tmp/bad.ini"
out=$("$gw" --check-config --config "$tmp/bad.ini" 2>&1)
rc=$?
if [ $rc != 2 ] || ! grep -q "bad.ini:1: section header without its closing ']'" <<<"$out" ||
   [ "$(grep -c 'bad.ini:' <<<"$out")" != 1 ]; then
    echo "FAIL: missing ']' (rc $rc):"; echo "$out"; fails=$((fails + 1))
else
    echo "ok: missing ']' is one error"
fi
# an unknown venue lists the known ones and is the only error
printf '[feed a]\nvenue = binanc\nsymbols = BTCUSDT\n' >"$tmp/venue.ini"
out=$("$gw" --check-config --config "$tmp/venue.ini" 2>&1)
if ! grep -q "unknown venue 'binanc' (known: .*binance" <<<"$out" ||
   grep -q 'venue is required' <<<"$out"; then
    echo "FAIL: unknown venue:"; echo "$out"; fails=$((fails + 1))
else
    echo "ok: unknown venue lists the known ones"
fi
# an instance name that would break logfmt, labels or application_name is refused
printf '[gateway]\nname = a b\n[feed a]\nvenue = binance\nsymbols = BTCUSDT\n' >"$tmp/name.ini"
expect 2 "name must be 1..63 of \\[A-Za-z0-9_.-\\]: 'a b'" "$gw" --check-config --config "$tmp/name.ini"
# a good file passes
printf '[feed a]\nvenue = binance\nsymbols = BTCUSDT\n' >"$tmp/good.ini"
expect 0 'ok \(1 feeds, 1 symbols\)' "$gw" --check-config --config "$tmp/good.ini"

# every installed program is covered above (a new one must be added here)
if [ -n "$build" ] && command -v meson >/dev/null; then
    bins=$(meson introspect --installed "$build" | python3 -c 'import json, sys
print(" ".join(sorted(v.rsplit("/", 1)[1] for v in json.load(sys.stdin).values() if "/bin/" in v)))')
    if [ "$bins" = "tickgate tickgate-replay tickgate-split tickgate-sub" ]; then
        echo "ok: the installed programs ($bins) are all covered"
    else
        echo "FAIL: installed programs '$bins', covered: tickgate tickgate-replay tickgate-split tickgate-sub"
        fails=$((fails + 1))
    fi
fi
echo "$fails failure(s)"
[ $fails = 0 ]
