/* SPDX-License-Identifier: MIT */
/*
 * Gate.io API v4 websocket venue handler, two ids on one handler (feed_venue_t.variant):
 *   gate-io          spot  wss://api.gateio.ws/ws/v4/        spot.order_book_update, spot.trades
 *   gate-io-futures  USDT  wss://fx-ws.gateio.ws/v4/ws/usdt  futures.order_book_update,
 *                                                            futures.trades
 * Book diffs are synchronised with a REST snapshot taken with `with_id=true`:
 *   spot     GET /api/v4/spot/order_book?currency_pair=<P>&limit=100&with_id=true
 *   futures  GET /api/v4/futures/usdt/order_book?contract=<C>&limit=100&with_id=true
 * Offline the answer is in-band: {"stream":"<channel>:<P>@depthSnapshot","generated":true,
 * "data":<REST body>} (channel spot.order_book_update / futures.order_book_update).
 *
 * DESIGN
 * Sync per symbol, as Gate.io documents it ("How to maintain a local order book"):
 *   WAIT  no snapshot yet: diffs are buffered (as stamped tg_event_t runs, one bounded buffer
 *         per connection; when it is full the oldest message is evicted and counted in
 *         stale_dropped) and the first buffered diff requests the REST snapshot (the snapshot
 *         is then newer than the first buffered diff, as Gate.io asks).
 *   snapshot id L arrives in WAIT: if the first buffered diff newer than L (u > L) does not
 *         bridge (U > L + 1) the snapshot is too old: another is requested. Otherwise
 *         TG_EV_BOOK_CLEAR (seq = L) + levels (SNAPSHOT|REST), state SYNC, and the buffered
 *         diffs of the symbol are replayed through the rules below.
 *   SYNC  u <= L: dropped (stale_dropped); U <= L + 1 <= u: applied, state LIVE; else GAP.
 *   LIVE  u <= last u: dropped (replay); U == last u + 1: applied; else GAP.
 *   GAP   TG_EV_GAP (seq = last u, u.aux = U received), gaps++, state WAIT with the breaking
 *         diff buffered, new snapshot requested (resyncs++).
 * A snapshot arriving in SYNC/LIVE is ignored (unhandled): the book is provably continuous.
 * A book message that cannot be read completely emits nothing of itself; a synced book gets
 * a GAP and a resync. Every number of a message is parsed (feed_dec) before any state
 * changes, so a TG_ERESCALE retry (feed_frame) sees the same state.
 * Levels: spot [["price","size"],...]; futures [{"p":"price","s":size},...] (size an integer
 * number of contracts, or a string). A negative size in a book level is taken as its absolute
 * value (the side is given by the array it is in; Gate.io's legacy futures book signed ask
 * sizes). Size 0 deletes.
 * Trades: spot.trades result is one object (side = taker side, id, create_time_ms "ms.frac"
 * text); futures.trades result is an array (size sign = taker side: > 0 buy, < 0 sell;
 * create_time_ms integer). Futures trades with "is_internal":true (insurance fund / ADL
 * takeovers, not matched on the book; Gate.io leaves them out of its candles) are dropped.
 * Subscribes are paced to max_sends_per_s (the rest go out from on_tick); an application ping
 * ({"channel":"spot.ping"} / "futures.ping") goes out every 10 s; pongs are unhandled.
 * Thread: feed:gate-io (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/feed_sync.h"
#include "feed_venue_base.h"
#include "venues.h"

#define GT_TOK_INIT  4096
#define GT_TOK_MAX   (1 << 20)
#define GT_PING_NS   (10 * 1000000000LL)
#define GT_TRADE_BAT 50 /* pairs per trades subscribe */
#define GT_SENDS_PS  10

enum { GT_SPOT = 0, GT_FUT = 1 };
/* Symbol steps (feed_rsym_t.state; .last: SYNC the snapshot id, LIVE the u of the last applied
 * diff). */
enum { GT_WAIT = FEED_RSYM_WAIT, GT_SYNC = 1, GT_LIVE = 2 };

typedef feed_level_t gt_lvl_t;

typedef struct gt_trade {
    int64_t px, sz, ts;
    uint64_t id;
    uint32_t instr;
    uint8_t side;
} gt_trade_t;

typedef struct gt_state {
    feed_jtok_t jt;
    gt_lvl_t *lv;
    size_t lv_cap;
    gt_trade_t *tr;
    size_t tr_cap;
    feed_rsync_t rs; /* diffs waiting for a snapshot, REST generation, subscribe/ping */
    feed_rsym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
} gt_state_t;

static const char *gt_book_chan(const feed_handler_t *h)
{
    return h->venue->variant == GT_FUT ? "futures.order_book_update" : "spot.order_book_update";
}

static const char *gt_trade_chan(const feed_handler_t *h)
{
    return h->venue->variant == GT_FUT ? "futures.trades" : "spot.trades";
}

#define gt_lookup(h, s, n) ((feed_rsym_t *)feed_vsym_find((h), (s), (n)))

static bool gt_name_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

/* Buffer diffs of s in WAIT (events stamped with today's scales: kept across frames). */
static void gt_pend_add(feed_handler_t *h, feed_rsym_t *s, uint64_t U, uint64_t u, int64_t ts_exch,
                        const gt_lvl_t *lv, size_t nl, int64_t ts_recv, int64_t ts_mono)
{
    gt_state_t *st = h->vstate;
    tg_event_t *ev =
        feed_pend_add(h, &st->rs.pb, (uint16_t)(s - st->sym), U, u, ts_exch, (uint32_t)nl);
    for (size_t i = 0; ev && i < nl; i++) {
        ev[i] = feed_event(TG_EV_LEVEL, s->id, lv[i].side, lv[i].px, lv[i].sz, u, 0, ts_exch,
                           ts_recv, ts_mono, 0);
        feed_stamp(h, &ev[i]);
    }
}

/* ---- sync ---- */

/* feed_rsync_path_fn: the REST path of in's book snapshot. */
static int gt_path(feed_handler_t *h, const tg_instr_t *in, char *path, size_t cap)
{
    if (!gt_name_ok(in->symbol))
        return -1;
    if (h->venue->variant == GT_FUT)
        snprintf(path, cap, "/api/v4/futures/usdt/order_book?contract=%s&limit=100&with_id=true",
                 in->symbol);
    else
        snprintf(path, cap, "/api/v4/spot/order_book?currency_pair=%s&limit=100&with_id=true",
                 in->symbol);
    return 0;
}

/* Emit one diff's levels (events already made) and end the message. */
static void gt_emit_run(feed_handler_t *h, feed_rsym_t *s, const tg_event_t *ev, uint32_t n,
                        int64_t ts_exch, int64_t ts_recv, int64_t ts_mono)
{
    for (uint32_t i = 0; i < n; i++)
        feed_emit_counted(h, &ev[i]);
    feed_end_message(h, s->id, ts_exch, ts_recv, ts_mono);
}

/* A diff U..u for a synced (SYNC/LIVE) symbol: 1 apply, 0 stale, -1 gap. */
static int gt_check(const feed_rsym_t *s, uint64_t U, uint64_t u)
{
    if (u <= s->last)
        return 0;
    if (s->state == GT_SYNC)
        return U <= s->last + 1 ? 1 : -1;
    return U == s->last + 1 ? 1 : -1;
}

/* ---- parsing ---- */

/* ms (integer or "ms.frac" text) -> ns, truncating below 1 ns. */
static int gt_ms_ns(const char *js, const jsmntok_t *t, int64_t *out)
{
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return TG_EFIELD;
    const char *p = js + t->start, *e = js + t->end;
    int64_t ms = 0, frac = 0;
    int nd = 0, nf = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++, nd++) {
        if (ms > (INT64_MAX / 1000000 - 9) / 10)
            return TG_EFIELD;
        ms = ms * 10 + (*p - '0');
    }
    if (nd == 0)
        return TG_EFIELD;
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++)
            if (nf < 6) {
                frac = frac * 10 + (*p - '0');
                nf++;
            }
    }
    if (p != e)
        return TG_EFIELD;
    for (; nf < 6; nf++)
        frac *= 10;
    *out = ms * 1000000 + frac;
    return 0;
}

/* Seconds as an integer or decimal text ("1623898993.123", futures REST) -> ns. */
static int gt_sec_ns(const char *js, const jsmntok_t *t, int64_t *out)
{
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return TG_EFIELD;
    size_t n = feed_jtok_len(t);
    const char *s = js + t->start;
    if (n >= 12 && !memchr(s, '.', n)) /* an integer of ms (spot REST "update") */
        return gt_ms_ns(js, t, out);
    int64_t v;
    if (tg_dec_parse_unsigned(s, n, 9, &v) < 0)
        return TG_EFIELD;
    *out = v;
    return 0;
}

/* Levels of array a (side) appended to st->lv. */
static int gt_levels(feed_handler_t *h, uint32_t instr, const char *js, int n, int a, uint8_t side,
                     size_t *nl)
{
    gt_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    if (a < 0)
        return 0;
    if (t[a].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = a + 1;
    for (int m = 0; m < t[a].size; m++) {
        if (k >= n || *nl >= st->lv_cap)
            return TG_EFIELD;
        int pi, si;
        if (t[k].type == JSMN_ARRAY && t[k].size >= 2 && k + 2 < n) {
            pi = k + 1;
            si = k + 2;
        } else if (t[k].type == JSMN_OBJECT) {
            pi = feed_jtok_get(js, t, n, k, "p");
            si = feed_jtok_get(js, t, n, k, "s");
            if (pi < 0 || si < 0)
                return TG_EFIELD;
        } else {
            return TG_EFIELD;
        }
        if (t[pi].type != JSMN_STRING && t[pi].type != JSMN_PRIMITIVE)
            return TG_EFIELD;
        if (t[si].type != JSMN_STRING && t[si].type != JSMN_PRIMITIVE)
            return TG_EFIELD;
        gt_lvl_t *l = &st->lv[*nl];
        int rc = feed_dec_px(h, instr, js + t[pi].start, feed_jtok_len(&t[pi]), &l->px);
        if (rc < 0)
            return rc;
        if (l->px == 0)
            return TG_EDEC_SYNTAX;
        unsigned how = FEED_DEC_SZ | (h->venue->variant == GT_FUT ? FEED_DEC_SIGNED : 0);
        rc = feed_dec(h, instr, how, js + t[si].start, feed_jtok_len(&t[si]), &l->sz);
        if (rc < 0)
            return rc;
        if (l->sz < 0)
            l->sz = -l->sz;
        l->side = side;
        (*nl)++;
        k = feed_jtok_next(t, n, k);
    }
    return 0;
}

/* bids + asks of obj into st->lv. */
static int gt_book_levels(feed_handler_t *h, uint32_t instr, const char *js, int n, int obj,
                          const char *bk, const char *ak, size_t *nl)
{
    const jsmntok_t *t = ((gt_state_t *)h->vstate)->jt.t;
    int bi = feed_jtok_get(js, t, n, obj, bk), ai = feed_jtok_get(js, t, n, obj, ak);
    *nl = 0;
    if (bi < 0 && ai < 0)
        return TG_EFIELD;
    int rc = gt_levels(h, instr, js, n, bi, TG_SIDE_BID, nl);
    if (rc < 0)
        return rc;
    return gt_levels(h, instr, js, n, ai, TG_SIDE_ASK, nl);
}

/* Replay a buffered diff message after the snapshot (feed_rsv_replay_fn). */
static int gt_replay(feed_handler_t *h, feed_rsym_t *s, const feed_pend_msg_t *p,
                     const tg_event_t *ev, int64_t ts_recv, int64_t ts_mono)
{
    int c = gt_check(s, p->first, p->last);
    if (c == 0) {
        TG_STAT_INC(h->stats->stale_dropped);
    } else if (c > 0) {
        gt_emit_run(h, s, ev, p->n, p->ts_exch, ts_recv, ts_mono);
        s->state = GT_LIVE;
        s->last = p->last;
    }
    return c; /* < 0: the buffer itself has a hole, this diff and the later ones kept */
}

/* A snapshot body (REST answer or in-band data) at object obj for s (feed_rsv_snap_fn). */
static int gt_snapshot(feed_handler_t *h, feed_rsym_t *s, const char *js, const jsmntok_t *t, int n,
                       int obj, int64_t ts_recv, int64_t ts_mono)
{
    int ii = feed_jtok_get(js, t, n, obj, "id");
    int ui = feed_jtok_get(js, t, n, obj, "update");
    if (ui < 0)
        ui = feed_jtok_get(js, t, n, obj, "current");
    uint64_t L;
    int64_t ts_exch = 0;
    size_t nl;
    if (ii < 0 || feed_jtok_u64(js, &t[ii], &L) < 0)
        return TG_EFIELD;
    if (ui >= 0 && gt_sec_ns(js, &t[ui], &ts_exch) < 0)
        return TG_EFIELD;
    int rc = gt_book_levels(h, s->id, js, n, obj, "bids", "asks", &nl);
    if (rc < 0)
        return rc;
    return feed_rsv_snapshot(h, s, L, ts_exch, nl, false, GT_SYNC, gt_replay, ts_recv, ts_mono);
}

static int gt_diff(feed_handler_t *h, const char *js, int n, int res, int64_t ts_recv,
                   int64_t ts_mono)
{
    gt_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    if (res < 0 || t[res].type != JSMN_OBJECT)
        return TG_EFIELD;
    int si = feed_jtok_get(js, t, n, res, "s");
    if (si < 0 || t[si].type != JSMN_STRING)
        return TG_EFIELD;
    feed_rsym_t *s = gt_lookup(h, js + t[si].start, feed_jtok_len(&t[si]));
    if (!s)
        return TG_ESYMBOL;
    int Ui = feed_jtok_get(js, t, n, res, "U"), ui = feed_jtok_get(js, t, n, res, "u");
    int ti = feed_jtok_get(js, t, n, res, "t");
    uint64_t U, u;
    int64_t ts_exch = 0;
    size_t nl;
    int rc = TG_EFIELD;
    if (Ui < 0 || ui < 0 || feed_jtok_u64(js, &t[Ui], &U) < 0 ||
        feed_jtok_u64(js, &t[ui], &u) < 0 || U > u || U == 0)
        goto bad;
    if (ti >= 0 && gt_ms_ns(js, &t[ti], &ts_exch) < 0)
        goto bad;
    rc = gt_book_levels(h, s->id, js, n, res, "b", "a", &nl);
    if (rc == TG_ERESCALE)
        return rc;
    if (rc < 0)
        goto bad;
    if (s->state == GT_WAIT) {
        gt_pend_add(h, s, U, u, ts_exch, st->lv, nl, ts_recv, ts_mono);
        if (!s->req.out)
            feed_rsync_request(h, &st->rs, (uint32_t)(s - st->sym), ts_mono);
        return 0;
    }
    int c = gt_check(s, U, u);
    if (c == 0) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    if (c < 0) {
        feed_jtok_log(h, &st->rl, ts_mono, FEED_LOG_WARN, "update id gap, resyncing", js, &t[res]);
        feed_rsync_gap(h, &st->rs, (uint32_t)(s - st->sym), U, st->rs.pb.n_m, ts_recv, ts_mono);
        gt_pend_add(h, s, U, u, ts_exch, st->lv, nl, ts_recv, ts_mono);
        return 0;
    }
    for (size_t i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_LEVEL, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, u, 0,
                       ts_exch, ts_recv, ts_mono, 0);
    feed_end_message(h, s->id, ts_exch, ts_recv, ts_mono);
    s->state = GT_LIVE;
    s->last = u;
    return 0;
bad:
    if (s->state != GT_WAIT) /* unreadable diff: the book cannot stay continuous */
        feed_rsync_gap(h, &st->rs, (uint32_t)(s - st->sym), 0, st->rs.pb.n_m, ts_recv, ts_mono);
    return rc;
}

/* One trade object at k into st->tr[*nt]. */
static int gt_trade_one(feed_handler_t *h, const char *js, int n, int k, size_t *nt)
{
    gt_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    bool fut = h->venue->variant == GT_FUT;
    if (t[k].type != JSMN_OBJECT || *nt >= st->tr_cap)
        return TG_EFIELD;
    int ci = feed_jtok_get(js, t, n, k, fut ? "contract" : "currency_pair");
    int pi = feed_jtok_get(js, t, n, k, "price");
    int ai = feed_jtok_get(js, t, n, k, fut ? "size" : "amount");
    int ii = feed_jtok_get(js, t, n, k, "id");
    int mi = feed_jtok_get(js, t, n, k, "create_time_ms");
    int si = fut ? -1 : feed_jtok_get(js, t, n, k, "side");
    int xi = fut ? feed_jtok_get(js, t, n, k, "is_internal") : -1;
    if (ci < 0 || t[ci].type != JSMN_STRING)
        return TG_EFIELD;
    feed_rsym_t *s = gt_lookup(h, js + t[ci].start, feed_jtok_len(&t[ci]));
    if (!s)
        return TG_ESYMBOL;
    gt_trade_t *tr = &st->tr[*nt];
    uint64_t id = 0;
    if (pi < 0 || ai < 0 || ii < 0 ||
        (t[ii].type == JSMN_STRING ? feed_jtok_i64(js, &t[ii], (int64_t *)&id) < 0
                                   : feed_jtok_u64(js, &t[ii], &id) < 0))
        return TG_EFIELD;
    if (t[pi].type != JSMN_STRING && t[pi].type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    if (t[ai].type != JSMN_STRING && t[ai].type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    tr->ts = 0;
    if (mi >= 0) {
        if (gt_ms_ns(js, &t[mi], &tr->ts) < 0)
            return TG_EFIELD;
    } else {
        int ti = feed_jtok_get(js, t, n, k, "create_time");
        int64_t sec;
        if (ti < 0 || feed_jtok_i64(js, &t[ti], &sec) < 0 || sec < 0 ||
            sec > INT64_MAX / 1000000000)
            return TG_EFIELD;
        tr->ts = sec * 1000000000;
    }
    if (fut) {
        tr->side = 0;
    } else if (si >= 0 && feed_jtok_str_is(js, &t[si], "buy")) {
        tr->side = TG_SIDE_BUY;
    } else if (si >= 0 && feed_jtok_str_is(js, &t[si], "sell")) {
        tr->side = TG_SIDE_SELL;
    } else {
        return TG_EFIELD;
    }
    int rc = feed_dec_px(h, s->id, js + t[pi].start, feed_jtok_len(&t[pi]), &tr->px);
    if (rc < 0)
        return rc;
    rc = feed_dec(h, s->id, FEED_DEC_SZ | (fut ? FEED_DEC_SIGNED : 0), js + t[ai].start,
                  feed_jtok_len(&t[ai]), &tr->sz);
    if (rc < 0)
        return rc;
    if (tr->px == 0 || tr->sz == 0)
        return TG_EDEC_SYNTAX;
    if (fut) {
        tr->side = tr->sz > 0 ? TG_SIDE_BUY : TG_SIDE_SELL;
        if (tr->sz < 0)
            tr->sz = -tr->sz;
    }
    tr->id = id;
    tr->instr = s->id;
    if (xi >= 0 && feed_jtok_eq(js, &t[xi], "true"))
        return 0; /* internal (liquidation takeover / ADL): not a market trade */
    (*nt)++;
    return 0;
}

static int gt_trades(feed_handler_t *h, const char *js, int n, int res, int64_t ts_recv,
                     int64_t ts_mono)
{
    gt_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    size_t nt = 0;
    int rc = 0;
    if (res < 0)
        return TG_EFIELD;
    if (t[res].type == JSMN_OBJECT) {
        rc = gt_trade_one(h, js, n, res, &nt);
    } else if (t[res].type == JSMN_ARRAY) {
        int k = res + 1;
        for (int m = 0; m < t[res].size && rc >= 0; m++) {
            if (k >= n)
                return TG_EFIELD;
            rc = gt_trade_one(h, js, n, k, &nt);
            k = feed_jtok_next(t, n, k);
        }
    } else {
        return TG_EFIELD;
    }
    if (rc < 0)
        return rc;
    if (nt == 0) {
        TG_STAT_INC(h->stats->unhandled); /* internal trades only */
        return 0;
    }
    for (size_t i = 0; i < nt; i++) {
        const gt_trade_t *tr = &st->tr[i];
        bool last = i + 1 == nt || st->tr[i + 1].instr != tr->instr;
        feed_emit_make(h, TG_EV_TRADE, tr->instr, tr->side, tr->px, tr->sz, tr->id, tr->id, tr->ts,
                       ts_recv, ts_mono, last ? TG_EVF_LAST : 0);
    }
    return 0;
}

/* {"stream":"<chan>:<SYM>@depthSnapshot","generated":true,"data":{...}} */
static int gt_inband(feed_handler_t *h, const char *js, int n, int stream, int64_t ts_recv,
                     int64_t ts_mono)
{
    gt_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    const char *sp = js + t[stream].start;
    size_t sl = feed_jtok_len(&t[stream]);
    static const char sfx[] = "@depthSnapshot";
    const char *ch = gt_book_chan(h);
    size_t cl = strlen(ch), xl = sizeof(sfx) - 1;
    if (t[stream].type != JSMN_STRING || sl <= cl + 1 + xl || memcmp(sp, ch, cl) != 0 ||
        sp[cl] != ':' || memcmp(sp + sl - xl, sfx, xl) != 0) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    feed_rsym_t *s = gt_lookup(h, sp + cl + 1, sl - cl - 1 - xl);
    if (!s)
        return TG_ESYMBOL;
    return feed_rsv_snap(h, s, js, n, feed_jtok_get(js, t, n, 0, "data"), ts_recv, ts_mono);
}

static int gt_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int stream = feed_jtok_get(buf, t, n, 0, "stream");
    if (stream > 0)
        return gt_inband(h, buf, n, stream, ts_recv, ts_mono);
    int ch = feed_jtok_get(buf, t, n, 0, "channel"), ev = feed_jtok_get(buf, t, n, 0, "event");
    int res = feed_jtok_get(buf, t, n, 0, "result"), err = feed_jtok_get(buf, t, n, 0, "error");
    if (ch < 0 || t[ch].type != JSMN_STRING)
        return TG_EFIELD;
    if (err > 0 && !feed_jtok_eq(buf, &t[err], "null"))
        return TG_EPROTO; /* {"error":{"code":..,"message":..}} */
    bool update = ev > 0 && feed_jtok_str_is(buf, &t[ev], "update");
    if (update && feed_jtok_str_is(buf, &t[ch], gt_book_chan(h)))
        return gt_diff(h, buf, n, res, ts_recv, ts_mono);
    if (update && feed_jtok_str_is(buf, &t[ch], gt_trade_chan(h)))
        return gt_trades(h, buf, n, res, ts_recv, ts_mono);
    if (res > 0 && t[res].type == JSMN_OBJECT) { /* subscribe acks: {"status":"success"} */
        int sti = feed_jtok_get(buf, t, n, res, "status");
        if (sti > 0 && feed_jtok_str_is(buf, &t[sti], "fail"))
            return TG_EPROTO;
    }
    TG_STAT_INC(h->stats->unhandled); /* acks, pongs, tickers, candlesticks, ... */
    return 0;
}

static const feed_vparser_t gt_parser = {gt_frame, JSMN_OBJECT, FEED_VP_SLOW};

/* The state, allocated and freed by the venue base. Instruments: feed_instr_defaults_plain
 * (Gate.io deletes every level it stops covering; no checksum on these channels). */
static const feed_vspec_t gt_spec = {
    FEED_RSV_SPEC(gt_state_t, GT_TOK_INIT, GT_TOK_MAX, FEED_VSCRATCH(gt_state_t, tr, 8))};

/* Subscribe message k (trades batches first, then one book subscribe per symbol) into msg.
 * @return its length, 0 to skip it, -1 past the end. */
static int gt_sub_msg(feed_handler_t *h, uint32_t k, char *msg, size_t cap)
{
    bool trades = h->channels & FEED_CH_TRADES, book = h->channels & FEED_CH_BOOK;
    uint32_t nt = trades ? (h->n_instr + GT_TRADE_BAT - 1) / GT_TRADE_BAT : 0;
    long now = (long)(tg_clock_realtime_ns() / 1000000000);
    if (k < nt) {
        int m = snprintf(msg, cap,
                         "{\"time\":%ld,\"channel\":\"%s\",\"event\":\"subscribe\","
                         "\"payload\":[",
                         now, gt_trade_chan(h));
        return feed_sub_list(h, msg, cap, m, k * GT_TRADE_BAT, GT_TRADE_BAT, h->n_instr, gt_name_ok,
                             "\"", 8, "]}");
    }
    k -= nt;
    if (!book || k >= h->n_instr)
        return -1;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[k]);
    if (!in || !gt_name_ok(in->symbol))
        return 0;
    if (h->venue->variant == GT_FUT)
        return snprintf(msg, cap,
                        "{\"time\":%ld,\"channel\":\"%s\",\"event\":\"subscribe\",\"payload\":"
                        "[\"%s\",\"100ms\",\"100\"]}",
                        now, gt_book_chan(h), in->symbol);
    return snprintf(msg, cap,
                    "{\"time\":%ld,\"channel\":\"%s\",\"event\":\"subscribe\",\"payload\":"
                    "[\"%s\",\"100ms\"]}",
                    now, gt_book_chan(h), in->symbol);
}

/* The application ping when GT_PING_NS have passed since the last one. */
static int gt_ping(feed_handler_t *h, int64_t since_ns, char *msg, size_t cap)
{
    if (since_ns < GT_PING_NS)
        return 0;
    return snprintf(msg, cap, "{\"time\":%ld,\"channel\":\"%s\"}",
                    (long)(tg_clock_realtime_ns() / 1000000000),
                    h->venue->variant == GT_FUT ? "futures.ping" : "spot.ping");
}

#define GT_SUB_CAP (GT_TRADE_BAT * (TG_SYMBOL_MAX + 4) + 128)
_Static_assert(GT_SUB_CAP <= FEED_RSV_SUB_MAX, "a Gate.io subscribe message fits");

/* The callbacks: those of the venues that bridge REST snapshots (feed_venue_base.h). */
static const feed_rsv_t gt_rsv = {
    FEED_RSV_STATE(gt_state_t), .path = gt_path,       .snap = gt_snapshot,
    .sub_msg = gt_sub_msg,      .sub_cap = GT_SUB_CAP, .ping = gt_ping,
};

/* Replay: the REST path -> the in-band name of its answer ("spot.order_book_update:btc_usdt"). */
static int gt_rest_key(const char *path, char *key, size_t cap)
{
    return feed_rest_key_query(path, "/api/v4/spot/order_book", "currency_pair",
                               "spot.order_book_update:", key, cap);
}

static int gt_fut_rest_key(const char *path, char *key, size_t cap)
{
    return feed_rest_key_query(path, "/api/v4/futures/usdt/order_book", "contract",
                               "futures.order_book_update:", key, cap);
}

/* Both ids: the same handler and limits, their own URLs and snapshot routes. */
#define GT_VENUE_ROW                                                                               \
    .rest_host = "api.gateio.ws", .max_sends_per_s = GT_SENDS_PS,                                  \
    .instr_defaults = feed_instr_defaults_plain, FEED_VENUE_RSV(gt)

const feed_venue_t feed_venue_gate_io = {
    .name = "gate-io",
    .default_url = "wss://api.gateio.ws/ws/v4/",
    .rest_key = gt_rest_key,
    GT_VENUE_ROW,
};

const feed_venue_t feed_venue_gate_io_futures = {
    .variant = GT_FUT,
    .name = "gate-io-futures",
    .default_url = "wss://fx-ws.gateio.ws/v4/ws/usdt",
    .rest_key = gt_fut_rest_key,
    GT_VENUE_ROW,
};
