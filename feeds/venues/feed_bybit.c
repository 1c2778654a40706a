/* SPDX-License-Identifier: MIT */
/*
 * Bybit v5 public handler, one handler for two venue ids (feed_venue_t.variant): `bybit`
 * (USDT/USDC perpetuals and futures, /v5/public/linear) and `bybit-spot` (/v5/public/spot).
 * Both send the same frames: `orderbook.{depth}.{symbol}` snapshot/delta,
 * `publicTrade.{symbol}`, `op` acks (subscribe, ping/pong).
 *
 * DESIGN
 * Books (Bybit docs, "Orderbook", process snapshot/delta): a `snapshot` replaces the book
 * (TG_EV_BOOK_CLEAR + levels); a `delta` sets levels (size 0 deletes). `data.u` is the update
 * id: a delta must carry prev u + 1. A snapshot resets the chain, whatever its u (u = 1 after
 * a Bybit service restart; orderbook.1 re-sends a snapshot with the *same* u when nothing
 * changed for 3 s). A delta that does not chain, or whose levels do not decode, invalidates
 * the book: TG_EV_GAP (seq = last u, u.aux = u received), and a resync by unsubscribing and
 * resubscribing the topic (Bybit answers with a snapshot); deltas until then are dropped
 * (stale_dropped). Deltas before the first snapshot are dropped the same way. Bybit keeps only
 * the top {depth} levels and does not delete levels that leave that range, so instruments get
 * depth_limit = the subscribed depth and the builder truncates.
 * `seq` (cross sequence) is not used for continuity: it is shared across depths and jumps.
 *
 * Trades: `publicTrade` data is an array; per trade T (ms), S ("Buy"/"Sell" = taker side),
 * v (size), p (price), i (text id -> feed_hash_id). One frame = one exchange message: only the
 * last trade of the frame carries TG_EVF_LAST.
 *
 * Trade backfill (docs/feeds.md "By time"; the time mode of feed_backfill.c, `last_n`): v5
 * serves no trade history, only GET /v5/market/recent-trade?category=spot|linear&symbol=S&
 * limit=N, the newest N trades (spot N <= 60, linear <= 1000). After a reconnect the first
 * trade at T opens [last trade time, T]; one request; the page's trades inside it are emitted
 * (execId hashed as the live `i`); when the page is full and its oldest trade is newer than the
 * range's start, [start, that oldest trade] is out of reach: given up, counted, a time-bounded
 * trade gap.
 *
 * Keep-alive: Bybit drops connections silent for 10 min and recommends a ping every 20 s:
 * on_tick sends {"op":"ping"} every 20 s. Subscribes go out in on_open with at most 10 args
 * per request (the documented spot limit; used for linear too).
 *
 * Exact decimals: every price and size goes through feed_dec_px/feed_dec_sz at the
 * instrument's current scale; a value with more places raises it and the frame is parsed
 * again (TG_ERESCALE). All numbers of a frame are decoded before any state changes or any
 * event is emitted, and nothing is kept across frames at a scale (no buffered deltas).
 *
 * In-band REST instrument metadata of the 2026 captures ({"rest":..,"generated":true,..}): the
 * tick and lot sizes of our symbols raise their scales ahead of the data (bb_instruments).
 *
 * Thread: feed:bybit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "venues.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* O(1) instead of a backwards scan per ',' and ']' */
#define JSMN_STRICT
#include <jsmn.h>

#include "feeds/feed_jtok.h"
#include "feeds/venues/feed_backfill.h"

#define BB_TOK_CAP    (1u << 16) /* orderbook.1000 snapshot: 2000 levels * 3 + a few */
#define BB_LOG_BURST  20
#define BB_PING_NS    20000000000LL
#define BB_DEPTH_DFLT 50u
#define BB_MS_MAX     9223372036854ULL /* ms whose ns fit int64 */
#define BB_RESYNC_NS  10000000000LL    /* resubscribed, no snapshot within: reconnect */
#define BB_BF_PER_MIN 600u /* REST budget: 1 a second (Bybit allows 600 per 5 s per IP) */

typedef struct bb_sym {
    uint32_t instr;
    bool live;
    uint64_t last_u;
    int64_t resync_mono; /* resubscribed at (mono ns), waiting for its snapshot; 0: none */
    const char *name;
    feed_bf_sym_t bf; /* trade backfill: the last trade time across reconnects */
} bb_sym_t;

typedef struct feed_bb {
    feed_handler_t *h;
    bb_sym_t *sym;
    uint32_t n_sym;
    uint16_t *slot; /* instrument id -> index in sym + 1 (feed_slots_new) */
    jsmntok_t *tok;
    uint32_t tok_cap;
    uint32_t depth;
    int64_t last_ping;
    feed_ratelim_t log_rl;
    feed_bf_t bf; /* trade backfill (feed_backfill.c, time mode, last_n) */
} feed_bb_t;

/* object at i: value token of key, or -1 */
static int tk_get(const char *js, const jsmntok_t *t, int n, int i, const char *key)
{
    if (t[i].type != JSMN_OBJECT)
        return -1;
    int k = i + 1;
    for (int j = 0; j < t[i].size && k + 1 < n; j++) {
        if (feed_jtok_str_is(js, &t[k], key))
            return k + 1;
        k = feed_jtok_next(t, n, k + 1);
    }
    return -1;
}

static int bb_sym_find(feed_bb_t *b, const char *s, size_t n)
{
    return feed_slot_find(b->h, b->slot, s, n);
}

static void bb_send_topic(feed_bb_t *b, const char *op, int s)
{
    feed_handler_t *h = b->h;
    if (!h->send)
        return;
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "{\"op\":\"%s\",\"args\":[\"orderbook.%u.%s\"]}", op,
                     b->depth, b->sym[s].name);
    h->send(h->tctx, msg, (size_t)n);
}

/* Resync by resubscribing; on_tick reconnects when no snapshot comes within BB_RESYNC_NS. */
static void bb_resync(feed_bb_t *b, int s, int64_t now_mono)
{
    b->sym[s].live = false;
    if (b->sym[s].resync_mono == 0)
        b->sym[s].resync_mono = now_mono ? now_mono : 1;
    TG_STAT_INC(b->h->stats->resyncs);
    bb_send_topic(b, "unsubscribe", s);
    bb_send_topic(b, "subscribe", s);
}

/* levels of one side into lv (px, sz, side triples) */
static int bb_levels(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int i, int side,
                     const bb_sym_t *y, int64_t *lv, int cap, int used)
{
    if (i < 0)
        return 0; /* a delta may leave a side out */
    if (t[i].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = i + 1, m = used;
    for (int j = 0; j < t[i].size; j++) {
        if (k + 2 >= n || t[k].type != JSMN_ARRAY || t[k].size != 2 ||
            t[k + 1].type != JSMN_STRING || t[k + 2].type != JSMN_STRING || m >= cap)
            return TG_EFIELD;
        int64_t *d = lv + 3 * (size_t)m;
        int rc = feed_dec_px(h, y->instr, js + t[k + 1].start,
                             (size_t)(t[k + 1].end - t[k + 1].start), &d[0]);
        if (rc == 0)
            rc = feed_dec_sz(h, y->instr, js + t[k + 2].start,
                             (size_t)(t[k + 2].end - t[k + 2].start), &d[1]);
        if (rc < 0)
            return rc;
        d[2] = side;
        m++;
        k += 3;
    }
    return m - used;
}

enum { BB_OK = 0, BB_UNHANDLED = 1 };

/* The quoted value of "key": inside [p, e), or NULL. */
static const char *bb_text_value(const char *p, const char *e, const char *key, size_t *n)
{
    size_t kn = strlen(key);
    for (const char *q = p; q + kn + 2 < e; q++) {
        q = memchr(q, '"', (size_t)(e - q));
        if (!q || q + kn + 3 >= e)
            return NULL;
        if (memcmp(q + 1, key, kn) == 0 && q[kn + 1] == '"' && q[kn + 2] == ':' &&
            q[kn + 3] == '"') {
            const char *v = q + kn + 4, *ve = memchr(v, '"', (size_t)(e - v));
            if (!ve)
                return NULL;
            *n = (size_t)(ve - v);
            return v;
        }
    }
    return NULL;
}

/* In-band REST instruments-info (/v5/market/instruments-info, 2026 captures):
 * {"rest":"<url>","generated":true,"data":{..,"result":{"list":[{"symbol":..,"priceFilter":
 * {"tickSize":..},"lotSizeFilter":{"qtyStep":.. (linear) | "basePrecision":.. (spot)}},..]}}}.
 * For our symbols the tick and lot sizes go through feed_dec, which raises a scale that holds
 * fewer places before any book arrives (TG_ERESCALE: parsed again). Text search, no tokens: the
 * answer lists every instrument of the category (800 linear, 557 spot in the recordings).
 * @return BB_OK (one of ours was listed), BB_UNHANDLED, or TG_ERESCALE. */
static int bb_instruments(feed_bb_t *b, const char *buf, size_t len)
{
    const char *e = buf + len;
    int ours = 0;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        char pat[TG_SYMBOL_MAX + 16];
        int pn = snprintf(pat, sizeof(pat), "\"symbol\":\"%s\"", b->sym[i].name);
        const char *o = pn > 0 ? memmem(buf, len, pat, (size_t)pn) : NULL;
        if (!o)
            continue;
        /* the instrument's object ends where the next one begins */
        const char *oe = memmem(o + pn, (size_t)(e - o - pn), "\"symbol\":\"", 10);
        if (!oe)
            oe = e;
        size_t tn = 0, qn = 0;
        const char *tick = bb_text_value(o, oe, "tickSize", &tn);
        const char *lot = bb_text_value(o, oe, "qtyStep", &qn);
        if (!lot)
            lot = bb_text_value(o, oe, "basePrecision", &qn);
        int64_t v;
        int rc = tick ? feed_dec_px(b->h, b->sym[i].instr, tick, tn, &v) : 0;
        if (rc == TG_ERESCALE)
            return rc;
        rc = lot ? feed_dec_sz(b->h, b->sym[i].instr, lot, qn, &v) : 0;
        if (rc == TG_ERESCALE)
            return rc;
        ours++; /* other errors: the metadata is only advice, the data decides */
    }
    return ours ? BB_OK : BB_UNHANDLED;
}

/* A decoded trade: its symbol's index, values at the symbol's scales, time ns, hashed id. */
typedef struct bb_trade {
    int sym;
    int64_t px, sz, ts;
    uint64_t id;
    uint8_t side;
} bb_trade_t;

/* The keys of a trade object: the ws `publicTrade` (T s S v p i) or REST `recent-trade`
 * (time symbol side size price execId) ones. */
static const char *const bb_ws_keys[6] = {"T", "s", "S", "v", "p", "i"};
static const char *const bb_rest_keys[6] = {"time", "symbol", "side", "size", "price", "execId"};

/* Trade object k (keys: one of the two sets above) into *o. @return 0, TG_ERESCALE or an
 * error. */
static int bb_trade_item(feed_bb_t *b, const char *js, const jsmntok_t *t, int n, int k,
                         const char *const *key, bb_trade_t *o)
{
    feed_handler_t *h = b->h;
    int ts = tk_get(js, t, n, k, key[0]), s = tk_get(js, t, n, k, key[1]),
        sd = tk_get(js, t, n, k, key[2]), v = tk_get(js, t, n, k, key[3]),
        p = tk_get(js, t, n, k, key[4]), id = tk_get(js, t, n, k, key[5]);
    if (ts < 0 || s < 0 || sd < 0 || v < 0 || p < 0 || id < 0 || t[s].type != JSMN_STRING ||
        t[v].type != JSMN_STRING || t[p].type != JSMN_STRING || t[id].type != JSMN_STRING)
        return TG_EFIELD;
    int sy = bb_sym_find(b, js + t[s].start, (size_t)(t[s].end - t[s].start));
    if (sy < 0)
        return TG_ESYMBOL;
    uint64_t tms;
    jsmntok_t tt = t[ts];
    if (key == bb_rest_keys && tt.type == JSMN_STRING)
        tt.type = JSMN_PRIMITIVE; /* REST: "time" is the ms digits as a string */
    int rc = feed_jtok_u64(js, &tt, &tms);
    if (rc < 0)
        return rc;
    if (tms > BB_MS_MAX)
        return TG_EFIELD;
    if (feed_jtok_side(js, &t[sd], "Buy", TG_SIDE_BUY, "Sell", TG_SIDE_SELL, &o->side) < 0)
        return TG_EFIELD;
    uint32_t in = b->sym[sy].instr;
    rc = feed_dec_px(h, in, js + t[p].start, (size_t)(t[p].end - t[p].start), &o->px);
    if (rc == 0)
        rc = feed_dec_sz(h, in, js + t[v].start, (size_t)(t[v].end - t[v].start), &o->sz);
    if (rc < 0)
        return rc;
    o->sym = sy;
    o->ts = (int64_t)tms * 1000000;
    o->id = feed_hash_id(js + t[id].start, (size_t)(t[id].end - t[id].start));
    return 0;
}

static int bb_trades(feed_bb_t *b, const char *js, const jsmntok_t *t, int n, int data,
                     int64_t ts_recv, int64_t ts_mono)
{
    feed_handler_t *h = b->h;
    if (t[data].type != JSMN_ARRAY)
        return TG_EFIELD;
    /* validate everything first: a frame is one message, all or nothing */
    bb_trade_t tr[64];
    int nt = 0, k = data + 1;
    for (int j = 0; j < t[data].size; j++) {
        if (nt == 64)
            return TG_EFIELD;
        int rc = bb_trade_item(b, js, t, n, k, bb_ws_keys, &tr[nt]);
        if (rc < 0)
            return rc;
        nt++;
        k = feed_jtok_next(t, n, k);
    }
    for (int j = 0; j < nt; j++) {
        bool last = j == nt - 1 || tr[j + 1].sym != tr[j].sym;
        feed_emit_make(h, TG_EV_TRADE, b->sym[tr[j].sym].instr, tr[j].side, tr[j].px, tr[j].sz, 0,
                       tr[j].id, tr[j].ts, ts_recv, ts_mono, last ? TG_EVF_LAST : 0);
        feed_bf_trade_ts(&b->bf, (uint32_t)tr[j].sym, tr[j].ts, ts_mono);
    }
    return BB_OK;
}

static int bb_frame(feed_bb_t *b, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono,
                    int *sym_out, uint64_t *u_out)
{
    feed_handler_t *h = b->h;
    static const char rest_pfx[] = "{\"rest\":\"";
    if (len > sizeof(rest_pfx) && memcmp(buf, rest_pfx, sizeof(rest_pfx) - 1) == 0)
        return bb_instruments(b, buf, len); /* in-band instruments-info of a capture (~1 MB) */
    jsmntok_t *t = b->tok;
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, buf, len, t, b->tok_cap);
    if (n < 1 || t[0].type != JSMN_OBJECT || !feed_jtok_wellformed(t, n))
        return TG_EJSON;
    int topic = tk_get(buf, t, n, 0, "topic");
    if (topic < 0) {
        int op = tk_get(buf, t, n, 0, "op"), ok = tk_get(buf, t, n, 0, "success");
        if (ok >= 0 && t[ok].type == JSMN_PRIMITIVE && buf[t[ok].start] == 'f')
            return TG_EPROTO; /* refused subscribe */
        return op >= 0 ? BB_UNHANDLED : TG_EFIELD;
    }
    if (t[topic].type != JSMN_STRING)
        return TG_EFIELD;
    const char *tp = buf + t[topic].start;
    size_t tn = (size_t)(t[topic].end - t[topic].start);
    int data = tk_get(buf, t, n, 0, "data");
    if (data < 0)
        return TG_EFIELD;
    if (tn > 12 && memcmp(tp, "publicTrade.", 12) == 0)
        return bb_trades(b, buf, t, n, data, ts_recv, ts_mono);
    if (!(tn > 10 && memcmp(tp, "orderbook.", 10) == 0))
        return BB_UNHANDLED; /* tickers, kline, ... */
    int type = tk_get(buf, t, n, 0, "type"), ts = tk_get(buf, t, n, 0, "ts");
    if (type < 0 || ts < 0 || t[data].type != JSMN_OBJECT)
        return TG_EFIELD;
    bool snap = feed_jtok_str_is(buf, &t[type], "snapshot");
    if (!snap && !feed_jtok_str_is(buf, &t[type], "delta"))
        return TG_EFIELD;
    uint64_t tms, u;
    int s = tk_get(buf, t, n, data, "s"), uu = tk_get(buf, t, n, data, "u");
    if (s < 0 || uu < 0 || t[s].type != JSMN_STRING)
        return TG_EFIELD;
    int rc = feed_jtok_u64(buf, &t[ts], &tms);
    if (rc == 0)
        rc = feed_jtok_u64(buf, &t[uu], &u);
    if (rc < 0)
        return rc;
    if (tms > BB_MS_MAX)
        return TG_EFIELD;
    int sy = bb_sym_find(b, buf + t[s].start, (size_t)(t[s].end - t[s].start));
    if (sy < 0)
        return TG_ESYMBOL;
    *sym_out = sy;
    *u_out = u;
    bb_sym_t *y = &b->sym[sy];
    /* levels go to the unused tail of the token array, 8-byte aligned (tokens are 20 bytes) */
    uintptr_t lp = ((uintptr_t)(t + n) + 7) & ~(uintptr_t)7;
    int64_t *lv = (int64_t *)lp;
    uintptr_t lend = (uintptr_t)(t + b->tok_cap);
    int cap = lp < lend ? (int)((lend - lp) / (3 * sizeof(int64_t))) : 0;
    int nb = bb_levels(h, buf, t, n, tk_get(buf, t, n, data, "b"), TG_SIDE_BID, y, lv, cap, 0);
    if (nb < 0)
        return nb;
    int na = bb_levels(h, buf, t, n, tk_get(buf, t, n, data, "a"), TG_SIDE_ASK, y, lv, cap, nb);
    if (na < 0)
        return na;
    int64_t ts_exch = (int64_t)tms * 1000000;
    if (!snap) {
        if (!y->live) {
            TG_STAT_INC(h->stats->stale_dropped);
            return BB_OK;
        }
        if (u != y->last_u + 1) {
            if (u <= y->last_u) {
                TG_STAT_INC(h->stats->stale_dropped); /* replayed / old */
                return BB_OK;
            }
            feed_emit_make(h, TG_EV_GAP, y->instr, 0, 0, 0, y->last_u, u, ts_exch, ts_recv, ts_mono,
                           TG_EVF_LAST);
            TG_STAT_INC(h->stats->gaps);
            feed_log_frame(b->h, &b->log_rl, ts_mono, FEED_LOG_WARN, "orderbook u gap", 0, buf,
                           len > 120 ? 120 : len);
            bb_resync(b, sy, ts_mono);
            return BB_OK;
        }
    }
    uint16_t fl = snap ? TG_EVF_SNAPSHOT : 0;
    if (snap) {
        feed_emit_make(h, TG_EV_BOOK_CLEAR, y->instr, 0, 0, 0, u, 0, ts_exch, ts_recv, ts_mono, fl);
        TG_STAT_INC(h->stats->snapshots);
        y->live = true;
        y->resync_mono = 0;
    }
    y->last_u = u;
    for (int i = 0; i < nb + na; i++)
        feed_emit_make(h, TG_EV_LEVEL, y->instr, (uint8_t)lv[3 * i + 2], lv[3 * i], lv[3 * i + 1],
                       u, 0, ts_exch, ts_recv, ts_mono, fl);
    feed_end_message(h, y->instr, ts_exch, ts_recv, ts_mono);
    return BB_OK;
}

static int bb_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                       int64_t ts_mono)
{
    feed_bb_t *b = h->vstate;
    feed_stats_t *st = h->stats;
    int sym = -1;
    uint64_t u = 0;
    int rc = bb_frame(b, buf, len, ts_recv, ts_mono, &sym, &u);
    if (rc == TG_ERESCALE)
        return rc; /* a scale grew before anything changed: feed_frame() parses it again */
    TG_STAT_INC(st->slow_path);
    if (rc == BB_OK) {
        TG_STAT_INC(st->handled);
        return 0;
    }
    if (rc == BB_UNHANDLED) {
        TG_STAT_INC(st->unhandled);
        return 0;
    }
    if (rc == TG_EPROTO) {
        feed_venue_error(h, buf, len); /* refused subscribe: err_venue, logged, kept for /health */
        return rc;
    }
    const char *what = feed_count_error(st, rc);
    feed_log_frame(b->h, &b->log_rl, ts_mono, FEED_LOG_WARN, what, rc, buf, len);
    if (sym >= 0 && b->sym[sym].live) {
        /* an orderbook message we could not read invalidates the book */
        feed_emit_make(h, TG_EV_GAP, b->sym[sym].instr, 0, 0, 0, b->sym[sym].last_u, u, 0, ts_recv,
                       ts_mono, TG_EVF_LAST);
        TG_STAT_INC(st->gaps);
        bb_resync(b, sym, ts_mono);
    }
    return rc;
}

static int bb_on_open(feed_handler_t *h)
{
    feed_bb_t *b = h->vstate;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        b->sym[i].live = false;
        b->sym[i].last_u = 0;
        b->sym[i].resync_mono = 0;
    }
    b->last_ping = 0;
    feed_bf_open(&b->bf, b->bf.gen + 1, 0); /* answers to the previous connection are dropped */
    if (!h->send)
        return 0;
    /* {"op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT",...]}, <= 10 */
    char msg[1024];
    size_t n = 0;
    int args = 0;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        for (int c = 0; c < 2; c++) {
            if ((c == 0 && !(h->channels & FEED_CH_BOOK)) ||
                (c == 1 && !(h->channels & FEED_CH_TRADES)))
                continue;
            if (args == 0)
                n = (size_t)snprintf(msg, sizeof(msg), "{\"op\":\"subscribe\",\"args\":[");
            if (c == 0)
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s\"orderbook.%u.%s\"",
                                      args ? "," : "", b->depth, b->sym[i].name);
            else
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s\"publicTrade.%s\"",
                                      args ? "," : "", b->sym[i].name);
            if (++args == 10) {
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "]}");
                h->send(h->tctx, msg, n);
                args = 0;
            }
        }
    }
    if (args) {
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "]}");
        h->send(h->tctx, msg, n);
    }
    return 0;
}

/* ---- trade backfill ----------------------------------------------------------------- */

enum { BB_LINEAR = 0, BB_SPOT = 1 }; /* feed_venue_t.variant */
#define BB_BF_SPOT   60u             /* recent-trade limit: spot <= 60 */
#define BB_BF_LINEAR 1000u           /* linear <= 1000 */

/* GET /v5/market/recent-trade?category=C&symbol=S&limit=N: the newest N trades (the range's
 * times are not asked for: Bybit serves no history; feed_backfill.c keeps what is inside). */
static int bb_bf_path(void *v, uint32_t s, int64_t from_ts, int64_t to_ts, uint32_t skip,
                      uint32_t n, char *buf, size_t cap)
{
    const feed_bb_t *b = v;
    bool spot = b->h->venue->variant == BB_SPOT;
    return snprintf(buf, cap, "/v5/market/recent-trade?category=%s&symbol=%s&limit=%u",
                    spot ? "spot" : "linear", b->sym[s].name, n);
}

/* {"retCode":0,"retMsg":"OK","result":{"category":..,"list":[{"execId","symbol","price","size",
 * "side","time",..},..]},..}, newest first; retCode other than 0: the venue's error. Every
 * number decoded before anything is emitted (TG_ERESCALE first). */
static int bb_bf_parse(void *v, uint32_t s, const char *js, size_t len, feed_bf_trade_t *out,
                       uint32_t cap, uint32_t *n_out)
{
    feed_bb_t *b = v;
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, b->tok, b->tok_cap);
    const jsmntok_t *t = b->tok;
    if (n < 1 || t[0].type != JSMN_OBJECT || !feed_jtok_wellformed(t, n))
        return TG_EJSON;
    int rc = tk_get(js, t, n, 0, "retCode"), res = tk_get(js, t, n, 0, "result");
    if (rc < 0 || !feed_jtok_eq(js, &t[rc], "0"))
        return TG_EPROTO;
    int list = res < 0 ? -1 : tk_get(js, t, n, res, "list");
    if (list < 0 || t[list].type != JSMN_ARRAY || (uint32_t)t[list].size > cap)
        return TG_EFIELD;
    uint32_t m = 0;
    for (int k = list + 1; m < (uint32_t)t[list].size; k = feed_jtok_next(t, n, k)) {
        bb_trade_t o;
        int r = bb_trade_item(b, js, t, n, k, bb_rest_keys, &o);
        if (r < 0)
            return r;
        if ((uint32_t)o.sym != s)
            return TG_ESYMBOL;
        out[m++] =
            (feed_bf_trade_t){.id = o.id, .px = o.px, .qty = o.sz, .ts_ns = o.ts, .side = o.side};
    }
    *n_out = m;
    return 0;
}

static const feed_bf_ops_t bb_bf_spot = {
    .path_ts = bb_bf_path, .parse = bb_bf_parse, .page = BB_BF_SPOT, .last_n = true};
static const feed_bf_ops_t bb_bf_linear = {
    .path_ts = bb_bf_path, .parse = bb_bf_parse, .page = BB_BF_LINEAR, .last_n = true};

/* Only trade-history answers (books come on the websocket); a previous connection's dropped. */
static int bb_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    return feed_bf_on_rest(&((feed_bb_t *)h->vstate)->bf, tag, status, body, len, ts_recv, ts_mono);
}

static void bb_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_bb_t *b = h->vstate;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        feed_emit_make(h, TG_EV_STALE, b->sym[i].instr, 0, 0, 0, b->sym[i].last_u, 0, 0, ts_recv,
                       ts_mono, TG_EVF_LAST | TG_EVF_RESYNC);
        b->sym[i].live = false;
    }
}

static void bb_on_tick(feed_handler_t *h, int64_t now_mono)
{
    feed_bb_t *b = h->vstate;
    feed_bf_tick(&b->bf, now_mono); /* trade backfill: a paced request when one is due */
    for (uint32_t i = 0; i < b->n_sym; i++) {
        bb_sym_t *y = &b->sym[i];
        if (y->resync_mono == 0 || now_mono - y->resync_mono <= BB_RESYNC_NS)
            continue;
        /* the venue did not answer the resubscribe with a snapshot: start over */
        feed_logf_limited(h, &b->log_rl, now_mono, FEED_LOG_WARN,
                          "%s: %s: no snapshot %llds after resubscribing, reconnecting",
                          h->venue->name, y->name, (long long)(BB_RESYNC_NS / 1000000000LL));
        for (uint32_t k = 0; k < b->n_sym; k++)
            b->sym[k].resync_mono = 0; /* on_open starts every book again */
        if (h->reconnect)
            h->reconnect(h->tctx, "bybit: no snapshot after resubscribe");
        break;
    }
    if (b->last_ping == 0) {
        b->last_ping = now_mono;
        return;
    }
    if (now_mono - b->last_ping >= BB_PING_NS && h->send) {
        static const char ping[] = "{\"op\":\"ping\"}";
        h->send(h->tctx, ping, sizeof(ping) - 1);
        b->last_ping = now_mono;
    }
}

/* The state, allocated and freed by the venue base; levels go to the unused tail of the
 * token array (bb_frame). */
static const feed_vspec_t bb_spec = {
    FEED_VSPEC_BASE(feed_bb_t, log_rl, BB_LOG_BURST, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VBLOCK(feed_bb_t, tok, BB_TOK_CAP)},
};

static int bb_init(feed_handler_t *h)
{
    feed_bb_t *b = h->vstate;
    b->h = h;
    b->n_sym = h->n_instr;
    b->tok_cap = BB_TOK_CAP;
    b->depth = h->depth ? h->depth : BB_DEPTH_DFLT;
    int rc = feed_vsym_names(h, b->sym, sizeof(*b->sym), offsetof(bb_sym_t, name), false);
    feed_bf_init(&b->bf, h, b, h->venue->variant == BB_SPOT ? &bb_bf_spot : &bb_bf_linear,
                 b->n_sym ? &b->sym[0].bf : NULL, sizeof(b->sym[0]), b->n_sym, &b->log_rl);
    for (uint32_t i = 0; i < b->n_sym; i++) {
        b->sym[i].bf.instr = b->sym[i].instr;
        b->sym[i].bf.name = b->sym[i].name ? b->sym[i].name : "?";
    }
    return rc;
}

static void bb_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    /* 8/8: the recorded instruments-info answers list tick sizes of up to 8 places (linear) and
       13 (spot meme coins), lot sizes of up to 4 / 6; a value with more places than the current
       scale raises it (feed_dec), so 8 is only where an instrument starts */
    cfg->px_scale = 8;
    cfg->sz_scale = 8;
    /* Bybit maintains only the top {depth} levels and never deletes those that fall out */
    cfg->depth_limit = depth ? depth : BB_DEPTH_DFLT;
}

/* Published limits (docs/venues/bybit.md): spot takes at most 10 args per subscribe request
 * (on_open sends 10 per request for both); Bybit publishes no per-connection topic limit and no
 * client message rate for public streams (0: none). */
/* Both ids: the same handler and limits, their own URLs. */
#define BB_VENUE_ROW                                                                               \
    .instr_defaults = bb_instr_defaults, .state = &bb_spec, .init = bb_init, FEED_VENUE_FNS(bb),   \
    FEED_BF_VENUE_TS(bb, "api.bybit.com", BB_BF_PER_MIN)

const feed_venue_t feed_venue_bybit = {.name = "bybit",
                                       .default_url = "wss://stream.bybit.com/v5/public/linear",
                                       .variant = BB_LINEAR,
                                       BB_VENUE_ROW};

const feed_venue_t feed_venue_bybit_spot = {.name = "bybit-spot",
                                            .default_url = "wss://stream.bybit.com/v5/public/spot",
                                            .variant = BB_SPOT,
                                            BB_VENUE_ROW};
