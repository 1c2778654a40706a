# SPDX-License-Identifier: MIT
"""Test follower: follow every instrument (patterns "*" "*") until a trade on --end-venue,
validating every document against a JSON Schema, then write the final state (used by
tests/integration/test_it_client.c; the line format is documented there).

    python3 -m tickgate.follow --url URL --prefix P --end-venue zz --schema S --out FILE
"""
import argparse
import json
import sys

from . import Client


def levels(lv):
    return ",".join("%s:%s" % (p, s) for p, s in lv) or "-"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tickgate.follow")
    ap.add_argument("--url", default="redis://127.0.0.1:6379")
    ap.add_argument("--prefix", default="tg")
    ap.add_argument("--end-venue", default="zz")
    ap.add_argument("--schema")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    validate = None
    if a.schema:
        import jsonschema  # python3-jsonschema
        with open(a.schema) as f:
            schema = json.load(f)
        validator = jsonschema.Draft202012Validator(schema)
        validate = validator.iter_errors
    c = Client(a.url, prefix=a.prefix)
    c.subscribe("*", "*", kinds=("book", "trades", "candles"), interval="*")
    c.connect()
    print("READY", flush=True)
    out, ok, bad = [], 0, 0
    books = set()
    ending = False  # the end marker came: take what is still queued, then stop
    while True:
        ev = c.next(0.3 if ending else 30.0)
        if ev is None and ending:
            break
        if ev is None:
            print("timeout waiting for the end marker", file=sys.stderr)
            return 1
        if ev.raw is not None and validate is not None:
            errs = list(validate(json.loads(ev.raw)))
            if errs:
                bad += 1
                print("schema: %s: %s" % (ev.raw[:200], errs[0].message), file=sys.stderr)
            else:
                ok += 1
        if ev.kind == "trade":
            if ev.venue == a.end_venue:
                # a re-join may have queued other channels' keys after it (their order is
                # the channels', not the publisher's)
                ending = True
                continue
            d = ev.doc
            out.append("T %s %s %d %s %s %d" % (ev.venue, ev.symbol, ev.seq, d["price"],
                                                d["size"], d.get("trade_id", 0)))
        elif ev.kind == "hole":
            out.append("H %s %s %s %d %d %d" % (ev.venue, ev.symbol, ev.chan_kind,
                                                ev.hole["missing"], ev.hole["recovered"],
                                                ev.hole.get("filled", 0)))
        elif ev.kind == "book":
            books.add((ev.venue, ev.symbol))
        elif ev.kind == "bad":
            print("bad document: %s" % ev.text, file=sys.stderr)
            bad += 1
    for venue, symbol in sorted(books):
        b = c.book(venue, symbol)
        out.append("B %s %s %s %d %s %s" % (venue, symbol, b.state, b.generation,
                                            levels(b.bids), levels(b.asks)))
    out.append("S schema_ok %d" % ok)
    out.append("S schema_bad %d" % bad)
    for k in ("disconnects", "reconnects", "holes", "missing"):
        out.append("S %s %d" % (k, c.counters[k]))
    c.close()
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
