/* SPDX-License-Identifier: MIT */
/*
 * Coinbase Advanced Trade market data (wss://advanced-trade-ws.coinbase.com) venue handler:
 * `level2` (arrives as channel "l2_data"), `market_trades`, `heartbeats`; `subscriptions`,
 * `ticker`, `candles`, `status` acknowledged as unhandled; `{"type":"error"}` a venue error; the
 * in-band REST product list of a recording (`{"rest":..,"generated":true,"data":..}`) is read
 * for the products' increments.
 *
 * DESIGN
 * Every frame is {"channel":..,"timestamp":..,"sequence_num":N,"events":[..]}. `sequence_num`
 * counts every message of the connection (all channels, heartbeats included), so one counter
 * proves that nothing was lost: the next frame must carry last + 1. Anything else (a gap, a
 * repeat, a frame we could not read at all and whose number we therefore never saw) emits
 * TG_EV_GAP for every book of the connection (seq = last number, aux = number received) and
 * resubscribes `level2` for every product (unsubscribe + subscribe: Coinbase answers with a
 * new snapshot); updates until that snapshot are dropped (stale_dropped). The frame that showed
 * the gap is processed normally after it (a snapshot in it is a complete book).
 *
 * l2_data: each element of "events" is one exchange message of one product: "snapshot" clears
 * and fills the book, "update" sets levels; side "bid" / "offer", `price_level`,
 * `new_quantity` ("0" deletes). ts_exch is the frame's "timestamp" (publication time, ns
 * precision); the per-level `event_time` is not read (parsing ~46k timestamps of a snapshot
 * would double its cost for no use). Every number of the frame is parsed (feed_dec: exact, the
 * scale grows when needed) before any state changes; a book event that cannot be read is never
 * applied in part: GAP + resubscribe for the products of the frame (all books when its product
 * cannot be identified).
 *
 * market_trades: `side` is the MAKER's side (checked on the recording: the 71 trades whose
 * price can be placed against the rebuilt book all print at the ask with side "SELL" or at the
 * bid with side "BUY"), so the aggressor is the opposite. "snapshot" events are recent history:
 * they seed the per-product trade_id baseline and are not emitted (a reconnect would emit them
 * twice). "update" events list trades newest first; they are emitted oldest first (sorted by
 * trade_id), one exchange message per product ending with TG_EVF_LAST. A trade_id not above
 * the last one is a duplicate (dropped, stale_dropped); a jump (trade_ids are consecutive per
 * product) is counted in `gaps` and logged, without TG_EV_GAP (books are not affected, and the
 * sequence_num chain already reports lost frames).
 *
 * Sends: at most CA_SENDS_PER_S messages per second (Coinbase: 8 unauthenticated messages per
 * second per IP). on_open sends one subscribe per channel (level2, market_trades, heartbeats:
 * heartbeats keep the other subscriptions open when a product is quiet); resubscribes are
 * batched per step (one unsubscribe for every product waiting, then one subscribe) and paced
 * from on_frame / on_tick.
 *
 * Thread: feed:coinbase-advanced.
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/feed_sync.h"
#include "feed_venue_base.h"
#include "feed_venue_util.h"
#include "venues.h"

#define CA_TOK_INIT    4096
#define CA_TOK_MAX     (1 << 21) /* the 5.1 MB BTC-USD snapshot needs ~420k tokens */
#define CA_LOG_BURST   20
#define CA_SENDS_PER_S 8
#define CA_NS_PER_S    1000000000LL

enum { CA_OK = 0, CA_UNHANDLED = 1 };

typedef feed_rsb_sym_t ca_sym_t; /* live: snapshot seen since (re)subscribe */

typedef struct ca_lvl {
    int64_t px, sz;
    uint8_t side;
} ca_lvl_t;

typedef struct ca_bev { /* one l2_data event */
    uint32_t sym, first, n;
    uint8_t snap;
} ca_bev_t;

typedef struct ca_trd {
    int64_t px, sz, ts;
    uint64_t tid;
    uint32_t sym;
    uint8_t side, numeric, snap, emit;
} ca_trd_t;

typedef struct ca_state {
    feed_jtok_t jt;
    ca_lvl_t *lv;
    size_t lv_cap;
    ca_bev_t *bev;
    size_t bev_cap;
    ca_trd_t *tr;
    size_t tr_cap;
    ca_sym_t *sym;
    uint32_t n_sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    uint64_t last_seq;
    bool have_seq;
    feed_resub_t rsb; /* resyncs by resubscribing level2, paced */
} ca_state_t;

/* ---- helpers ------------------------------------------------------------------------------ */

static int ca_tok_time(const char *js, const jsmntok_t *t, int64_t *out)
{
    if (t->type != JSMN_STRING)
        return TG_EFIELD;
    return feed_iso_ns(js + t->start, feed_jtok_len(t), false, out);
}

/* Case-insensitive comparison of a string token with a lower-case literal. */
static bool ca_str_ieq(const char *js, const jsmntok_t *t, const char *lit)
{
    size_t n = strlen(lit);
    if (t->type != JSMN_STRING || feed_jtok_len(t) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = js[t->start + (int)i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[i])
            return false;
    }
    return true;
}

/* ---- resubscribe (paced) ------------------------------------------------------------------ */

/* The books of this connection cannot be trusted any more: GAP each, resubscribe level2. */
static void ca_gap_books(feed_handler_t *h, uint64_t last, uint64_t got, int64_t ts_recv,
                         int64_t ts_mono)
{
    ca_state_t *st = h->vstate;
    if (!(h->channels & FEED_CH_BOOK))
        return;
    for (uint32_t i = 0; i < st->n_sym; i++) {
        feed_emit_make(h, TG_EV_GAP, st->sym[i].instr, 0, 0, 0, last, got, 0, ts_recv, ts_mono,
                       TG_EVF_LAST);
        feed_rsb_want(h, i);
    }
}

/* One product's book: GAP (when it was valid) and resubscribe. */
static void ca_gap_one(feed_handler_t *h, uint32_t i, int64_t ts_recv, int64_t ts_mono)
{
    ca_state_t *st = h->vstate;
    if (st->sym[i].live) {
        feed_emit_make(h, TG_EV_GAP, st->sym[i].instr, 0, 0, 0, st->last_seq, 0, 0, ts_recv,
                       ts_mono, TG_EVF_LAST);
        TG_STAT_INC(h->stats->gaps);
    }
    feed_rsb_want(h, i);
}

/* The "type" of an event at ty (< 0: none): "snapshot" 1, "update" 0, else TG_EFIELD. */
static int ca_event_type(const char *js, const jsmntok_t *t, int ty)
{
    if (ty >= 0 && feed_jtok_str_is(js, &t[ty], "snapshot"))
        return 1;
    if (ty >= 0 && feed_jtok_str_is(js, &t[ty], "update"))
        return 0;
    return TG_EFIELD;
}

/* ---- l2_data -------------------------------------------------------------------------------- */

/* Parse every event of an l2_data frame (evs: its "events" array) into st->bev / st->lv. *done
 * counts the events read completely; on error, *bad is the index of the product whose event
 * failed (-1: not known).
 * @return number of events, TG_ERESCALE, or an error. */
static int ca_l2_parse(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int evs,
                       int *done, int *bad)
{
    ca_state_t *st = h->vstate;
    size_t nl = 0, ne = 0;
    *done = 0;
    int k = evs + 1;
    for (int e = 0; e < t[evs].size; e++, k = feed_jtok_next(t, n, k)) {
        *bad = -1;
        if (k >= n || t[k].type != JSMN_OBJECT)
            return TG_EFIELD;
        /* one pass over the event's keys: "updates" can span ~420k tokens */
        static const char *const ev_keys[] = {"type", "product_id", "updates"};
        int ek[3];
        feed_jtok_getv(js, t, n, k, ev_keys, ek, 3);
        int ty = ek[0], pi = ek[1], up = ek[2];
        if (pi < 0)
            return TG_EFIELD;
        int s = feed_vsym_index(h, js, &t[pi]);
        if (s < 0)
            return s;
        *bad = s;
        int snap = ca_event_type(js, t, ty);
        if (snap < 0)
            return snap;
        if (up < 0 || t[up].type != JSMN_ARRAY || ne >= st->bev_cap)
            return TG_EFIELD;
        uint32_t instr = st->sym[s].instr;
        ca_bev_t *b = &st->bev[ne];
        b->sym = (uint32_t)s;
        b->snap = (uint8_t)snap;
        b->first = (uint32_t)nl;
        int u = up + 1;
        for (int m = 0; m < t[up].size; m++, u = feed_jtok_next(t, n, u)) {
            if (u >= n || t[u].type != JSMN_OBJECT || nl >= st->lv_cap)
                return TG_EFIELD;
            static const char *const lv_keys[] = {"side", "price_level", "new_quantity"};
            int lk[3];
            feed_jtok_getv(js, t, n, u, lv_keys, lk, 3);
            int sd = lk[0], px = lk[1], qt = lk[2];
            if (sd < 0 || px < 0 || qt < 0 || t[px].type != JSMN_STRING ||
                t[qt].type != JSMN_STRING)
                return TG_EFIELD;
            ca_lvl_t *l = &st->lv[nl];
            if (feed_jtok_side(js, &t[sd], "bid", TG_SIDE_BID, "offer", TG_SIDE_ASK, &l->side) < 0)
                return TG_EFIELD;
            int rc = feed_dec_px(h, instr, js + t[px].start, feed_jtok_len(&t[px]), &l->px);
            if (rc < 0)
                return rc;
            if (l->px == 0)
                return TG_EFIELD;
            rc = feed_dec_sz(h, instr, js + t[qt].start, feed_jtok_len(&t[qt]), &l->sz);
            if (rc < 0)
                return rc;
            nl++;
        }
        b->n = (uint32_t)(nl - b->first);
        *done = (int)++ne;
    }
    *bad = -1;
    return (int)ne;
}

static void ca_l2_emit(feed_handler_t *h, int ne, uint64_t seq, int64_t ts, int64_t ts_recv,
                       int64_t ts_mono)
{
    ca_state_t *st = h->vstate;
    for (int e = 0; e < ne; e++) {
        const ca_bev_t *b = &st->bev[e];
        ca_sym_t *s = &st->sym[b->sym];
        uint16_t fl = 0;
        if (b->snap) {
            fl = TG_EVF_SNAPSHOT;
            feed_emit_make(h, TG_EV_BOOK_CLEAR, s->instr, 0, 0, 0, seq, 0, ts, ts_recv, ts_mono,
                           fl);
            TG_STAT_INC(h->stats->snapshots);
            s->live = 1;
        } else if (!s->live) {
            TG_STAT_INC(h->stats->stale_dropped); /* waiting for a snapshot */
            continue;
        } else if (b->n == 0) {
            continue;
        }
        for (uint32_t i = b->first; i < b->first + b->n; i++)
            feed_emit_make(h, TG_EV_LEVEL, s->instr, st->lv[i].side, st->lv[i].px, st->lv[i].sz,
                           seq, 0, ts, ts_recv, ts_mono, fl);
        feed_end_message(h, s->instr, ts, ts_recv, ts_mono);
    }
}

/* ---- market_trades -------------------------------------------------------------------------- */

/* Trade i of st->tr: an entry of "trades" (values of f[]: "product_id", "trade_id", "price",
 * "size", "time", "side") of an event of type *(int *)a->ctx (1: snapshot). */
static int ca_trade(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, const int *f,
                    int *bad)
{
    ca_state_t *st = h->vstate;
    const char *js = a->js;
    const jsmntok_t *t = a->t;
    int pi = f[0], id = f[1], px = f[2], sz = f[3], tm = f[4], sd = f[5];
    if (t[px].type != JSMN_STRING || t[sz].type != JSMN_STRING ||
        (t[id].type != JSMN_STRING && t[id].type != JSMN_PRIMITIVE) || feed_jtok_len(&t[id]) == 0)
        return TG_EFIELD;
    int s = feed_vsym_index(h, js, &t[pi]);
    if (s < 0)
        return s;
    ca_trd_t *r = &st->tr[i];
    r->sym = (uint32_t)s;
    r->snap = (uint8_t) * (const int *)a->ctx;
    r->emit = 0;
    /* side is the maker's: the aggressor took the other side */
    if (ca_str_ieq(js, &t[sd], "sell"))
        r->side = TG_SIDE_BUY;
    else if (ca_str_ieq(js, &t[sd], "buy"))
        r->side = TG_SIDE_SELL;
    else
        return TG_EFIELD;
    int rc = ca_tok_time(js, &t[tm], &r->ts);
    if (rc < 0)
        return rc;
    int64_t v;
    if (feed_jtok_i64(js, &t[id], &v) == 0 && v >= 0) {
        r->tid = (uint64_t)v;
        r->numeric = 1;
    } else {
        r->tid = feed_hash_id(js + t[id].start, feed_jtok_len(&t[id]));
        r->numeric = 0;
    }
    uint32_t instr = st->sym[s].instr;
    if ((rc = feed_dec_px(h, instr, js + t[px].start, feed_jtok_len(&t[px]), &r->px)) < 0)
        return rc;
    return feed_dec_sz(h, instr, js + t[sz].start, feed_jtok_len(&t[sz]), &r->sz);
}

static int ca_trades_parse(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int evs)
{
    static const char *const tr_keys[] = {"product_id", "trade_id", "price",
                                          "size",       "time",     "side"};
    ca_state_t *st = h->vstate;
    size_t nt = 0;
    int k = evs + 1;
    for (int e = 0; e < t[evs].size; e++, k = feed_jtok_next(t, n, k)) {
        if (k >= n || t[k].type != JSMN_OBJECT)
            return TG_EFIELD;
        int ty = feed_jtok_get(js, t, n, k, "type"), ta = feed_jtok_get(js, t, n, k, "trades");
        int snap = ca_event_type(js, t, ty);
        if (snap < 0)
            return snap;
        if (ta < 0 || t[ta].type != JSMN_ARRAY)
            return TG_EFIELD;
        const feed_lvls_t la = {js, t, n, 0, 0, &snap};
        int bad, rc = feed_trades(h, &la, ta, tr_keys, 6, st->tr_cap, &nt, &bad, ca_trade);
        if (rc < 0)
            return rc;
    }
    return (int)nt;
}

static void ca_trades_emit(feed_handler_t *h, int nt, uint64_t seq, int64_t ts_recv,
                           int64_t ts_mono, const char *buf, size_t len)
{
    ca_state_t *st = h->vstate;
    ca_trd_t *tr = st->tr;
    /* oldest first: Coinbase lists trades newest first; sort by (product, trade_id) when the
     * ids are numbers (insertion sort, stable; a message has a handful of trades) */
    bool numeric = true;
    for (int i = 0; i < nt; i++)
        numeric = numeric && tr[i].numeric;
    if (numeric) {
        for (int i = 1; i < nt; i++) {
            ca_trd_t x = tr[i];
            int j = i - 1;
            while (j >= 0 && (tr[j].sym > x.sym || (tr[j].sym == x.sym && tr[j].tid > x.tid))) {
                tr[j + 1] = tr[j];
                j--;
            }
            tr[j + 1] = x;
        }
    } else {
        for (int i = 0, j = nt - 1; i < j; i++, j--) {
            ca_trd_t x = tr[i];
            tr[i] = tr[j];
            tr[j] = x;
        }
    }
    int last = -1;
    for (int i = 0; i < nt; i++) {
        ca_trd_t *r = &tr[i];
        ca_sym_t *s = &st->sym[r->sym];
        if (r->numeric && s->have_tid && r->tid <= s->last_tid) {
            if (!r->snap)
                TG_STAT_INC(h->stats->stale_dropped); /* already seen */
            continue;
        }
        if (r->numeric) {
            if (!r->snap && s->have_tid && r->tid != s->last_tid + 1) {
                TG_STAT_INC(h->stats->gaps);
                feed_log_frame(h, &st->rl, ts_mono, FEED_LOG_WARN, "trade_id gap (trades lost)", 0,
                               buf, len);
            }
            s->last_tid = r->tid;
            s->have_tid = 1;
        }
        if (r->snap || !(h->channels & FEED_CH_TRADES))
            continue; /* history: baseline only */
        r->emit = 1;
        last = i;
    }
    for (int i = 0; i <= last; i++) {
        if (!tr[i].emit)
            continue;
        int nx = i + 1;
        while (nx <= last && !tr[nx].emit)
            nx++;
        uint16_t fl = nx > last || tr[nx].sym != tr[i].sym ? TG_EVF_LAST : 0;
        feed_emit_make(h, TG_EV_TRADE, st->sym[tr[i].sym].instr, tr[i].side, tr[i].px, tr[i].sz,
                       seq, tr[i].tid, tr[i].ts, ts_recv, ts_mono, fl);
    }
}

/* ---- in-band REST product list (recordings) ------------------------------------------------ */

/* {"rest":"<url>","generated":true,"data":{"products":[{"product_id",..,"price_increment",
 * "quote_increment","base_increment"},..]}}: the increments of our products go through feed_dec,
 * which raises a scale that holds fewer places (it never lowers one). */
static int ca_rest_line(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int data)
{
    int prods = feed_jtok_get(js, t, n, data, "products");
    if (prods < 0 || t[prods].type != JSMN_ARRAY)
        return CA_UNHANDLED;
    int ours = 0, k = prods + 1;
    for (int m = 0; m < t[prods].size && k < n; m++, k = feed_jtok_next(t, n, k)) {
        int pi = feed_jtok_get(js, t, n, k, "product_id");
        if (pi < 0)
            continue;
        int s = feed_vsym_index(h, js, &t[pi]);
        if (s < 0)
            continue;
        ours++;
        ca_state_t *st = h->vstate;
        uint32_t instr = st->sym[s].instr;
        int px = feed_jtok_get(js, t, n, k, "price_increment");
        if (px < 0 || t[px].type != JSMN_STRING)
            px = feed_jtok_get(js, t, n, k, "quote_increment");
        int bz = feed_jtok_get(js, t, n, k, "base_increment");
        int64_t v;
        if (px >= 0 && t[px].type == JSMN_STRING &&
            feed_dec_px(h, instr, js + t[px].start, feed_jtok_len(&t[px]), &v) == TG_ERESCALE)
            return TG_ERESCALE;
        if (bz >= 0 && t[bz].type == JSMN_STRING &&
            feed_dec_sz(h, instr, js + t[bz].start, feed_jtok_len(&t[bz]), &v) == TG_ERESCALE)
            return TG_ERESCALE;
    }
    return ours ? CA_OK : CA_UNHANDLED;
}

/* ---- frames --------------------------------------------------------------------------------- */

static int ca_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                    int64_t ts_mono, bool *acted)
{
    ca_state_t *st = h->vstate;
    int n = feed_vparse(h, buf, len, JSMN_OBJECT); /* scratch blocks grown with the tokens */
    if (n < 0)
        return n;
    const jsmntok_t *t = st->jt.t;
    if (feed_jtok_next(t, n, 0) != n)
        return TG_EJSON; /* bytes after the object */
    static const char *const keys[] = {"channel", "sequence_num", "events", "timestamp",
                                       "type",    "rest",         "data"};
    int v[7];
    feed_jtok_getv(buf, t, n, 0, keys, v, 7);
    int ch = v[0], sq = v[1], evs = v[2], tsi = v[3], ty = v[4], rest = v[5], data = v[6];
    if (rest >= 0 && data >= 0)
        return ca_rest_line(h, buf, t, n, data);
    if (ty >= 0 && feed_jtok_str_is(buf, &t[ty], "error"))
        return TG_EPROTO;
    if (ch < 0 || t[ch].type != JSMN_STRING)
        return TG_EFIELD;
    uint64_t seq = 0;
    if (sq >= 0 && feed_jtok_u64(buf, &t[sq], &seq) < 0)
        return TG_EFIELD;
    bool l2 = feed_jtok_str_is(buf, &t[ch], "l2_data");
    bool trades = feed_jtok_str_is(buf, &t[ch], "market_trades");
    int64_t ts = 0;
    int rc = 0, bad = -1, done = 0, cnt = 0;
    if ((l2 || trades) && (evs < 0 || t[evs].type != JSMN_ARRAY))
        rc = cnt = TG_EFIELD; /* no "events" array */
    else if (l2)
        rc = cnt = ca_l2_parse(h, buf, t, n, evs, &done, &bad);
    else if (trades)
        rc = cnt = ca_trades_parse(h, buf, t, n, evs);
    if (rc >= 0 && (l2 || trades) && tsi >= 0)
        rc = ca_tok_time(buf, &t[tsi], &ts);
    if (rc == TG_ERESCALE)
        return rc; /* parsed again at the new scale: nothing changed yet */
    /* the connection-wide chain: every message carries the next number */
    if (sq >= 0) {
        if (st->have_seq && seq != st->last_seq + 1) {
            TG_STAT_INC(h->stats->gaps);
            feed_log_frame(h, &st->rl, ts_mono, FEED_LOG_WARN,
                           "sequence_num gap: every book resyncs", 0, buf, len);
            ca_gap_books(h, st->last_seq, seq, ts_recv, ts_mono);
            *acted = true;
        }
        st->last_seq = seq;
        st->have_seq = true;
    }
    if (rc < 0) {
        if (l2 && (h->channels & FEED_CH_BOOK)) {
            /* an unreadable book message: the books it names are no longer Coinbase's (every
             * book when the failing event's product is unknown) */
            bool all = cnt < 0 && bad < 0;
            for (uint32_t i = 0; i < st->n_sym; i++) {
                bool hit = all || (int)i == bad;
                for (int e = 0; e < done && !hit; e++)
                    hit = st->bev[e].sym == i;
                if (hit)
                    ca_gap_one(h, i, ts_recv, ts_mono);
            }
        }
        return rc;
    }
    if (l2) {
        if (!(h->channels & FEED_CH_BOOK))
            return CA_UNHANDLED;
        ca_l2_emit(h, cnt, seq, ts, ts_recv, ts_mono);
        return CA_OK;
    }
    if (trades) {
        ca_trades_emit(h, cnt, seq, ts_recv, ts_mono, buf, len);
        return CA_OK;
    }
    return CA_UNHANDLED; /* heartbeats, subscriptions, ticker, candles, status, ... */
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* The state, allocated and freed by the venue base (scratch grows with the tokens; init sizes
 * the subscribe buffer to the products). Instruments: feed_instr_defaults_plain (increments go
 * down to 1e-8 in the 2026 product list, price and base; a product that needs more places
 * raises its scale by itself, feed_dec; level2 is the full book). */
static const feed_vspec_t ca_spec = {
    FEED_VSPEC_RL(ca_state_t, CA_TOK_INIT, CA_TOK_MAX, CA_LOG_BURST, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VSCRATCH(ca_state_t, lv, 4), FEED_VSCRATCH(ca_state_t, bev, 4),
               FEED_VSCRATCH(ca_state_t, tr, 8), FEED_RESUB_BLOCKS(ca_state_t, rsb)},
    .reset = {FEED_VRESET(ca_sym_t, live, 0), FEED_VRESET(ca_sym_t, have_tid, 0),
              FEED_VRESET(ca_sym_t, last_tid, 0)},
};

static int ca_on_open(feed_handler_t *h)
{
    ca_state_t *st = h->vstate;
    st->have_seq = false;
    st->last_seq = 0;
    if (!feed_rsb_open(h)) /* no snapshot seen, no trade id (the spec's reset fields) */
        return 0;
    const char *chans[3];
    int nc = 0;
    if (h->channels & FEED_CH_BOOK)
        chans[nc++] = "level2";
    if (h->channels & FEED_CH_TRADES)
        chans[nc++] = "market_trades";
    chans[nc++] = "heartbeats"; /* keeps quiet subscriptions open */
    for (int c = 0; c < nc; c++) {
        char tail[48];
        snprintf(tail, sizeof(tail), "],\"channel\":\"%s\"}", chans[c]);
        int rc = feed_resub_send_list(h, &st->rsb, "{\"type\":\"subscribe\",\"product_ids\":[",
                                      tail, -1);
        if (rc < 0)
            return rc;
        st->rsb.win_used++;
    }
    return 0;
}

/* The rest of on_close: no sequence seen. */
static void ca_closed(feed_handler_t *h)
{
    ((ca_state_t *)h->vstate)->have_seq = false;
}

/* Resyncs by resubscribing level2 (feed_venue_base.h):
 * {"type":"<op>","product_ids":[..],"channel":"level2"}; every frame counts exactly once:
 * handled, unhandled or one err_* counter. */
static const feed_rsb_t ca_rsb = {FEED_RSB_STATE(ca_state_t),          .list = "\"product_ids\":[",
                                  .tail = "],\"channel\":\"level2\"}", .parse = ca_frame,
                                  .unhandled = CA_UNHANDLED,           .closed = ca_closed};

const feed_venue_t feed_venue_coinbase_advanced = {
    .name = "coinbase-advanced",
    .default_url = "wss://advanced-trade-ws.coinbase.com",
    .rest_host = NULL, /* snapshots come on the websocket */
    FEED_VENUE_RSB(ca, feed_instr_defaults_plain, CA_SENDS_PER_S),
    .trade_ids_seq = true, /* trade_id per product, consecutive */
};
