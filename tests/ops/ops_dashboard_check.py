#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The built-in dashboard in headless Chromium against a live gateway (test_ops_dashboard.sh).

Usage: ops_dashboard_check.py CHROMIUM BASE_URL SCREENSHOT.png

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
ended by NUL on fds 3 and 4; nothing but the standard library) and checks, on the real page:
  1. first load: the frames/s of every feed reads > 0 on the first poll (the page starts from
     the gateway's own history, not from zero);
  2. the numbers match /metrics within one poll: each counter the page shows (book gaps and
     sequence gaps per feed, tickgate_book_gaps_total) lies between a scrape taken before
     the page's poll and one taken after the DOM was read; frames/s per feed is within 35 %
     of the rate between those scrapes;
  3. per-feed book gaps add up to tickgate_book_gaps_total as shown;
  4. the ladder shows a book with best bid < best ask in the state /api/books gives; the gap
     events carry reason names; the exchange->receive column explains replayed data;
  5. a screenshot of the whole page is saved.
Prints one line per check; exits 1 if any failed.
"""
import base64
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

REASONS = {"other", "sequence", "checksum", "crossed", "reconnect", "stale", "resynced",
           "bad_event", "fault"}


class Browser:
    def __init__(self, chromium):
        r1, w1 = os.pipe()  # we write commands -> browser reads fd 3
        r2, w2 = os.pipe()  # browser writes fd 4 -> we read
        # out of the way of 3 and 4, so that the child's dup2()s cannot clobber them
        hi_r1, hi_w2 = fcntl.fcntl(r1, fcntl.F_DUPFD, 100), fcntl.fcntl(w2, fcntl.F_DUPFD, 100)

        def child():
            os.dup2(hi_r1, 3)
            os.dup2(hi_w2, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + os.environ.get("TMPDIR", "/tmp") +
             "/tg-dash-%d" % os.getpid(), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child)
        for fd in (r1, w2, hi_r1, hi_w2):
            os.close(fd)
        self.w, self.r = w1, r2
        self.buf = b""
        self.id = 0
        self.session = None

    def send(self, method, params=None, session=True):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == self.id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def open(self, url):
        tid = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1600, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"page: {r['exceptionDetails']}")
        return r["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# what the page shows: one JSON object
DOM = r"""(() => {
  const v = td => td ? (td.dataset.v === "" ? null : parseFloat(td.dataset.v)) : undefined;
  const feeds = {};
  for (const tr of document.querySelectorAll("#feeds tbody tr"))
    feeds[tr.dataset.feed] = { frames_rate: v(tr.querySelector(".frames-rate")),
      book_gaps: v(tr.querySelector(".book-gaps")), seq_gaps: v(tr.querySelector(".seq-gaps")),
      offset: v(tr.querySelector(".offset")), state: tr.children[2].textContent };
  const ladder = [...document.querySelectorAll("#ladder tr")].map(tr => [...tr.children].map(td => td.textContent));
  return { ticks: +(document.body.dataset.ticks || 0), feeds,
    gaps_sum: v(document.getElementById("feed-gaps-sum")),
    gaps_total: parseFloat((document.getElementById("book-gaps-total") || {}).textContent),
    instr: document.getElementById("instr").value, book_head: document.getElementById("book-head").textContent,
    ladder, gap_reasons: [...document.querySelectorAll("#gaps tbody tr")].map(tr => tr.children[3].textContent),
    note: document.getElementById("offset-note").textContent,
    status: document.getElementById("status").textContent };
})()"""


def scrape(base):
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        text = r.read().decode()
    t = time.monotonic()
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        k, v = line.rsplit(" ", 1)
        out[k] = float(v)
    return t, out


def msum(m, name, feed=None):
    s = 0.0
    for k, v in m.items():
        n = k.split("{", 1)[0]
        if n == name and (feed is None or f'feed="{feed}"' in k):
            s += v
    return s


def main():
    chromium, base, shot = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    fails = []

    def check(ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            fails.append(what)

    b = Browser(chromium)
    try:
        b.open(base + "/")
        # 1. the first poll
        d = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                d = b.eval(DOM)
            except RuntimeError:
                d = None
            if d and d["ticks"] >= 1:
                break
            time.sleep(0.05)
        if not d or d["ticks"] < 1:
            check(False, "the page never completed a poll")
            return 1
        first = {f: x["frames_rate"] for f, x in d["feeds"].items()}
        check(len(first) >= 2 and all(r is not None and r > 0 for r in first.values()),
              f"first load (poll {d['ticks']}): frames/s per feed {first} all > 0")

        # 2. numbers against /metrics within one poll
        t0, m0 = scrape(base)
        k0 = b.eval(DOM)["ticks"]
        while b.eval(DOM)["ticks"] < k0 + 2 and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        d = b.eval(DOM)
        t1, m1 = scrape(base)
        for feed, x in d["feeds"].items():
            for col, name in (("book_gaps", "tickgate_feed_book_gaps_total"),
                              ("seq_gaps", "tickgate_feed_gaps_total")):
                lo, hi = msum(m0, name, feed), msum(m1, name, feed)
                check(x[col] is not None and lo <= x[col] <= hi,
                      f"feed {feed}: {col} shown {x[col]}, /metrics {name} {lo}..{hi}")
            want = (msum(m1, "tickgate_feed_frames_total", feed) -
                    msum(m0, "tickgate_feed_frames_total", feed)) / (t1 - t0)
            got = x["frames_rate"]
            check(got is not None and want > 0 and abs(got - want) <= 0.35 * want,
                  f"feed {feed}: frames/s shown {got and round(got)}, /metrics rate {round(want)}")
        lo, hi = msum(m0, "tickgate_book_gaps_total"), msum(m1, "tickgate_book_gaps_total")
        check(lo <= d["gaps_total"] <= hi,
              f"tickgate_book_gaps_total shown {d['gaps_total']}, /metrics {lo}..{hi}")
        # 3. per-feed gaps add up (one record may sit between the tap and the total)
        per = sum(x["book_gaps"] or 0 for x in d["feeds"].values())
        check(per == d["gaps_sum"] and abs(d["gaps_sum"] - d["gaps_total"]) <= 1 and per > 0,
              f"per-feed book gaps {per} = sum row {d['gaps_sum']} = tickgate_book_gaps_total {d['gaps_total']}")

        # 4. ladder, gap events, offsets
        with urllib.request.urlopen(base + "/api/books", timeout=5) as r:
            books = {f"{x['venue']} {x['symbol']}": x for x in json.load(r)["books"]}
        state = (books.get(d["instr"]) or {}).get("state")
        asks = [float(r[2]) for r in d["ladder"] if len(r) == 4 and re.match(r"^[0-9.]+$", r[2])]
        bids = [float(r[1]) for r in d["ladder"] if len(r) == 4 and re.match(r"^[0-9.]+$", r[1])]
        check(bool(asks) and bool(bids) and max(bids) < min(asks) and state is not None and
              d["book_head"].startswith(state),
              f"ladder {d['instr']}: {len(bids)} bids < {len(asks)} asks, state '{d['book_head'][:30]}' "
              f"(/api/books: {state})")
        check(bool(d["gap_reasons"]) and set(d["gap_reasons"]) <= REASONS,
              f"gap events by reason name: {sorted(set(d['gap_reasons']))}")
        offs = {f: x["offset"] for f, x in d["feeds"].items()}
        check(all(o and o > 3600 for o in offs.values()) and "replayed data" in d["note"],
              f"exchange->receive offsets {offs} s explained as replayed data")

        # 5. the screenshot
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": 1400, "height": 1900, "deviceScaleFactor": 1, "mobile": False})
        time.sleep(1.2)  # one more poll at the new size (the charts redraw on each)
        png = b.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        check(os.path.getsize(shot) > 20000, f"screenshot {shot} ({os.path.getsize(shot)} bytes)")
    finally:
        b.close()
    print(f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
