#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tickgate-replay serve refuses files it cannot serve whole, with a message that says why
# (issue 15): a truncated .zst (cut inside a compressed frame, at several places, also in a
# file of several zstd frames) is an error with a non-zero exit, never a silently shorter
# stream; a file that is no tgrec recording (random bytes, text, an empty file) is called that,
# not "protocol violation by peer". The intact recording still serves.
# Usage: test_ops_replay_files.sh TICKGATE-REPLAY RECORDINGS_DIR
set -u
replay=$1 recs=$2
rec="$recs/binance-delivery/cryptofeed_ce58c2a0_BINANCE_DELIVERY.ws.1.tgrec.zst"
[ -r "$rec" ] || { echo "no recording $rec: skipped"; exit 77; }
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# refused FILE PATTERN: serve exits non-zero at once with PATTERN on stderr.
refused() {
    local out rc
    out=$(timeout 10 "$replay" serve --port 0 --quiet "$1" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
        echo "FAIL: $(basename "$1") served (exit $rc): $out"
        fails=$((fails + 1))
    elif ! grep -Eq -- "$2" <<<"$out"; then
        echo "FAIL: $(basename "$1"): exit $rc but no /$2/ in: $out"
        fails=$((fails + 1))
    else
        echo "ok: $(basename "$1") -> exit $rc: $out"
    fi
}

size=$(stat -c %s "$rec")
for cut in 4 100 $((size / 3)) $((size / 2)) $((size - 100)) $((size - 1)); do
    head -c "$cut" "$rec" >"$tmp/cut$cut.tgrec.zst"
    refused "$tmp/cut$cut.tgrec.zst" 'truncated or corrupt zstd data'
done
# several frames: the first whole, the second cut
if command -v zstd >/dev/null; then
    zstd -dc "$rec" >"$tmp/plain.tgrec"
    half=$(($(wc -l <"$tmp/plain.tgrec") / 2))
    head -n "$half" "$tmp/plain.tgrec" | zstd -q -c >"$tmp/multi.tgrec.zst"
    tail -n +"$((half + 1))" "$tmp/plain.tgrec" | zstd -q -c >"$tmp/second.zst"
    head -c $(($(stat -c %s "$tmp/second.zst") / 2)) "$tmp/second.zst" >>"$tmp/multi.tgrec.zst"
    refused "$tmp/multi.tgrec.zst" 'truncated or corrupt zstd data'
fi
# a damaged byte in the middle of the compressed data
cp "$rec" "$tmp/flip.tgrec.zst"
chmod u+w "$tmp/flip.tgrec.zst"
printf '\377\377\377\377' | dd of="$tmp/flip.tgrec.zst" bs=1 seek=$((size / 2)) conv=notrunc \
    status=none
refused "$tmp/flip.tgrec.zst" 'truncated or corrupt zstd data'
# not recordings
head -c 4096 /dev/urandom >"$tmp/random.tgrec"
printf 'hello, I am a text file\nand no recording\n' >"$tmp/text.tgrec"
: >"$tmp/empty.tgrec"
for f in random text empty; do
    refused "$tmp/$f.tgrec" 'not a tgrec recording'
done
# the intact recording serves: the port line comes, the server keeps running
out=$(timeout 2 "$replay" serve --port 0 --quiet "$rec" 2>&1 </dev/null)
rc=$?
if [ "$rc" = 124 ] && grep -q '^listening port=' <<<"$out"; then
    echo "ok: the intact recording serves"
else
    echo "FAIL: the intact recording: exit $rc: $out"
    fails=$((fails + 1))
fi
echo "failures: $fails"
[ "$fails" = 0 ]
