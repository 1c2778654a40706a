#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared by the ops tests that run a live gateway on recorded traffic (test_ops_prom.sh,
# test_ops_dashboard.sh): a temp dir cleaned on exit, tickgate-replay serving recordings,
# [feed] sections read from a recording's header, a gateway started on a free metrics port.
# Source it; it sets: tmp, pids, fails; functions below.

tmp=$(mktemp -d)
pids=()
fails=0
ops_cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap ops_cleanup EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ops_free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# ops_recording VAR VENUE GLOB: VAR = the first recording of VENUE whose name matches GLOB
# (exit 77 if none)
ops_recording() {
    local rec=${TG_RECORDINGS:-$root/../shared/recordings} f
    f=$(find "$rec/$2" -name "$3" 2>/dev/null | sort | head -1)
    [ -n "$f" ] || { echo "SKIP: no $2 recording ($3) under $rec"; exit 77; }
    printf -v "$1" '%s' "$f"
}

# ops_start_replay TICKGATE-REPLAY ARGS... : serve; sets rport
ops_start_replay() {
    local replay=$1
    shift
    "$replay" serve --port 0 "$@" >"$tmp/replay.out" 2>"$tmp/replay.log" &
    pids+=($!)
    for _ in $(seq 1 100); do grep -q 'listening port=' "$tmp/replay.out" && break; sleep 0.1; done
    rport=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$tmp/replay.out" | head -1)
    [ -n "$rport" ] || { cat "$tmp/replay.log"; echo "FAIL: replay did not start"; exit 1; }
}

# ops_feed_ini NAME FILE: a [feed NAME] section for FILE served by the replay (venue and
# symbols from the recording's header)
ops_feed_ini() {
    local name=$1 f=$2 rec hdr venue syms
    rec=$(basename "$f"); rec=${rec%.zst}; rec=${rec%.tgrec}
    hdr=$( (case "$f" in *.zst) zstd -dc "$f" ;; *) cat "$f" ;; esac) | head -100 | grep '^# ')
    venue=$(sed -n 's/^# venue: //p' <<<"$hdr" | head -1)
    syms=$(sed -n 's/^# symbols: //p' <<<"$hdr" | head -1)
    printf '[feed %s]\nvenue = %s\nurl = ws://127.0.0.1:%s/rec/%s\nrest_url = http://127.0.0.1:%s/rec/%s\nsymbols = %s\n' \
        "$name" "$venue" "$rport" "$rec" "$rport" "$rec" "$syms"
}

# ops_sinks_ini SCHEMA: [postgres]/[redis] for services.sh servers, or both disabled; sets sinks
ops_sinks_ini() {
    if [ -n "${TG_TEST_PG_DSN:-}" ] && [ -n "${TG_TEST_REDIS_PORT:-}" ]; then
        sinks=1
        printf '[postgres]\nconninfo = %s\nschema = %s\nspill_dir = %s/spill\n' \
            "$TG_TEST_PG_DSN" "$1" "$tmp"
        printf '[redis]\nport = %s\n' "$TG_TEST_REDIS_PORT"
    else
        sinks=0
        printf '[postgres]\nenabled = false\n[redis]\nenabled = false\n'
    fi
}

# ops_start_gateway TICKGATE INI: run it with [metrics] on a free port; sets mport, gwpid;
# waits for frames on /metrics and MIN_VALID (default 1) VALID books ($tmp/metrics)
ops_start_gateway() {
    local gw=$1 ini=$2 ok=0
    mport=$(ops_free_port)
    printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$mport" >>"$ini"
    "$gw" --config "$ini" 2>"$tmp/gw.log" &
    gwpid=$!
    pids+=($gwpid)
    for _ in $(seq 1 150); do
        if curl -sf --max-time 2 "http://127.0.0.1:$mport/metrics" >"$tmp/metrics" &&
           awk -v want="${MIN_VALID:-1}" '/^tickgate_feed_frames_total/ {f+=$NF}
                /^tickgate_books_valid / {v=$NF} END {exit !(f > 0 && v >= want)}' "$tmp/metrics"; then
            ok=1
            break
        fi
        kill -0 $gwpid 2>/dev/null || break
        sleep 0.2
    done
    if [ $ok != 1 ]; then
        tail -20 "$tmp/gw.log"
        echo "FAIL: no frames or too few VALID books on /metrics"
        exit 1
    fi
}
