# SPDX-License-Identifier: MIT
"""tickgate: consistent market data from a tickgate gateway's Redis publisher, in pure Python.

The same semantics as the C library libtickgate-client (docs/clients.md):

* the join: SUBSCRIBE/PSUBSCRIBE first, wait for every confirmation (messages that arrive
  meanwhile are kept), then SCAN (patterns) and GET every snapshot key, apply the keys, then the
  kept and the new messages;
* one rule for every document of a channel, key or message: a different ``epoch`` is a publisher
  restart (numbers restart at 1), ``seq <= last`` is already covered, a jump is a hole of
  ``seq - last - 1`` messages, reported (event ``hole``) before the document that showed it;
* recovery: book and candle documents are full snapshots (the hole is recovered at once); a book
  hole shown by a ``gap`` document re-reads the book key at once; a trade hole is filled from the
  channel's Redis Stream when the gateway writes one (``[redis] stream_trades``: XRANGE by
  number, the entries delivered before the document that showed the hole, ``hole["filled"]``,
  ``source="stream"``), else the trades are reported lost; a lost connection is reported (``disconnected``), the client re-joins with backoff and the key
  reads report what the outage cost (``hole`` with ``disconnected=True``); the publisher's
  ``hello`` on ``{prefix}.control`` (after each of its connects, keys restored) makes the client
  read the keys again, so an outage that emptied Redis shows once the gateway is back;
* decimals are ``decimal.Decimal`` parsed from the JSON strings (exact, never float);
* a Redis Cluster (``redis-cluster://host:port,host:port``, since 1.2): hash-tagged names,
  SSUBSCRIBE at each channel's primary, patterns found by SCAN (tickgate/cluster.py).

Dependency: redis-py (Debian's python3-redis) only. Thread: one thread per Client.
"""
import json
import random
import time
from decimal import Decimal

import redis

from . import cluster as _cl

__version__ = "1.2.0"
__all__ = ["Client", "Event", "Book", "__version__"]

STATES = ("VALID", "RESYNCING", "STALE", "FAULT")


class Book:
    """A top-N book as last delivered: bids/asks are lists of (price, size) Decimals, best
    first; ``state`` is one of VALID, RESYNCING, STALE, FAULT (only VALID is trustworthy)."""

    __slots__ = ("venue", "symbol", "seq", "epoch", "state", "generation", "exch_seq",
                 "ts_exch", "ts_recv", "depth_bids", "depth_asks", "bids", "asks", "reason")

    def __init__(self, venue, symbol):
        self.venue, self.symbol = venue, symbol
        self.seq = self.epoch = self.generation = self.exch_seq = 0
        self.ts_exch = self.ts_recv = self.depth_bids = self.depth_asks = 0
        self.state, self.reason = "UNKNOWN", ""
        self.bids, self.asks = [], []

    def take(self, d):
        self.seq, self.epoch = d["seq"], d["epoch"]
        self.state, self.generation = d["state"], d["generation"]
        self.exch_seq = d.get("exch_seq", 0)
        self.ts_exch, self.ts_recv = d.get("ts_exch", 0), d.get("ts_recv", 0)
        self.depth_bids, self.depth_asks = d.get("depth_bids", 0), d.get("depth_asks", 0)
        self.reason = d.get("reason", "")
        self.bids = [(Decimal(p), Decimal(s)) for p, s in d["bids"]]
        self.asks = [(Decimal(p), Decimal(s)) for p, s in d["asks"]]

    def mid(self):
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2

    def spread(self):
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]


class Event:
    """One event. ``kind``: book, trade, candle, status, hole, recovered, epoch, disconnected,
    connected, bad; trade_gap (1.2: trades lost at the venue, ``doc["trade_id_last"]`` and
    ``doc["trade_id_next"]`` around them, numbered on the trades channel). ``doc`` is the parsed document (decimals as Decimal), ``raw`` its text."""

    __slots__ = ("kind", "chan_kind", "channel", "venue", "symbol", "seq", "epoch", "from_key",
                 "from_stream", "doc", "raw", "book", "hole", "text", "epoch_old")

    def __init__(self, kind, ch=None, **kw):
        self.kind = kind
        self.chan_kind = ch.kind if ch else None
        self.channel = ch.name if ch else ""
        self.venue = ch.venue if ch else ""
        self.symbol = ch.symbol if ch else ""
        self.seq = self.epoch = self.epoch_old = 0
        self.from_key = self.from_stream = False
        self.doc = self.raw = self.book = self.hole = None
        self.text = ""
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self):
        return "Event(%s %s seq=%s%s)" % (self.kind, self.channel, self.seq,
                                           " hole=%s" % self.hole if self.hole else "")


_DEC_FIELDS = ("price", "size", "open", "high", "low", "close", "volume", "buy_volume",
               "sell_volume", "vwap")


def parse_doc(raw):
    """Parse one gateway document; decimal fields become Decimal. Raises ValueError."""
    d = json.loads(raw)
    if not isinstance(d, dict) or "type" not in d or "seq" not in d or "epoch" not in d:
        raise ValueError("not a tickgate document")
    for f in _DEC_FIELDS:
        if isinstance(d.get(f), str):
            d[f] = Decimal(d[f])
    return d


class _Chan:
    __slots__ = ("name", "key", "stream", "kind", "venue", "symbol", "interval", "last", "epoch",
                 "joined", "pending", "book", "book_seq", "candle")

    def __init__(self, prefix, name, cluster=False):
        rest = name[len(prefix) + 1:]
        kind, rest = rest.split(".", 1)
        self.interval = None
        if kind == "candles":
            self.interval, rest = rest.split(".", 1)
        if cluster:  # "{venue:symbol}"
            if not (rest.startswith("{") and rest.endswith("}") and ":" in rest):
                raise ValueError("not a cluster channel: %r" % name)
            self.venue, self.symbol = rest[1:-1].split(":", 1)
            inst = rest
        else:
            self.venue, self.symbol = rest.split(".", 1)
            inst = "%s:%s" % (self.venue, self.symbol)
        self.name, self.kind = name, kind
        ivl = self.interval + ":" if self.interval else ""
        word = {"book": "book", "trades": "trade", "candles": "candle"}[kind]
        self.key = "%s:%s:%s%s" % (prefix, word, ivl, inst)
        # the channel's stream: {prefix}:stream:{kind}:[{interval}:]{venue}:{symbol}
        self.stream = "%s:stream:%s:%s%s" % (prefix, kind, ivl, inst)
        self.last = self.epoch = self.book_seq = 0
        self.joined = self.pending = False
        self.book = Book(self.venue, self.symbol) if kind == "book" else None
        self.candle = None


class Client:
    """Follow instruments of a tickgate gateway through Redis.

    >>> c = Client("redis://127.0.0.1:6379", prefix="tg")
    >>> c.subscribe("binance", "BTCUSDT")          # patterns too: c.subscribe("*", "*")
    >>> c.connect()
    >>> for ev in c.events(timeout=1.0): ...
    """

    KINDS = ("book", "trades", "candles")

    def __init__(self, url="redis://127.0.0.1:6379", prefix="tg", connect_timeout=1.0,
                 command_timeout=2.0, backoff_min=0.05, backoff_max=0.8):
        self.url, self.prefix = url, prefix
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self._subs = []
        self._chans = {}
        self._queue = []
        self._kept = []
        self._ps = self._cmd = None
        self._state = "idle"
        self._backoff = backoff_min
        self._retry_at = 0.0
        self._epoch_seen = 0
        self._control = "%s.control" % prefix
        self.cluster = url.startswith(_cl.SCHEME)
        if self.cluster:
            _cl.parse_url(url)  # a bad seed list fails here, not at connect()
        self.counters = dict(messages=0, keys=0, skipped=0, holes=0, missing=0, unrecovered=0,
                             epochs=0, disconnects=0, reconnects=0, bad=0)

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(self, venue, symbol, kinds=("book", "trades"), interval="*"):
        """Follow venue/symbol (Redis glob patterns allowed) for the given channel kinds
        ("book", "trades", "candles"; candles of ``interval``, e.g. "1m" or "*")."""
        if self._state != "idle":
            raise RuntimeError("subscribe before connect()")
        for k in kinds:
            if k not in self.KINDS:
                raise ValueError("unknown kind %r" % k)
            name = self._name(k, venue, symbol, interval)
            pattern = any(ch in name for ch in "*?[")
            self._subs.append((name, pattern))

    def _name(self, kind, venue, symbol, interval=None):
        """The channel name; on a cluster the instrument is the hash tag {venue:symbol}."""
        inst = _cl.tag(venue, symbol) if self.cluster else "%s.%s" % (venue, symbol)
        ivl = interval + "." if kind == "candles" else ""
        return "%s.%s.%s%s" % (self.prefix, kind, ivl, inst)

    def book(self, venue, symbol):
        """The held book of venue/symbol, or None."""
        ch = self._chans.get(self._name("book", venue, symbol))
        return ch.book if ch and ch.joined else None

    def _chan(self, name):
        ch = self._chans.get(name)
        if ch is None:
            try:
                ch = _Chan(self.prefix, name, self.cluster)
            except ValueError:
                return None
            self._chans[name] = ch
        return ch

    # -- the join -------------------------------------------------------------------------------
    def _redis(self):
        if self.cluster:
            return _cl.connect(self.url, self.connect_timeout, self.command_timeout)
        return redis.Redis.from_url(self.url, socket_connect_timeout=self.connect_timeout,
                                    socket_timeout=self.command_timeout)

    def connect(self):
        """Connect, subscribe and join (blocking). The join's events come from events()."""
        if not self._subs:
            raise ValueError("nothing subscribed")
        self._join(after_loss=False)

    def _join(self, after_loss):
        self._close()
        self._cmd = self._redis()
        exact = [n for n, p in self._subs if not p]
        pats = [n for n, p in self._subs if p]
        for n in exact:
            self._chan(n)
        self._silent = False
        if self.cluster:
            # sharded pub/sub has no patterns: their channels are found by SCAN first, then
            # every channel is SSUBSCRIBEd at its primary
            self._ps = _cl.ShardedPubSub(self._cmd, self.url, self.connect_timeout,
                                         self.command_timeout)
            self._scan()
            self._ps.ssubscribe(self._control, *self._chans)
            want = 1 + len(self._chans)
        else:
            self._ps = self._cmd.pubsub(ignore_subscribe_messages=False)
            self._ps.subscribe(self._control, *exact)
            if pats:
                self._ps.psubscribe(*pats)
            # redis-py may reconnect a pub/sub connection by itself (and re-subscribe): the
            # messages in between are lost, so any later connect of this connection is an
            # outage
            self._ps.connection.register_connect_callback(self._on_reconnect)
            want = 1 + len(exact) + len(pats)
        deadline = time.monotonic() + self.command_timeout
        self._kept = []
        while want > 0:
            m = self._ps.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if m is None:
                if time.monotonic() >= deadline:
                    raise TimeoutError("no SUBSCRIBE confirmation in time")
                continue
            if m["type"] in ("subscribe", "psubscribe"):
                want -= 1
            elif m["type"] in ("message", "pmessage"):
                self._kept.append(m)  # applied after the keys, as the join rule says
        self._read_keys(after_loss, scan=not self.cluster)  # a cluster join scanned already
        self._state = "up"
        self._backoff = self.backoff_min
        if after_loss:
            self.counters["reconnects"] += 1
        self._queue.append(Event("connected"))

    def _scan(self):
        """SCAN the keys of pattern subscriptions: each key found becomes a channel."""
        for n in [n for n, p in self._subs if p]:  # keys of pattern subscriptions
            kind, rest = n[len(self.prefix) + 1:].split(".", 1)
            keypat = "%s:%s:%s" % (self.prefix, {"book": "book", "trades": "trade",
                                                 "candles": "candle"}[kind], _cl.colons(rest))
            for key in self._cmd.scan_iter(match=keypat, count=1000):  # every primary
                key = key.decode()
                k2, krest = key[len(self.prefix) + 1:].split(":", 1)
                kw = {"book": "book", "trade": "trades", "candle": "candles"}.get(k2)
                if kw:
                    self._chan("%s.%s.%s" % (self.prefix, kw, _cl.dots(krest)))

    def _read_keys(self, after_loss, scan=True):
        before = len(self._chans)
        if scan:
            self._scan()
        chans = list(self._chans.values())
        if self.cluster and len(chans) > before:  # a pattern's new instruments (on a hello)
            self._ps.ssubscribe(*[c.name for c in chans[before:]])
        mget = self._cmd.mget_nonatomic if self.cluster else self._cmd.mget
        vals = mget([c.key for c in chans]) if chans else []
        for ch, raw in zip(chans, vals):
            if raw is not None:
                self._apply(ch, raw.decode(), True, after_loss)

    def _on_reconnect(self, conn):
        self._silent = True

    def _close(self):
        for x in (self._ps, self._cmd):
            try:
                if x is not None:
                    x.close()
            except Exception:  # closing a dead connection
                pass
        self._ps = self._cmd = None

    def close(self):
        self._close()
        self._state = "idle"

    # -- the rule -------------------------------------------------------------------------------
    def _stream_entries(self, ch, epoch, first, last):
        """Documents first..last of the channel's stream (IDs <epoch_ms>-<seq>), the run that
        is contiguous from first; [] without a stream."""
        ems = epoch // 1000000
        try:
            got = self._cmd.xrange(ch.stream, min="%d-%d" % (ems, first),
                                   max="%d-%d" % (ems, last))
        except (redis.RedisError, OSError):
            return []
        out = []
        for eid, fields in got:
            if int(eid.split(b"-")[1]) != first + len(out) or b"doc" not in fields:
                break
            out.append(fields[b"doc"].decode())
        return out

    def _apply(self, ch, raw, from_key, after_loss, from_stream=False):
        try:
            d = parse_doc(raw)
            ok = {"book": ("book", "gap"), "trades": ("trade", "trade_gap"),
                  "candles": ("candle",)}
            if d["type"] not in ok[ch.kind] or d["seq"] < 1:
                raise ValueError("document type does not match its channel")
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            self.counters["bad"] += 1
            self._queue.append(Event("bad", ch, raw=raw, text=str(e)))
            return
        seq, epoch = d["seq"], d["epoch"]
        if from_key:
            self.counters["keys"] += 1
        if not ch.joined and after_loss and self._epoch_seen and epoch == self._epoch_seen:
            ch.joined, ch.epoch, ch.last = True, epoch, 0  # first seen after an outage
        missing, after = 0, ch.last
        new_epoch = ch.joined and epoch != ch.epoch
        if new_epoch:
            self.counters["epochs"] += 1
            self._queue.append(Event("epoch", ch, seq=seq, epoch=epoch, epoch_old=ch.epoch))
            ch.last = after = ch.book_seq = 0
            missing = seq - 1
        elif ch.joined:
            if seq <= ch.last:
                self.counters["skipped"] += 1
                return
            missing = seq - ch.last - 1
        if missing and ch.kind == "trades" and not new_epoch and not from_stream:
            entries = self._stream_entries(ch, epoch, after + 1, seq - 1)
            hole = dict(missing=missing, seq_after=after, seq_got=seq,
                        recovered=len(entries) == missing, source="stream" if entries else None,
                        disconnected=after_loss, filled=len(entries))
            self.counters["holes"] += 1
            self.counters["missing"] += missing
            if len(entries) != missing:
                self.counters["unrecovered"] += 1
            self._queue.append(Event("hole", ch, seq=seq, epoch=epoch, from_key=from_key,
                                     hole=hole))
            for e in entries:  # delivered before the document that showed the hole
                self._apply(ch, e, False, False, True)
            missing = 0  # reported
        if not from_key:
            self.counters["messages"] += 1
        ch.epoch = self._epoch_seen = epoch
        ch.last = seq
        ch.joined = True
        if missing:
            hole = dict(missing=missing, seq_after=after, seq_got=seq, recovered=False,
                        source=None, disconnected=after_loss, filled=0)
            self.counters["holes"] += 1
            self.counters["missing"] += missing
            if ch.kind == "trades":
                self.counters["unrecovered"] += 1
            elif d["type"] == "gap":
                ch.book.state, ch.book.generation = d["state"], d["generation"]
                if self._book_from_key(ch, seq):
                    hole.update(recovered=True, source="key")
                else:
                    ch.pending = True
                    self.counters["unrecovered"] += 1
            else:
                hole.update(recovered=True, source="key" if from_key else "message")
            self._queue.append(Event("hole", ch, seq=seq, epoch=epoch, from_key=from_key,
                                     hole=hole))
        t = d["type"]
        ev = Event({"gap": "status", "trades": "trade"}.get(t, t), ch, seq=seq, epoch=epoch,
                   from_key=from_key, from_stream=from_stream, doc=d, raw=raw)
        if t == "book":
            ch.book.take(d)
            ch.book_seq = seq
            ev.book = ch.book
        elif t == "gap":
            ch.book.state, ch.book.generation = d["state"], d["generation"]
            ch.book.seq, ch.book.epoch = seq, epoch
            ev.book = ch.book
        elif t == "candle":
            ch.candle = d
        self._queue.append(ev)
        if ch.pending and t != "gap":
            ch.pending = False
            self._queue.append(Event("recovered", ch, seq=seq))

    def _book_from_key(self, ch, gap_seq):
        try:
            raw = self._cmd.get(ch.key)
            if raw is None:
                return False
            d = parse_doc(raw.decode())
        except (redis.RedisError, ValueError):
            return False
        if d["type"] != "book" or d["epoch"] != ch.epoch:
            return False
        self.counters["keys"] += 1
        if d["seq"] > ch.book_seq:
            st, gen = ch.book.state, ch.book.generation
            ch.book.take(d)
            ch.book_seq = d["seq"]
            if d["seq"] < gap_seq:  # the gap document is newer: its state wins
                ch.book.state, ch.book.generation = st, gen
        return True

    # -- events ---------------------------------------------------------------------------------
    def _lost(self, why):
        self._close()
        self._state = "down"
        self.counters["disconnects"] += 1
        self._queue.append(Event("disconnected", text=str(why)))
        b = self._backoff
        self._retry_at = time.monotonic() + random.uniform(b / 2, b)
        self._backoff = min(b * 2, self.backoff_max)

    def _message(self, m):
        if m["type"] not in ("message", "pmessage"):
            return
        name = m["channel"].decode()
        if name == self._control:
            # hello: the publisher (re)connected and restored its keys; a Redis that was empty
            # at our join has them now, and they show what the outage cost
            try:
                if json.loads(m["data"]).get("type") == "hello":
                    self._read_keys(True)
            except ValueError:
                pass  # a later control document: not ours to read
            except (redis.RedisError, OSError) + _cl.ERRORS as e:
                self._lost(e)
            return
        ch = self._chan(name)
        if ch is None:
            self.counters["bad"] += 1
            self._queue.append(Event("bad", text="a channel this client cannot follow: " + name))
            return
        self._apply(ch, m["data"].decode(), False, False)

    def next(self, timeout=None):
        """The next Event, or None if none came within timeout seconds (None: wait forever)."""
        if self._state == "idle":
            raise RuntimeError("connect() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._queue:
                return self._queue.pop(0)
            if self._state == "up" and self._kept:
                self._message(self._kept.pop(0))
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._state == "down":
                wait = self._retry_at - time.monotonic()
                if wait > 0:
                    if left is not None and left < wait:
                        time.sleep(left)
                        return None
                    time.sleep(wait)
                try:
                    self._join(after_loss=True)
                except (redis.RedisError, OSError, TimeoutError) + _cl.ERRORS as e:
                    self._lost(e)
                    self._queue.pop()  # one DISCONNECTED per outage
                    self.counters["disconnects"] -= 1
                continue
            wait = left if left is not None else 1.0
            try:
                m = self._ps.get_message(timeout=wait)
            except (redis.RedisError, OSError) + _cl.ERRORS as e:
                self._lost(e)
                continue
            if self._silent:
                self._lost("connection lost (re-established by redis-py)")
                continue
            if m is not None:
                self._message(m)
            elif left is not None and time.monotonic() >= deadline:
                return None

    def events(self, timeout=None):
        """Iterate over events; stops when none came within timeout seconds."""
        while True:
            ev = self.next(timeout)
            if ev is None:
                return
            yield ev

    def run(self, callback, stop=lambda: False, poll=0.2):
        """Callback style: call callback(event) for every event until stop() is true."""
        while not stop():
            ev = self.next(poll)
            if ev is not None:
                callback(ev)
