#!/usr/bin/env bash
# Install the Debian 12 packages tickgate needs to build, test and run its demo. Idempotent:
# installs only what is missing. Needs root (or sudo).
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc libc6-dev scdoc prometheus
      libwebsockets-dev libssl-dev openssl libhiredis-dev libpq-dev libjemalloc-dev
      libcmocka-dev libzstd-dev zstd libinih-dev libjsmn-dev zlib1g-dev
      postgresql postgresql-client redis-server redis-tools ca-certificates procps iproute2 curl
      python3-redis python3-jsonschema # client/python (tickgate package) and its schema test
      chromium) # the dashboard test (tests/ops/test_ops_dashboard.sh)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# scdoc builds the man pages; prometheus gives promtool and the server the ops tests use
# (tests/ops); like postgresql, its Debian package starts a service where systemd runs, unused.
# The Debian postgresql package starts a cluster on 5432 via systemd where systemd runs; we
# never use it (tests and the demo start their own servers on free ports).
