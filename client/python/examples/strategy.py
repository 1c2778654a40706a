#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Example strategy on the tickgate Python package: follows venue/symbol (patterns allowed),
prints the mid-price and the spread of every instrument whose book changed (exact Decimals),
and every hole it saw; a summary at the end.

    PYTHONPATH=client/python python3 client/python/examples/strategy.py \
        --url redis://127.0.0.1:6379 --prefix tg --seconds 10 '*' '*'
"""
import argparse
import sys
import time

import tickgate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="redis://127.0.0.1:6379")
    ap.add_argument("--prefix", default="tg")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    ap.add_argument("--count", type=int, default=0, help="stop after this many books")
    ap.add_argument("venue")
    ap.add_argument("symbol")
    a = ap.parse_args()
    c = tickgate.Client(a.url, prefix=a.prefix)
    c.subscribe(a.venue, a.symbol, kinds=("book", "trades"))
    c.connect()
    end = time.monotonic() + a.seconds if a.seconds else None
    books = holes = 0

    def on_event(ev):
        nonlocal books, holes
        if ev.kind == "book":
            b = ev.book
            books += 1
            if b.state != "VALID":
                print("%s %s %s: no price (book %s)" % (ev.venue, ev.symbol, ev.seq, b.state))
            elif b.mid() is not None:
                print("%s %s mid %s spread %s" % (ev.venue, ev.symbol, format(b.mid(), "f"),
                                                  format(b.spread(), "f")))
        elif ev.kind == "hole":
            holes += 1
            h = ev.hole
            print("HOLE %s: %d message(s) missing (after %d, got %d), %s" % (
                ev.channel, h["missing"], h["seq_after"], h["seq_got"],
                "recovered from the %s" % h["source"] if h["recovered"] else "lost"))
        elif ev.kind in ("disconnected", "epoch"):
            print("%s %s" % (ev.kind.upper(), ev.text or ev.channel))
        sys.stdout.flush()

    c.run(on_event, stop=lambda: (end is not None and time.monotonic() >= end) or
          (a.count and books >= a.count))
    print("# %d book updates, %d holes, counters %s" % (books, holes, c.counters))
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
