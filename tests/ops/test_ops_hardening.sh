#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built programs carry the hardening the top-level meson.build asks for (issue 15):
# PIE (ELF type DYN), full RELRO (a GNU_RELRO segment and BIND_NOW), the stack protector
# (__stack_chk_fail), _FORTIFY_SOURCE (__*_chk functions; optimized builds without sanitizers
# only) and, on x86-64, CET (IBT and SHSTK in the GNU property note) when every object linked
# in has it. readelf (binutils) does the reading; hardening-check (devscripts) too where it is
# installed. The checks are first run on a deliberately unhardened program built here, which
# every one of them must refuse, so a check that cannot fail fails the test. Also: tickgate
# warns at start when /metrics listens on a non-loopback address.
# Usage: test_ops_hardening.sh FORTIFY(0|1) CPU_FAMILY CC PROGRAM...
set -u
fortify=$1 cpu=$2 cc=$3
shift 3
command -v readelf >/dev/null || { echo "readelf not found: skipped"; exit 77; }
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME PROGRAM: 0 if PROGRAM passes check NAME.
check() {
    local f=$2
    case $1 in
    pie) readelf -hW "$f" | grep -Eq 'Type:[[:space:]]+DYN' ;;
    relro) readelf -lW "$f" | grep -q 'GNU_RELRO' ;;
    now) readelf -dW "$f" | grep -Eq '\(BIND_NOW\)|\(FLAGS\).*\bNOW\b|\(FLAGS_1\).*\bNOW\b' ;;
    stack) readelf --dyn-syms -W "$f" | grep -q '__stack_chk_fail' ;;
    fortify) readelf --dyn-syms -W "$f" | grep -Eq '__[a-z0-9_]+_chk(@|$| )' ;;
    cet) readelf -nW "$f" | grep -Eq 'x86 feature:.*IBT.*SHSTK|x86 feature:.*SHSTK.*IBT' ;;
    esac
}

checks="pie relro now stack"
[ "$fortify" = 1 ] && checks="$checks fortify"
# CET is asserted only where the toolchain's own start files carry the note (else the linker
# drops it from every program, whatever our flags).
if [ "$cpu" = x86_64 ]; then
    printf 'int main(void){return 0;}\n' >"$tmp/cet.c"
    if "$cc" -fcf-protection -o "$tmp/cet" "$tmp/cet.c" 2>/dev/null && check cet "$tmp/cet"; then
        checks="$checks cet"
    else
        echo "note: this toolchain's start files lack the CET note: CET not checked"
    fi
fi

# 1. the checks can fail: an unhardened program fails each of them
cat >"$tmp/weak.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) { char b[64]; strcpy(b, argv[0]); puts(b); return argc; }
C
if "$cc" -O2 -U_FORTIFY_SOURCE -fno-stack-protector -fcf-protection=none -no-pie -fno-pie \
    -Wl,-z,norelro -Wl,-z,lazy -o "$tmp/weak" "$tmp/weak.c" 2>"$tmp/cc.err"; then
    for c in $checks; do
        if check "$c" "$tmp/weak"; then
            echo "FAIL: check '$c' passes an unhardened program: it cannot fail"
            fails=$((fails + 1))
        fi
    done
else
    echo "FAIL: cannot build the unhardened reference with $cc:"; cat "$tmp/cc.err"
    fails=$((fails + 1))
fi

# 2. our programs pass every check
for f in "$@"; do
    for c in $checks; do
        if check "$c" "$f"; then
            echo "ok: $(basename "$f"): $c"
        else
            echo "FAIL: $(basename "$f"): $c"
            fails=$((fails + 1))
        fi
    done
    if command -v hardening-check >/dev/null; then
        opts=""
        [ "$fortify" = 1 ] || opts="--nofortify"
        if hardening-check $opts --nocfprotection "$f" >"$tmp/hc" 2>&1; then
            echo "ok: $(basename "$f"): hardening-check"
        else
            echo "FAIL: hardening-check $(basename "$f"):"; cat "$tmp/hc"
            fails=$((fails + 1))
        fi
    fi
done
# 3. /metrics on a non-loopback address: one warning line at start; none on loopback
metrics_warns() { # TICKGATE LISTEN-HOST: 0 if the start log warns
    cat >"$tmp/m.ini" <<INI
[postgres]
enabled = false
[redis]
enabled = false
[metrics]
listen = $2:0
[feed bin]
venue = binance
url = ws://127.0.0.1:9/ws
symbols = BTCUSDT
INI
    timeout -s TERM 3 "$1" --config "$tmp/m.ini" >"$tmp/m.out" 2>&1
    grep -q 'level=warn.*/metrics.*not a loopback address' "$tmp/m.out"
}
for f in "$@"; do
    [ "$(basename "$f")" = tickgate ] || continue
    if metrics_warns "$f" 0.0.0.0 && ! metrics_warns "$f" 127.0.0.1; then
        echo "ok: tickgate warns when /metrics listens on 0.0.0.0, not on 127.0.0.1"
    else
        echo "FAIL: the /metrics address warning:"; tail -5 "$tmp/m.out"
        fails=$((fails + 1))
    fi
done
echo "checks: $checks; fortify expected: $fortify; failures: $fails"
[ "$fails" = 0 ]
