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

#define DEC(f, px)                                                                                 \
    {                                                                                              \
#f, offsetof(book_out_candle_t, f), px                                                     \
    }
const book_candle_field_t book_candle_dec[BOOK_CANDLE_N_DEC] = {
    DEC(open, true),    DEC(high, true),        DEC(low, true),          DEC(close, true),
    DEC(volume, false), DEC(buy_volume, false), DEC(sell_volume, false), DEC(vwap, true),
};
#undef DEC

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
    uint32_t n = cfg->n_intervals > BOOK_CANDLE_IV_MAX ? BOOK_CANDLE_IV_MAX : cfg->n_intervals;
    memset(cs, 0, book_candles_size(n)); /* cs may hold only n intervals */
    cs->n = n;
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

/* Emit interval i's done bar (a revision, or a late bar's first close) if it is pending. */
static void emit_done(book_candles_t *cs, uint32_t i, book_candle_emit_fn emit, void *ctx)
{
    if (!(cs->rev_dirty & (1u << i)))
        return;
    book_out_candle_t *d = &cs->iv[i].done;
    d->vwap = book_candle_vwap(d->notional, d->volume);
    d->closed = 1;
    if (emit)
        emit(ctx, d);
    d->revision++;
    cs->rev_dirty &= ~(1u << i);
}

void book_candles_flush_revisions(book_candles_t *cs, book_candle_emit_fn emit, void *ctx)
{
    for (uint32_t i = 0; cs->rev_dirty && i < cs->n; i++)
        emit_done(cs, i, emit, ctx);
}

/* Close interval i's forming candle: emit it (after a pending revision of the bar before)
 * and keep it as the bar late trades may revise. */
static void iv_close(book_candles_t *cs, uint32_t i, bool by_clock, book_candle_emit_fn emit,
                     void *ctx)
{
    book_candle_iv_t *v = &cs->iv[i];
    emit_done(cs, i, emit, ctx);
    v->c.vwap = book_candle_vwap(v->c.notional, v->c.volume);
    v->c.closed = 1;
    v->c.revision = 0;
    v->closed_start = v->c.start_ns;
    if (emit)
        emit(ctx, &v->c);
    v->done = v->c;
    v->done.revision = 1;
    v->done_by_clock = by_clock;
    iv_reset(v);
    cs->dirty |= 1u << i;
}

static void advance(book_candles_t *cs, int64_t t, bool by_clock, book_candle_emit_fn emit,
                    void *ctx)
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
        if (v->c.trades && v->c.start_ns + v->c.interval_ns <= t)
            iv_close(cs, i, by_clock, emit, ctx);
    }
}

void book_candles_advance(book_candles_t *cs, int64_t t, book_candle_emit_fn emit, void *ctx)
{
    advance(cs, t, true, emit, ctx);
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

/* Add one trade to candle c (c->trades == 0: it opens c at start). */
static void add_trade(book_candles_t *cs, book_out_candle_t *c, int64_t start, int64_t ts,
                      int64_t price, int64_t size, int side)
{
    if (!c->trades) {
        c->start_ns = start;
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
    c->notional += (__int128)price * size;
}

bool book_candles_trade(book_candles_t *cs, int64_t ts, int64_t price, int64_t size, int side,
                        book_candle_emit_fn emit, void *ctx)
{
    advance(cs, ts, false, emit, ctx);
    bool late = false, revised = false;
    for (uint32_t i = 0; i < cs->n; i++) {
        book_candle_iv_t *v = &cs->iv[i];
        book_out_candle_t *c = &v->c;
        int64_t tb = book_candle_bucket(ts, c->interval_ns);
        if (c->trades && tb > c->start_ns) {
            /* the forming bar is an old one opened below (its end passed): a later trade
             * closes it, as the next later time would */
            iv_close(cs, i, false, emit, ctx);
            v->cur_start = book_candle_bucket(cs->clock, c->interval_ns);
        }
        if (c->trades && tb == c->start_ns) {
            add_trade(cs, c, tb, ts, price, size, side);
        } else if (tb >= v->cur_start) {
            add_trade(cs, c, v->cur_start, ts, price, size, side);
        } else if (v->done.trades && tb == v->done.start_ns && v->done_by_clock) {
            /* its bar was closed by a clock before the trade came: revise it */
            add_trade(cs, &v->done, tb, ts, price, size, side);
            cs->rev_dirty |= 1u << i;
            revised = true;
            continue;
        } else if (tb > v->closed_start && !c->trades) {
            /* Older than the clock (book messages moved it) but no bar of that time was
             * emitted and none is open: the trade opens its own bar, which the next later
             * time closes (HTX repeats each symbol's last trade, minutes old, when a book
             * had already started: it belongs to its own minute, as tardis has it). */
            v->cur_start = tb;
            add_trade(cs, c, tb, ts, price, size, side);
        } else if (tb > v->closed_start && c->start_ns > tb) {
            /* the clock passed this bucket with no trade (a reconnect) and a newer bar forms:
             * the trade is the first of a late bar, closed at once, that the bucket's next
             * late trades revise */
            emit_done(cs, i, emit, ctx);
            memset(&v->done, 0, sizeof(v->done));
            v->done.interval_ns = c->interval_ns;
            add_trade(cs, &v->done, tb, ts, price, size, side);
            v->closed_start = tb;
            v->done_by_clock = 1;
            cs->rev_dirty |= 1u << i;
            revised = true;
            continue;
        } else {
            late = true;
            add_trade(cs, c, v->cur_start, ts, price, size, side);
        }
        cs->dirty |= 1u << i;
    }
    if (late)
        cs->late++;
    if (revised)
        cs->revised++;
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
    book_candle_iv_t t[BOOK_CANDLE_IV_MAX]; /* all or nothing; cs holds only cs->n of them */
    memcpy(t, cs->iv, (size_t)cs->n * sizeof(t[0]));
    for (uint32_t i = 0; i < cs->n; i++) {
        int rc = book_candle_rescale(&t[i].c, px_up, sz_up);
        if (rc == 0 && t[i].done.trades)
            rc = book_candle_rescale(&t[i].done, px_up, sz_up);
        if (rc < 0)
            return rc;
    }
    memcpy(cs->iv, t, (size_t)cs->n * sizeof(t[0]));
    return 0;
}

/* ---- dedup window -------------------------------------------------------------------- */

/* Multiplicative (Fibonacci) hashing of both halves of the key; the index uses the high
 * half of the product, where the mixing is. Cheap: removals recompute the homes they meet. */
static inline uint64_t key_hash(uint64_t id, int64_t ts)
{
    uint64_t x = (id ^ ((uint64_t)ts * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return x >> 32;
}

/* Slot i of the index: 1 + index into keys, 0 empty; 16 bits wide while the window fits
 * (<= 32768 keys: 2 bytes a slot, 4 a key), else 32. */
static inline uint32_t slot_get(const book_candle_dedup_t *d, uint32_t i)
{
    return d->wide ? d->slot.w32[i] : d->slot.w16[i];
}

static inline void slot_put(book_candle_dedup_t *d, uint32_t i, uint32_t v)
{
    if (d->wide)
        d->slot.w32[i] = v;
    else
        d->slot.w16[i] = (uint16_t)v;
}

static inline uint32_t key_home(const book_candle_dedup_t *d, uint32_t k)
{
    return (uint32_t)key_hash(d->keys[k].id, d->keys[k].ts) & (d->cap * 2 - 1);
}

/* Give d one block for cap (> 0) keys: keys[cap], then slot[2 * cap], holding its keys[0..n)
 * (oldest first: nothing has left the window yet), hashed again for the new table; head
 * becomes n. @return 0 or -ENOMEM (d unchanged). */
static int dedup_resize(book_candle_dedup_t *d, uint32_t cap)
{
    size_t sw = d->wide ? sizeof(uint32_t) : sizeof(uint16_t);
    book_candle_key_t *keys = calloc(1, cap * (sizeof(*keys) + 2 * sw));
    if (!keys)
        return -ENOMEM;
    book_candle_key_t *old = d->keys;
    if (d->n)
        memcpy(keys, old, d->n * sizeof(*keys));
    d->keys = keys;
    d->slot.w16 = (uint16_t *)(void *)(keys + cap); /* either view: same address */
    d->cap = cap;
    uint32_t mask = cap * 2 - 1;
    for (uint32_t k = 0; k < d->n; k++) {
        uint32_t i = key_home(d, k);
        while (slot_get(d, i))
            i = (i + 1) & mask;
        slot_put(d, i, k + 1);
    }
    free(old); /* the old slots lived in its block */
    d->head = d->n;
    return 0;
}

int book_candle_dedup_init(book_candle_dedup_t *d, uint32_t window)
{
    memset(d, 0, sizeof(*d));
    d->evicted_ts_max = INT64_MIN;
    if (!window)
        return 0;
    uint32_t max = 16;
    while (max < window && max < (1u << 20))
        max <<= 1;
    d->wide = max > 32768;        /* 16-bit slots hold 1 + index up to 32768 */
    int rc = dedup_resize(d, 16); /* doubled as keys arrive (book_candle_dedup_check) */
    if (rc == 0)
        d->max = max;
    return rc;
}

void book_candle_dedup_deinit(book_candle_dedup_t *d)
{
    free(d->keys); /* the slots are in its block */
    d->keys = NULL;
    d->slot.w16 = NULL;
    d->cap = d->n = d->head = d->max = 0;
}

/* Remove key index k (its slot found by probing) with backward-shift deletion. */
static void dedup_remove(book_candle_dedup_t *d, uint32_t k)
{
    uint32_t mask = d->cap * 2 - 1;
    uint32_t i = key_home(d, k), v;
    while ((v = slot_get(d, i)) != k + 1) {
        if (!v)
            return; /* not indexed: cannot happen */
        i = (i + 1) & mask;
    }
    for (uint32_t j = (i + 1) & mask; (v = slot_get(d, j)) != 0; j = (j + 1) & mask) {
        uint32_t home = key_home(d, v - 1);
        /* move j's entry to the hole i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            slot_put(d, i, v);
            i = j;
        }
    }
    slot_put(d, i, 0);
}

int book_candle_dedup_check(book_candle_dedup_t *d, uint64_t trade_id, int64_t ts)
{
    if (!trade_id || !d->cap)
        return BOOK_DEDUP_NOKEY;
    if (d->n == d->cap && d->cap < d->max)
        (void)dedup_resize(d, d->cap * 2); /* no memory: evict below, at the size it has */
    uint32_t mask = d->cap * 2 - 1;
    uint32_t h = (uint32_t)key_hash(trade_id, ts) & mask, i = h, v;
    for (; (v = slot_get(d, i)) != 0; i = (i + 1) & mask) {
        const book_candle_key_t *k = &d->keys[v - 1];
        if (k->id == trade_id && k->ts == ts)
            return BOOK_DEDUP_DUP;
    }
    /* Not in the window. A key seen before has an id <= id_max and, if it left the window,
     * a ts <= evicted_ts_max: a trade failing both may be one we no longer remember. */
    if (ts <= d->evicted_ts_max && trade_id <= d->id_max)
        return BOOK_DEDUP_UNKNOWN;
    if (trade_id > d->id_max)
        d->id_max = trade_id;
    uint32_t at = d->head;
    if (d->n == d->cap) { /* evict the oldest (at head), then re-probe: slots moved */
        if (d->keys[at].ts > d->evicted_ts_max)
            d->evicted_ts_max = d->keys[at].ts;
        dedup_remove(d, at);
        i = h;
        while (slot_get(d, i))
            i = (i + 1) & mask;
    } else {
        d->n++;
    }
    d->keys[at].id = trade_id;
    d->keys[at].ts = ts;
    slot_put(d, i, at + 1);
    d->head = (at + 1) & (d->cap - 1);
    return BOOK_DEDUP_NEW;
}
