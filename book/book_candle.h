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
 *   little are not made late). Closed candles are final.
 * - Empty intervals produce no candle (no rows), like tardis computeTradeBars and Coinbase
 *   candles; a consumer forward-fills from the previous close if it wants flat bars.
 * - A trade whose bucket is older than the current bucket (its candle closed already) is
 *   "late": it is counted and applied to the current candle (like tardis), where it updates
 *   high/low/volume/vwap/count but not close (close = last trade not older than the newest
 *   trade of the candle, tardis' rule; the same holds for out-of-order trades inside a bucket).
 * - vwap = notional / volume, notional = sum(price * size) kept exactly in __int128, the
 *   quotient at px_scale rounded half away from zero.
 *
 * Thread: book (owner of every book_candles_t).
 */
#ifndef BOOK_CANDLE_H
#define BOOK_CANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "book_out.h"
#include "tg_stat.h"

#define BOOK_CANDLE_IV_MAX 8

/** Candle configuration (shared by all instruments). */
typedef struct book_candle_cfg {
    int64_t interval_ns[BOOK_CANDLE_IV_MAX]; /* ascending is not required */
    uint32_t n_intervals;
} book_candle_cfg_t;

/** Defaults: 1s, 1m, 5m, 1h, 1d.  Thread: any. */
void book_candle_cfg_defaults(book_candle_cfg_t *c);

/** Parse "1s", "500ms", "1m", "5m", "1h", "1d" (also a plain number of seconds).
 *  @return 0 or -EINVAL.  Thread: any. */
int book_candle_parse_interval(const char *s, int64_t *ns);

/** One interval's forming candle (c.trades == 0: nothing formed yet). */
typedef struct book_candle_iv {
    book_out_candle_t c;
    int64_t cur_start;    /* bucket of the exchange clock */
    int64_t closed_start; /* start of the last candle emitted as closed (INT64_MIN: none) */
} book_candle_iv_t;

/** All candles of one instrument.  Thread: book. */
typedef struct book_candles {
    book_candle_iv_t iv[BOOK_CANDLE_IV_MAX];
    uint32_t n;
    int64_t clock;     /* exchange clock: newest time seen (INT64_MIN before any) */
    uint64_t late;     /* trades late in at least one interval */
    uint64_t overflow; /* volume/notional saturations (should never happen) */
    uint32_t dirty;    /* bit i: forming candle i changed since book_candles_take_dirty() */
} book_candles_t;

/** Called for each candle that closes (closed = 1), borrowed for the call only. */
typedef void (*book_candle_emit_fn)(void *ctx, const book_out_candle_t *c);

/** Initialise an instrument's candles.  Thread: book. */
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

/** floor(ts / iv) * iv for any sign of ts.  Thread: any. */
int64_t book_candle_bucket(int64_t ts, int64_t iv);

#endif
