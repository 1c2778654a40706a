#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tickgate speaks systemd's notify protocol (Type=notify, WatchdogSec=): run it with a fake
# NOTIFY_SOCKET and WATCHDOG_USEC; it must send READY=1 once running, WATCHDOG=1 every second,
# STOPPING=1 on SIGTERM. Usage: test_ops_notify.sh TICKGATE
set -u
gw=$1
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $gwpid $lpid 2>/dev/null; rm -rf "$tmp"' EXIT
gwpid= lpid=
sock=$tmp/notify.sock
python3 - "$sock" >"$tmp/msgs" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 30
while time.time() < end:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        continue
    print(repr(m), flush=True)
    if m.startswith("STOPPING=1"):
        break
PY
lpid=$!
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat >"$tmp/gw.ini" <<INI
[postgres]
enabled = false
[redis]
enabled = false
[metrics]
listen = 127.0.0.1:$port
[feed x]
venue = binance
url = ws://127.0.0.1:1/
symbols = BTCUSDT
INI
NOTIFY_SOCKET=$sock WATCHDOG_USEC=2000000 "$gw" --config "$tmp/gw.ini" 2>"$tmp/gw.log" &
gwpid=$!
for _ in $(seq 1 100); do [ "$(grep -c "WATCHDOG=1" "$tmp/msgs")" -ge 2 ] && break; sleep 0.1; done
kill -TERM $gwpid
wait $gwpid
rc=$?
wait $lpid
cat "$tmp/msgs"
fails=0
grep -q "^'READY=1\\\\nSTATUS=running: 1 feeds'" "$tmp/msgs" || { echo "FAIL: no READY=1"; fails=1; }
[ "$(grep -c "^'WATCHDOG=1'" "$tmp/msgs")" -ge 2 ] || { echo "FAIL: fewer than 2 WATCHDOG=1"; fails=1; }
grep -q "^'STOPPING=1" "$tmp/msgs" || { echo "FAIL: no STOPPING=1"; fails=1; }
# READY comes before the first WATCHDOG
[ "$(head -1 "$tmp/msgs" | cut -c2-8)" = "READY=1" ] || { echo "FAIL: READY=1 is not first"; fails=1; }
[ $rc = 0 ] || { echo "FAIL: tickgate exited $rc"; tail -5 "$tmp/gw.log"; fails=1; }
[ $fails = 0 ] && echo "ok: READY, WATCHDOG, STOPPING"
exit $fails
