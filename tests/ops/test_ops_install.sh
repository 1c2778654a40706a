#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `meson install` lays out what a daemon needs (issue 12): programs, man pages, the example
# config under sysconfdir, the docs, the alert rules, and a hardened systemd unit that
# `systemd-analyze verify` accepts (skipped, with a note, where systemd-analyze is missing).
# Usage: test_ops_install.sh BUILD_DIR SOURCE_ROOT
set -u
build=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! meson install -C "$build" --no-rebuild --destdir "$tmp/dest" >"$tmp/install.log" 2>&1; then
    tail -20 "$tmp/install.log"
    echo "FAIL: meson install"
    exit 1
fi
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
d=$tmp/dest$prefix
for f in bin/tickgate bin/tickgate-replay bin/tickgate-sub bin/tickgate-split libexec/tickgate/tickgate-replay-serve \
         share/man/man1/tickgate.1 share/man/man1/tickgate-replay.1 share/man/man1/tickgate-sub.1 share/man/man1/tickgate-split.1 \
         share/man/man5/tickgate.ini.5 etc/tickgate/tickgate.ini \
         share/doc/tickgate/config.md share/doc/tickgate/operations.md share/doc/tickgate/README.md \
         share/doc/tickgate/prometheus/tickgate-alerts.yml share/doc/tickgate/grafana/tickgate.json \
         share/doc/tickgate/dashboard.md \
         lib/systemd/system/tickgate.service lib/sysusers.d/tickgate.conf; do
    if [ -s "$d/$f" ]; then echo "ok: $f"; else fail "$prefix/$f not installed"; fi
done
[ -x "$d/bin/tickgate" ] && [ "$("$d/bin/tickgate" --version)" = "tickgate $(meson introspect "$build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ] &&
    echo "ok: installed tickgate --version" || fail "installed tickgate --version"
"$d/bin/tickgate" --check-config --config "$d/etc/tickgate/tickgate.ini" >/dev/null &&
    echo "ok: the installed config passes --check-config" || fail "installed config: --check-config"
# man pages render and name their program
for p in man1/tickgate.1 man1/tickgate-replay.1 man1/tickgate-sub.1 man1/tickgate-split.1 man5/tickgate.ini.5; do
    n=$(basename "$p"); n=${n%.*}
    if [ -s "$d/share/man/$p" ] && grep -q "^\.TH \"$n\"" "$d/share/man/$p"; then
        echo "ok: $p is a man page for $n"
    else
        fail "$p is not a man page for $n"
    fi
done
unit=$d/lib/systemd/system/tickgate.service
for k in User=tickgate ProtectSystem=strict Restart=on-failure StateDirectory=tickgate \
         "ExecStart=$prefix/bin/tickgate --config "; do
    grep -q "^$k" "$unit" && echo "ok: unit has $k" || fail "unit lacks $k"
done
if command -v systemd-analyze >/dev/null; then
    # verify with the paths of the staged install (the real ones do not exist here)
    mkdir -p "$tmp/unit"
    sed "s|$prefix/|$d/|g" "$unit" >"$tmp/unit/tickgate.service"
    if out=$(systemd-analyze verify --man=no "$tmp/unit/tickgate.service" 2>&1) && [ -z "$out" ]; then
        echo "ok: systemd-analyze verify: clean"
    else
        fail "systemd-analyze verify:"; echo "$out"
    fi
    expo=$(systemd-analyze security --offline=yes "$tmp/unit/tickgate.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for tickgate.service: \([0-9.]*\).*/\1/p')
    echo "note: systemd-analyze security exposure $expo (0 best, 10 worst)"
    python3 -c "import sys; sys.exit(0 if float('${expo:-10}') <= 3.0 else 1)" ||
        fail "unit exposure ${expo:-?} above 3.0"
else
    echo "note: systemd-analyze not installed: unit not verified"
fi
echo "$fails failure(s)"
[ $fails = 0 ]
