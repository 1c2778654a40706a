/* SPDX-License-Identifier: MIT */
/*
 * Trade candles per instrument and interval (rules in book_candle.h, reasons in
 * docs/book.md). Pure arithmetic on int64 fixed point; notional in __int128 so vwap is exact
 * up to the final rounding. Thread: book.
 */
#include "book_candle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tg_clock.h"
#include "tg_dec.h"

void book_candle_cfg_defaults(book_candle_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    static const int64_t d[] = {TG_NS_PER_SEC, 60 * TG_NS_PER_SEC, 300 * TG_NS_PER_SEC,
                                3600 * TG_NS_PER_SEC, 86400 * TG_NS_PER_SEC};
    for (uint32_t i = 0; i < 5; i++)
        c->interval_ns[i] = d[i];
    c->n_intervals = 5;
}

int book_candle_parse_interval(const char *s, int64_t *ns)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0)
        return -EINVAL;
    int64_t mul;
    if (!strcmp(end, "") || !strcmp(end, "s"))
        mul = TG_NS_PER_SEC;
    else if (!strcmp(end, "ms"))
        mul = TG_NS_PER_MS;
    else if (!strcmp(end, "m"))
        mul = 60 * TG_NS_PER_SEC;
    else if (!strcmp(end, "h"))
        mul = 3600 * TG_NS_PER_SEC;
    else if (!strcmp(end, "d"))
        mul = 86400 * TG_NS_PER_SEC;
    else
        return -EINVAL;
    if (v > INT64_MAX / mul)
        return -EINVAL;
    *ns = (int64_t)v * mul;
    return 0;
}

int64_t book_candle_bucket(int64_t ts, int64_t iv)
{
    int64_t q = ts / iv;
    if (ts % iv < 0)
        q--;
    return q * iv;
}

int64_t book_candle_vwap(__int128 notional, int64_t volume)
{
    if (volume <= 0)
        return 0;
    __int128 q = notional / volume, r = notional % volume;
    __int128 r2 = r < 0 ? -r : r;
    if (r2 * 2 >= volume)
        q += notional < 0 ? -1 : 1;
    if (q > INT64_MAX)
        return INT64_MAX;
    if (q < INT64_MIN)
        return INT64_MIN;
    return (int64_t)q;
}

void book_candles_init(book_candles_t *cs, const book_candle_cfg_t *cfg)
{
    memset(cs, 0, sizeof(*cs));
    cs->n = cfg->n_intervals > BOOK_CANDLE_IV_MAX ? BOOK_CANDLE_IV_MAX : cfg->n_intervals;
    cs->clock = INT64_MIN;
    for (uint32_t i = 0; i < cs->n; i++) {
        cs->iv[i].c.interval_ns = cfg->interval_ns[i] > 0 ? cfg->interval_ns[i] : TG_NS_PER_SEC;
        cs->iv[i].cur_start = INT64_MIN;
        cs->iv[i].closed_start = INT64_MIN;
    }
}

static void iv_reset(book_candle_iv_t *v)
{
    int64_t iv = v->c.interval_ns;
    memset(&v->c, 0, sizeof(v->c));
    v->c.interval_ns = iv;
}

void book_candles_advance(book_candles_t *cs, int64_t t, book_candle_emit_fn emit, void *ctx)
{
    if (t <= cs->clock)
        return;
    cs->clock = t;
    for (uint32_t i = 0; i < cs->n; i++) {
        book_candle_iv_t *v = &cs->iv[i];
        int64_t b = book_candle_bucket(t, v->c.interval_ns);
        if (b <= v->cur_start)
            continue;
        v->cur_start = b;
        if (v->c.trades && v->c.start_ns + v->c.interval_ns <= t) {
            v->c.vwap = book_candle_vwap(v->c.notional, v->c.volume);
            v->c.closed = 1;
            v->closed_start = v->c.start_ns;
            if (emit)
                emit(ctx, &v->c);
            iv_reset(v);
            cs->dirty |= 1u << i;
        }
    }
}

static int64_t sat_add(int64_t a, int64_t b, uint64_t *ovf)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        (*ovf)++;
        return INT64_MAX;
    }
    return r;
}

bool book_candles_trade(book_candles_t *cs, int64_t ts, int64_t price, int64_t size, int side,
                        book_candle_emit_fn emit, void *ctx)
{
    book_candles_advance(cs, ts, emit, ctx);
    bool late = false;
    __int128 n = (__int128)price * size;
    for (uint32_t i = 0; i < cs->n; i++) {
        book_candle_iv_t *v = &cs->iv[i];
        book_out_candle_t *c = &v->c;
        int64_t tb = book_candle_bucket(ts, c->interval_ns);
        if (tb < v->cur_start) {
            if (!c->trades && tb > v->closed_start) {
                /* Older than the clock (book messages moved it) but no bar of that time was
                 * emitted and none is open: the trade opens its own bar, which the next later
                 * time closes (HTX repeats each symbol's last trade, minutes old, when a book
                 * had already started: it belongs to its own minute, as tardis has it). */
                v->cur_start = tb;
            } else {
                late = true;
            }
        }
        if (!c->trades) {
            c->start_ns = v->cur_start;
            c->open = c->high = c->low = c->close = price;
            c->first_ts = c->last_ts = ts;
        } else {
            if (price > c->high)
                c->high = price;
            if (price < c->low)
                c->low = price;
            if (ts >= c->last_ts) {
                c->close = price;
                c->last_ts = ts;
            }
        }
        c->trades++;
        c->volume = sat_add(c->volume, size, &cs->overflow);
        if (side == TG_SIDE_BUY)
            c->buy_volume = sat_add(c->buy_volume, size, &cs->overflow);
        else if (side == TG_SIDE_SELL)
            c->sell_volume = sat_add(c->sell_volume, size, &cs->overflow);
        c->notional += n;
        cs->dirty |= 1u << i;
    }
    if (late)
        cs->late++;
    return late;
}

bool book_candles_forming(const book_candles_t *cs, uint32_t i, book_out_candle_t *out)
{
    if (i >= cs->n || !cs->iv[i].c.trades)
        return false;
    *out = cs->iv[i].c;
    out->vwap = book_candle_vwap(out->notional, out->volume);
    out->closed = 0;
    return true;
}

static bool cmul(int64_t *v, int64_t m)
{
    return !__builtin_mul_overflow(*v, m, v);
}

int book_candle_rescale(book_out_candle_t *out, int px_up, int sz_up)
{
    if (px_up < 0 || sz_up < 0 || px_up > 18 || sz_up > 18)
        return -EINVAL;
    int64_t pm = tg_dec_pow10[px_up], sm = tg_dec_pow10[sz_up];
    book_out_candle_t c = *out;
    if (!cmul(&c.open, pm) || !cmul(&c.high, pm) || !cmul(&c.low, pm) || !cmul(&c.close, pm) ||
        !cmul(&c.vwap, pm) || !cmul(&c.volume, sm) || !cmul(&c.buy_volume, sm) ||
        !cmul(&c.sell_volume, sm))
        return -ERANGE;
    __int128 m = (__int128)pm * sm, lim = (((__int128)1) << 125) / m;
    if (c.notional > lim || c.notional < -lim)
        return -ERANGE;
    c.notional *= m;
    *out = c;
    return 0;
}

int book_candles_rescale(book_candles_t *cs, int px_up, int sz_up)
{
    book_candles_t t = *cs; /* all or nothing */
    for (uint32_t i = 0; i < t.n; i++) {
        int rc = book_candle_rescale(&t.iv[i].c, px_up, sz_up);
        if (rc < 0)
            return rc;
    }
    *cs = t;
    return 0;
}
