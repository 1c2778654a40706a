/* SPDX-License-Identifier: MIT */
/*
 * Trade candles (OHLCV + exact vwap + trade count + buy/sell volume) per instrument and per
 * configured interval, aligned to exchange time: bucket start = floor(ts / interval) * interval
 * (UTC, so 1d candles roll over at 00:00 UTC).
 *
 * Rules (docs/book.md "Candles"):
 * - Closing: a candle closes as soon as the instrument's exchange clock reaches its end. The
 *   clock is advanced by trades (at once) and by the builder with other events' exchange times
 *   and its wall-clock tick (minus a grace period, so trades that trail the book stream by a
 *   little are not made late). Closed candles are final, except the revisions below.
 * - Empty intervals produce no candle (no rows), like tardis computeTradeBars and Coinbase
 *   candles; a consumer forward-fills from the previous close if it wants flat bars.
 * - A trade whose bucket is older than the current bucket (its candle closed already):
 *   . its bar is the interval's last closed bar and that bar was closed by a clock (book time
 *     or the wall clock, not by a later trade): the bar is revised (the trade added) and
 *     emitted again, closed, with revision + 1 (book_candles_flush_revisions());
 *   . no bar of its bucket was emitted (the clock passed it empty): it opens that bar, forming
 *     when nothing else forms (a venue repeating an old trade on subscribe), else closed at
 *     once as a late bar that later trades of the bucket revise (a backfill after a gap);
 *   . otherwise it is "late": counted and applied to the current candle (like tardis), where
 *     it updates high/low/volume/vwap/count but not close (close = last trade not older than
 *     the newest trade of the candle, tardis' rule; the same for out-of-order trades inside a
 *     bucket).
 * - Re-delivered trades (a reconnect, a backfill overlapping what was received) must be kept
 *   out by the caller with a book_candle_dedup_t on the trade's unique key (PostgreSQL's).
 * - vwap = notional / volume, notional = sum(price * size) kept exactly in __int128, the
 *   quotient at px_scale rounded half away from zero.
 *
 * Thread: book (owner of every book_candles_t).
 */
#ifndef BOOK_CANDLE_H
#define BOOK_CANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "book_out.h"
#include "tg_stat.h"

#define BOOK_CANDLE_IV_MAX 8

/** Candle configuration (shared by all instruments). */
typedef struct book_candle_cfg {
    int64_t interval_ns[BOOK_CANDLE_IV_MAX]; /* ascending is not required */
    uint32_t n_intervals;
} book_candle_cfg_t;

/** A candle's decimal fields in the order every writer publishes them (Redis JSON, replay
 *  output): the name, where the int64_t sits in book_out_candle_t, and its scale (px: the
 *  price scale, else the size scale). */
typedef struct book_candle_field {
    const char *name;
    size_t off;
    bool px;
} book_candle_field_t;

#define BOOK_CANDLE_N_DEC 8 /* open, high, low, close, volume, buy_volume, sell_volume, vwap */
extern const book_candle_field_t book_candle_dec[BOOK_CANDLE_N_DEC];

/** The value of field f of c.  Thread: any. */
static inline int64_t book_candle_field_get(const book_out_candle_t *c,
                                            const book_candle_field_t *f)
{
    int64_t v;
    memcpy(&v, (const char *)c + f->off, sizeof(v));
    return v;
}

/** Defaults: 1s, 1m, 5m, 1h, 1d.  Thread: any. */
void book_candle_cfg_defaults(book_candle_cfg_t *c);

/** Parse "1s", "500ms", "1m", "5m", "1h", "1d" (also a plain number of seconds).
 *  @return 0 or -EINVAL.  Thread: any. */
int book_candle_parse_interval(const char *s, int64_t *ns);

/** One interval's forming candle (c.trades == 0: nothing formed yet). */
typedef struct book_candle_iv {
    book_out_candle_t c;
    /* the last closed bar (done.trades == 0: none), its next revision number in
       done.revision; kept so that late trades can revise it */
    book_out_candle_t done;
    int64_t cur_start;     /* bucket of the exchange clock */
    int64_t closed_start;  /* start of the last candle emitted as closed (INT64_MIN: none) */
    uint8_t done_by_clock; /* done was closed by a clock (revisable), not by a later trade */
} book_candle_iv_t;

/** All candles of one instrument. iv is last so that an instrument's candles can be allocated
 *  for the configured intervals only: book_candles_size(n) bytes hold a book_candles_t of n
 *  intervals (the builder allocates them so, at the end of its per-instrument block); every
 *  function touches iv[0 .. n) only.  Thread: book. */
typedef struct book_candles {
    uint32_t n;
    int64_t clock;      /* exchange clock: newest time seen (INT64_MIN before any) */
    uint64_t late;      /* trades late in at least one interval */
    uint64_t revised;   /* trades that revised (or opened) a bar the clock had closed */
    uint64_t overflow;  /* volume/notional saturations (should never happen) */
    uint32_t dirty;     /* bit i: forming candle i changed since book_candles_take_dirty() */
    uint32_t rev_dirty; /* bit i: iv[i].done awaits emission (book_candles_flush_revisions) */
    book_candle_iv_t iv[BOOK_CANDLE_IV_MAX]; /* [0, n) used; last member (see above) */
} book_candles_t;

/** Bytes of a book_candles_t with n (<= BOOK_CANDLE_IV_MAX) intervals.  Thread: any. */
static inline size_t book_candles_size(uint32_t n)
{
    return offsetof(book_candles_t, iv) + (size_t)n * sizeof(book_candle_iv_t);
}

/** Called for each candle that closes (closed = 1), borrowed for the call only. */
typedef void (*book_candle_emit_fn)(void *ctx, const book_out_candle_t *c);

/** Initialise an instrument's candles (cs holds at least book_candles_size(n) bytes for the
 *  cfg's n intervals, capped at BOOK_CANDLE_IV_MAX).  Thread: book. */
void book_candles_init(book_candles_t *cs, const book_candle_cfg_t *cfg);

/**
 * Advance the exchange clock to t (no-op if older) and close every candle whose end is <= t,
 * in interval order. Thread: book. No allocation.
 */
void book_candles_advance(book_candles_t *cs, int64_t t, book_candle_emit_fn emit, void *ctx);

/**
 * Apply one trade at exchange time ts (advances the clock to ts first).
 * @param side tg_side_t of the aggressor (TG_SIDE_NONE counts in neither buy nor sell volume).
 * @return true if the trade was late in at least one interval (also counted in cs->late).
 * Thread: book. No allocation.
 */
bool book_candles_trade(book_candles_t *cs, int64_t ts, int64_t price, int64_t size, int side,
                        book_candle_emit_fn emit, void *ctx);

/**
 * Emit every closed bar that late trades revised (or opened) since the last call, closed = 1
 * with its revision number, and clear rev_dirty. Closing a newer bar emits a pending revision
 * first, so per interval the records stay in bar order. Thread: book. No allocation.
 */
void book_candles_flush_revisions(book_candles_t *cs, book_candle_emit_fn emit, void *ctx);

/** Copy forming candle i (closed = 0, vwap filled). @return false if it has no trade.
 *  Thread: book. */
bool book_candles_forming(const book_candles_t *cs, uint32_t i, book_out_candle_t *out);

/** vwap at px_scale of a notional (px+sz scale) and volume (sz scale), rounded half away
 *  from zero; 0 when volume is 0.  Thread: any. */
/** Move every interval's open/forming candle to larger scales (prices x 10^px_up, sizes x
 *  10^sz_up, notional both), exactly. @return 0; -ERANGE (nothing changed); -EINVAL.
 *  Thread: book. */
int book_candles_rescale(book_candles_t *cs, int px_up, int sz_up);

/** The same for one candle record. */
int book_candle_rescale(book_out_candle_t *c, int px_up, int sz_up);

int64_t book_candle_vwap(__int128 notional, int64_t volume);

/**
 * Recent unique trade keys of one instrument, (trade_id, exchange time): the natural key of
 * PostgreSQL's trades table (docs/schema.md), so candles count a trade exactly when the table
 * stores it. Bounded: the last `window` keys (FIFO), an open-addressing index over them.
 * A trade newer than every key that left the window, or with an id above every id seen, is
 * decided exactly; any other may be a re-delivery we no longer remember (BOOK_DEDUP_UNKNOWN:
 * with ids that grow per instrument, only a trade re-delivered from beyond the window).
 * trade_id 0 means "the venue gives no id" (Kraken): never keyed (BOOK_DEDUP_NOKEY).
 * Thread: book (owner).
 */
typedef struct book_candle_key {
    uint64_t id;
    int64_t ts;
} book_candle_key_t;

typedef struct book_candle_dedup {
    book_candle_key_t *keys; /* ring of the last `cap` keys, oldest at head once full; one
                                allocation with the slots after it */
    union {
        uint16_t *w16;      /* window <= 32768 keys */
        uint32_t *w32;      /* larger windows (wide) */
    } slot;                 /* 2 * cap slots: 1 + index into keys, 0 empty; a key's home slot is
                               its hash, recomputed for removals */
    uint32_t cap, n, head;  /* cap: keys the arrays hold now, doubled up to max as they fill */
    uint32_t max;           /* the window: a power of two, 16 .. 2^20 (0: off) */
    uint8_t wide;           /* 32-bit slots (max > 32768) */
    int64_t evicted_ts_max; /* newest ts that left the window (INT64_MIN: none) */
    uint64_t id_max;        /* largest id ever keyed (a larger one is new for sure) */
} book_candle_dedup_t;

enum { BOOK_DEDUP_NEW = 0, BOOK_DEDUP_DUP = 1, BOOK_DEDUP_UNKNOWN = 2, BOOK_DEDUP_NOKEY = 3 };

#define BOOK_CANDLE_DEDUP_DEFAULT 1024

/** Set up a window of `window` keys (20 bytes each: 16 the key, 4 its two index slots; 24
 * above 32768 keys) (rounded up to a power of two, 16 .. 2^20; 0:
 * off, every trade BOOK_DEDUP_NOKEY). Room for 16 keys is allocated now and doubled as keys
 * arrive (nothing leaves the window before it holds `window` keys), so an instrument costs
 * memory for the trades it has had, up to the window: a quiet one ~0.3 KB, a busy one
 * 20 B x window. A doubling that finds no memory keeps the current size (the window is then
 * smaller, still exact: what leaves it is accounted as below).
 * @return 0 or -ENOMEM (d left off).  Thread: book. */
int book_candle_dedup_init(book_candle_dedup_t *d, uint32_t window);

/** Free the window; safe on a zeroed or already freed d.  Thread: book. */
void book_candle_dedup_deinit(book_candle_dedup_t *d);

/** Look the key up and remember it when new. @return BOOK_DEDUP_*. Thread: book. No
 *  allocation, O(1) expected. */
int book_candle_dedup_check(book_candle_dedup_t *d, uint64_t trade_id, int64_t ts);

/** floor(ts / iv) * iv for any sign of ts.  Thread: any. */
int64_t book_candle_bucket(int64_t ts, int64_t iv);

#endif
