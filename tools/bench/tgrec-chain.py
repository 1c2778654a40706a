#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Chain a Binance tgrec recording with itself into a longer, continuous one (benchmarks).

usage: tools/bench/tgrec-chain.py IN(.tgrec[.zst]) OUT.tgrec COPIES

The header and the data lines once, then COPIES - 1 more copies of the data lines that continue
the first one: a book that stays LIVE from copy to copy (no gap, no resync, no crossed book), so
the work per byte is that of one long day, unlike plain repetition (bench-offline.sh --rss-gb),
where the ids go back and the handler resyncs and then mostly drops diffs. Copy k >= 1 leaves
out the in-band snapshot and the diffs copy 0 dropped as older than it, and starts with one
bridge diff that sets the book copy k-1 ended with back to the snapshot's levels; its update
ids ("U", "u", "lastUpdateId") move up so that the bridge and then its diffs follow on. Receive
times and the "E"/"T" times move up by the file's time span per copy and trade ids ("t") by
their span, so candles keep closing and no trade is a re-delivery. Needs exactly one in-band
@depthSnapshot line (the spot BTCUSDT recording has one).
"""
import json
import re
import subprocess
import sys
from decimal import Decimal

src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
if src.endswith(".zst"):
    text = subprocess.run(["zstd", "-dcq", src], check=True, capture_output=True).stdout
else:
    with open(src, "rb") as f:
        text = f.read()
lines = text.split(b"\n")
head = [l for l in lines if l.startswith(b"#")]
data = [l for l in lines if l and not l.startswith(b"#")]
body = b"\n".join(data) + b"\n"

NUM = re.compile(rb'(?m)(^|"(?:E|T|U|u|t|lastUpdateId)":)(\d+)')


def spans(b):
    """(id lo, id hi, ms lo, ms hi, ns lo, ns hi, trade lo, trade hi) over the data lines"""
    ids, ms, ns, tr = [], [], [], []
    for m in NUM.finditer(b):
        k, v = m.group(1), int(m.group(2))
        if k == b"":
            ns.append(v)
        elif k in (b'"U":', b'"u":', b'"lastUpdateId":'):
            ids.append(v)
        elif k in (b'"E":', b'"T":'):
            ms.append(v)
        else:
            tr.append(v)
    return min(ids), max(ids), min(ms), max(ms), min(ns), max(ns), min(tr), max(tr)


id_lo, id_hi, ms_lo, ms_hi, ns_lo, ns_hi, tr_lo, tr_hi = spans(body)

# The book of copy 0: the in-band snapshot, then the diffs newer than it, in file order.
snaps = [l for l in data if b"@depthSnapshot" in l]
if len(snaps) != 1:
    sys.exit("tgrec-chain: needs exactly one in-band @depthSnapshot line")
snap = json.loads(snaps[0].split(b" ", 1)[1])["data"]
L = snap["lastUpdateId"]
book0 = {s: {Decimal(p): q for p, q in snap[k]} for s, k in (("b", "bids"), ("a", "asks"))}
book = {s: dict(v) for s, v in book0.items()}
first_U = first_kept_U = None
last_line = None
for l in data:
    if b'"e":"depthUpdate"' not in l:
        continue
    d = json.loads(l.split(b" ", 1)[1])["data"]
    first_U = d["U"] if first_U is None else first_U
    if d["u"] <= L:
        continue
    first_kept_U = d["U"] if first_kept_U is None else first_kept_U
    for s in ("b", "a"):
        for p, q in d[s]:
            if Decimal(q) == 0:
                book[s].pop(Decimal(p), None)
            else:
                book[s][Decimal(p)] = q
    last_u = d["u"]
    last_line = l

# Copy k >= 1 starts with a bridge diff that turns the book copy k-1 ended with back into the
# snapshot's, ids last_u(k-1) + 1 .. first kept U(k) - 1, so every diff after it applies as in
# copy 0. The ids move by d_id per copy so that the bridge's ids fit between the two.
d_id = last_u - first_U + 2
bridge = {}
for s in ("b", "a"):
    lv = [[str(p), "0.00000000"] for p in book[s] if p not in book0[s]]
    lv += [[str(p), q] for p, q in book0[s].items() if book[s].get(p) != q]
    bridge[s] = lv
last_ts = int(data[-1].split(b" ", 1)[0])
last_E = json.loads(last_line.split(b" ", 1)[1])["data"]["E"]
sym_stream = json.loads(last_line.split(b" ", 1)[1])["stream"]
sym = json.loads(last_line.split(b" ", 1)[1])["data"]["s"]
d_ms = ms_hi - ms_lo + 1000
d_ns = d_ms * 1000000
d_tr = tr_hi - tr_lo + 1

# copies k >= 1: no snapshot, no diff that copy 0 dropped as older than it
kept = []
for l in data:
    if b"@depthSnapshot" in l:
        continue
    if b'"e":"depthUpdate"' in l and json.loads(l.split(b" ", 1)[1])["data"]["u"] <= L:
        continue
    kept.append(l)
body_k = b"\n".join(kept) + b"\n"
parts = NUM.split(body_k)  # [text, key, num, text, key, num, ..., text], split once


def bridge_line(k):
    msg = {"stream": sym_stream, "data": {"e": "depthUpdate", "E": last_E + (k - 1) * d_ms,
           "s": sym, "U": last_u + (k - 1) * d_id + 1, "u": first_kept_U + k * d_id - 1,
           "b": bridge["b"], "a": bridge["a"]}}
    return b"%d %s\n" % (last_ts + (k - 1) * d_ns,
                          json.dumps(msg, separators=(",", ":")).encode())


with open(out, "wb") as f:
    f.write(b"\n".join(head) + b"\n")
    f.write(body)
    for k in range(1, copies):
        add = {
            b"": k * d_ns,
            b'"U":': k * d_id,
            b'"u":': k * d_id,
            b'"lastUpdateId":': k * d_id,
            b'"E":': k * d_ms,
            b'"T":': k * d_ms,
            b'"t":': k * d_tr,
        }
        piece = [bridge_line(k), parts[0]]
        for i in range(1, len(parts), 3):
            key, num, rest = parts[i], parts[i + 1], parts[i + 2]
            piece.append(key)
            piece.append(b"%d" % (int(num) + add[key]))
            piece.append(rest)
        f.write(b"".join(piece))
