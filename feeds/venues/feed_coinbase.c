/* SPDX-License-Identifier: MIT */
/*
 * Coinbase Exchange (legacy "ws-feed", as recorded) handler: level2 `snapshot` / `l2update`,
 * `match` / `last_match` trades, `subscriptions` acks; `ticker`, `heartbeat` ignored;
 * `error` counted as a venue error.
 *
 * DESIGN
 * Books: a `snapshot` clears and fills the book (no exchange time in it: ts_exch = 0); each
 * `l2update` sets levels ([side, price, size], side buy = bid, sell = ask; size 0 deletes) at
 * its `time`. level2 carries no sequence number, so continuity cannot be proven: a lost
 * l2update is undetectable here (documented in docs/venues.md). A level that fails to decode
 * invalidates the book: TG_EV_GAP, resync by unsubscribing and resubscribing the product's
 * level2 channel (Coinbase answers with a new snapshot); updates before it are dropped.
 *
 * Trades: `last_match` (sent once on subscribe) is the product's most recent trade from
 * *before* the subscription: it only seeds the trade-id / sequence baseline and is not emitted
 * (a reconnect would otherwise emit it twice; tardis does not count it either).
 * `side` of a match is the *maker's* side, so the aggressor is the opposite
 * ("sell" maker -> aggressor bought); tardis maps it the same way. trade_id is per product and
 * consecutive: a jump means lost matches (counted as a gap and logged; it does not touch the
 * book, so no TG_EV_GAP). `sequence` is per product and strictly increasing across all of the
 * product's messages (not consecutive across matches): a match whose sequence is not above the
 * last one is a duplicate and is dropped (stale_dropped).
 *
 * Trade backfill (docs/feeds.md, shared part in feed_backfill.c): the first trade of a new
 * connection shows the hole since the previous one: a `last_match` L the ids [last + 1, L], a
 * first `match` M [last + 1, M). It is fetched with GET /products/<P>/trades?after=X&limit=n
 * (`after`: ids below X, newest first), X = from + n, n <= 1000, paced 1 request/s; each page
 * is emitted in ascending id as TG_EV_TRADE with TG_EVF_REST (seq 0: no feed sequence).
 *
 * Scales: prices/sizes go through feed_dec at the product's current scales (raised when a
 * value needs more places: TG_ERESCALE, the frame is parsed again; nothing changes before
 * every number of a message is parsed).
 *
 * Times: ISO-8601 UTC text ("2021-04-17T16:43:37.075687Z") converted to ns exactly (integer
 * civil-date arithmetic, up to 9 fractional digits).
 *
 * Thread: feed:coinbase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feed_venue_util.h"
#include "feeds/venues/feed_backfill.h"
#include "venues.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* O(1) instead of a backwards scan per ',' and ']' */
#define JSMN_STRICT
#include <jsmn.h>

#include "feeds/feed_jtok.h"

#define CB_TOK_CAP   (1u << 19) /* a snapshot of ~170k levels */
#define CB_LOG_BURST 20

typedef struct cb_sym {
    uint32_t instr;
    bool live;         /* snapshot seen since (re)subscribe */
    uint64_t last_seq; /* last match sequence */
    uint64_t last_tid; /* last trade id on this connection (gap count) */
    const char *name;
    feed_bf_sym_t bf; /* trade backfill: the last id across reconnects, the range to fetch */
} cb_sym_t;

typedef struct feed_cb {
    feed_handler_t *h;
    cb_sym_t *sym;
    uint32_t n_sym;
    uint16_t *slot; /* instrument id -> index in sym + 1 (feed_slots_new) */
    jsmntok_t *tok;
    uint32_t tok_cap;
    feed_ratelim_t log_rl;
    feed_bf_t bf; /* trade backfill (feed_backfill.c): one paced request in flight */
} feed_cb_t;

/* ---------------------------------------------------------------- helpers */

static int cb_sym_find(feed_cb_t *c, const char *s, size_t n)
{
    return feed_slot_find(c->h, c->slot, s, n);
}

/* resubscribe one product's level2 channel: Coinbase answers with a fresh snapshot */
static void cb_resync(feed_cb_t *c, int s)
{
    feed_handler_t *h = c->h;
    c->sym[s].live = false;
    TG_STAT_INC(h->stats->resyncs);
    if (!h->send)
        return;
    char msg[256];
    int n =
        snprintf(msg, sizeof(msg),
                 "{\"type\":\"unsubscribe\",\"product_ids\":[\"%s\"],\"channels\":[\"level2\"]}",
                 c->sym[s].name);
    h->send(h->tctx, msg, (size_t)n);
    n = snprintf(msg, sizeof(msg),
                 "{\"type\":\"subscribe\",\"product_ids\":[\"%s\"],\"channels\":[\"level2\"]}",
                 c->sym[s].name);
    h->send(h->tctx, msg, (size_t)n);
}

/* Decode levels of a snapshot side ([[px, sz], ...]) or l2update changes ([[side, px, sz]])
 * at the product's current scales. Nothing is emitted unless every level decodes (a book
 * message is all or nothing). Returns the number of levels, TG_ERESCALE or an error. */
static int cb_levels(feed_cb_t *c, const char *js, const jsmntok_t *t, int n, int i, int side,
                     const cb_sym_t *y, int64_t *lv, int cap, int used)
{
    if (t[i].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = i + 1, m = used;
    int width = side ? 2 : 3;
    for (int j = 0; j < t[i].size; j++) {
        if (k + width >= n + 1 || t[k].type != JSMN_ARRAY || t[k].size < width)
            return TG_EFIELD;
        int sd = side;
        int p = k + 1;
        if (!side) {
            if (feed_jtok_str_is(js, &t[p], "buy"))
                sd = TG_SIDE_BID;
            else if (feed_jtok_str_is(js, &t[p], "sell"))
                sd = TG_SIDE_ASK;
            else
                return TG_EFIELD;
            p++;
        }
        if (t[p].type != JSMN_STRING || t[p + 1].type != JSMN_STRING || m >= cap)
            return TG_EFIELD;
        int64_t *d = lv + 3 * (size_t)m;
        int rc =
            feed_dec_px(c->h, y->instr, js + t[p].start, (size_t)(t[p].end - t[p].start), &d[0]);
        if (rc == 0)
            rc = feed_dec_sz(c->h, y->instr, js + t[p + 1].start,
                             (size_t)(t[p + 1].end - t[p + 1].start), &d[1]);
        if (rc < 0)
            return rc;
        d[2] = sd;
        m++;
        k = feed_jtok_next(t, n, k);
    }
    return m - used;
}

/* Tokenize one whole JSON value of type top into c->tok. @return the token count or TG_EJSON. */
static int cb_tokenize(feed_cb_t *c, const char *js, size_t len, jsmntype_t top)
{
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, c->tok, c->tok_cap);
    bool whole = n >= 1 && c->tok[0].type == top && feed_jtok_wellformed(c->tok, n);
    return whole ? n : TG_EJSON;
}

/* An ISO-8601 time string at token i (-1: absent) as ns. */
static int cb_time(const char *js, const jsmntok_t *t, int i, int64_t *ns)
{
    if (i < 0 || t[i].type != JSMN_STRING)
        return TG_EFIELD;
    return feed_iso_ns(js + t[i].start, (size_t)(t[i].end - t[i].start), false, ns);
}

/* The trade of a match or of a REST trade object (token indexes, -1: absent): trade_id, the
 * maker's side ("sell": the taker bought), price and size as exact decimals. */
static int cb_trade(feed_cb_t *c, const cb_sym_t *y, const char *js, const jsmntok_t *t, int tid,
                    int side, int price, int size, feed_bf_trade_t *o)
{
    if (tid < 0 || side < 0 || price < 0 || size < 0 || t[price].type != JSMN_STRING ||
        t[size].type != JSMN_STRING)
        return TG_EFIELD;
    int rc = feed_jtok_u64(js, &t[tid], &o->id);
    if (rc == 0)
        rc = feed_jtok_side(js, &t[side], "sell", TG_SIDE_BUY, "buy", TG_SIDE_SELL, &o->side);
    if (rc == 0)
        rc = feed_jtok_dec_pxsz(c->h, y->instr, js, &t[price], &t[size], &o->px, &o->qty);
    return rc;
}

/* ---------------------------------------------------------------- trade backfill */

/* GET /products/<P>/trades?after=X&limit=n: `after` is a trade_id cursor, the answer the
 * trades with ids below X, newest first (Coinbase "Pagination"); ids are consecutive per
 * product, so X = from + n gives ids [from, from + n). */
static int cb_bf_path(void *v, uint32_t s, uint64_t from, uint64_t n, char *buf, size_t cap)
{
    const feed_cb_t *c = v;
    return snprintf(buf, cap, "/products/%s/trades?after=%llu&limit=%llu", c->sym[s].name,
                    (unsigned long long)(from + n), (unsigned long long)n);
}

/* A page: [{"time":"..","trade_id":N,"price":"..","size":"..","side":"buy"|"sell"}, ..],
 * every number decoded before anything is emitted (TG_ERESCALE first). */
static int cb_bf_parse(void *v, uint32_t s, const char *js, size_t len, feed_bf_trade_t *out,
                       uint32_t cap, uint32_t *n_out)
{
    feed_cb_t *c = v;
    const cb_sym_t *y = &c->sym[s];
    jsmntok_t *t = c->tok;
    int n = cb_tokenize(c, js, len, JSMN_ARRAY);
    if (n < 0)
        return n;
    if ((uint32_t)t[0].size > cap)
        return TG_EFIELD;
    static const char *const keys[] = {"trade_id", "side", "price", "size", "time"};
    uint32_t k = 0;
    for (int i = 1; i < n; i = feed_jtok_next(t, n, i)) {
        int f[5];
        feed_jtok_getv(js, t, n, i, keys, f, 5);
        feed_bf_trade_t *o = &out[k++];
        int rc = cb_trade(c, y, js, t, f[0], f[1], f[2], f[3], o);
        if (rc == 0)
            rc = cb_time(js, t, f[4], &o->ts_ns);
        if (rc < 0)
            return rc;
        o->seq = 0; /* a REST trade has no feed sequence */
    }
    *n_out = k;
    return 0;
}

static const feed_bf_ops_t cb_bf_ops = {.path = cb_bf_path, .parse = cb_bf_parse};

/* ---------------------------------------------------------------- frames */

enum { CB_OK = 0, CB_UNHANDLED = 1 };

static int cb_frame(feed_cb_t *c, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono,
                    int *sym_out, int *book_msg)
{
    feed_handler_t *h = c->h;
    jsmntok_t *t = c->tok;
    int n = cb_tokenize(c, buf, len, JSMN_OBJECT);
    if (n < 0)
        return n;
    /* one pass over the members (a key without its value, {"type"}, ends it: no token past n) */
    static const char *const keys[] = {"type", "product_id", "bids",  "asks",     "changes", "time",
                                       "side", "size",       "price", "sequence", "trade_id"};
    int v[11];
    feed_jtok_getv(buf, t, n, 0, keys, v, 11);
    int type = v[0], prod = v[1], bids = v[2], asks = v[3], changes = v[4], time = v[5],
        side = v[6], size = v[7], price = v[8], seq = v[9], tid = v[10];
    if (type < 0 || t[type].type != JSMN_STRING)
        return TG_EFIELD;
    const jsmntok_t *ty = &t[type];
    bool snap = feed_jtok_str_is(buf, ty, "snapshot"), upd = feed_jtok_str_is(buf, ty, "l2update");
    bool last_match = feed_jtok_str_is(buf, ty, "last_match");
    bool match = last_match || feed_jtok_str_is(buf, ty, "match");
    if (feed_jtok_str_is(buf, ty, "error"))
        return TG_EPROTO;
    if (!snap && !upd && !match)
        return CB_UNHANDLED; /* subscriptions, ticker, heartbeat, ... */
    *book_msg = snap || upd;
    if (prod < 0 || t[prod].type != JSMN_STRING)
        return TG_EFIELD;
    int s = cb_sym_find(c, buf + t[prod].start, (size_t)(t[prod].end - t[prod].start));
    if (s < 0)
        return TG_ESYMBOL;
    *sym_out = s;
    cb_sym_t *y = &c->sym[s];
    int64_t ts_exch = 0;
    if (time >= 0) {
        int rc = cb_time(buf, t, time, &ts_exch);
        if (rc < 0)
            return rc;
    } else if (!snap) {
        return TG_EFIELD;
    }
    if (match) {
        if (seq < 0)
            return TG_EFIELD;
        uint64_t sq;
        feed_bf_trade_t tr;
        int rc = feed_jtok_u64(buf, &t[seq], &sq);
        if (rc == 0)
            rc = cb_trade(c, y, buf, t, tid, side, price, size, &tr);
        if (rc < 0)
            return rc;
        uint64_t id = tr.id;
        if (y->last_seq && sq <= y->last_seq) {
            TG_STAT_INC(h->stats->stale_dropped);
            return CB_OK; /* duplicate */
        }
        if (y->last_tid && id != y->last_tid + 1) {
            TG_STAT_INC(h->stats->gaps);
            feed_log_frame(c->h, &c->log_rl, ts_mono, FEED_LOG_WARN, "match trade_id gap", 0, buf,
                           len);
        }
        y->last_seq = sq;
        y->last_tid = id;
        /* the first trade of a connection shows the hole since the previous one: last_match
           (the newest trade before the subscription) is in it, a first match is not */
        feed_bf_trade(&c->bf, (uint32_t)s, id, 0, last_match, ts_mono);
        if (last_match)
            return CB_OK; /* baseline only: a trade from before we subscribed */
        feed_emit_make(h, TG_EV_TRADE, y->instr, tr.side, tr.px, tr.qty, sq, id, ts_exch, ts_recv,
                       ts_mono, TG_EVF_LAST);
        return CB_OK;
    }
    /* book: decode everything first, into the tail of the token array (unused space) */
    /* levels go to the unused tail of the token array, 8-byte aligned (tokens are 20 bytes) */
    uintptr_t lp = ((uintptr_t)(t + n) + 7) & ~(uintptr_t)7;
    int64_t *lv = (int64_t *)lp;
    uintptr_t lend = (uintptr_t)(t + c->tok_cap);
    int cap = lp < lend ? (int)((lend - lp) / (3 * sizeof(int64_t))) : 0;
    int nl = 0, r;
    if (snap) {
        if (bids < 0 || asks < 0)
            return TG_EFIELD;
        if ((r = cb_levels(c, buf, t, n, bids, TG_SIDE_BID, y, lv, cap, 0)) < 0)
            return r;
        nl = r;
        if ((r = cb_levels(c, buf, t, n, asks, TG_SIDE_ASK, y, lv, cap, nl)) < 0)
            return r;
        nl += r;
    } else {
        if (changes < 0)
            return TG_EFIELD;
        if ((r = cb_levels(c, buf, t, n, changes, 0, y, lv, cap, 0)) < 0)
            return r;
        nl = r;
    }
    if (upd && !y->live) {
        TG_STAT_INC(h->stats->stale_dropped); /* waiting for a snapshot */
        return CB_OK;
    }
    uint16_t fl = snap ? TG_EVF_SNAPSHOT : 0;
    if (snap) {
        feed_emit_make(h, TG_EV_BOOK_CLEAR, y->instr, 0, 0, 0, 0, 0, ts_exch, ts_recv, ts_mono, fl);
        TG_STAT_INC(h->stats->snapshots);
        y->live = true;
    }
    for (int i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_LEVEL, y->instr, (uint8_t)lv[3 * i + 2], lv[3 * i], lv[3 * i + 1],
                       0, 0, ts_exch, ts_recv, ts_mono, fl);
    feed_end_message(h, y->instr, ts_exch, ts_recv, ts_mono);
    return CB_OK;
}

static int cb_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                       int64_t ts_mono)
{
    feed_cb_t *c = h->vstate;
    feed_stats_t *st = h->stats;
    int sym = -1, book = 0;
    int rc = cb_frame(c, buf, len, ts_recv, ts_mono, &sym, &book);
    if (rc == TG_ERESCALE)
        return rc; /* a scale was raised: feed_frame() parses the frame again (nothing changed) */
    TG_STAT_INC(st->slow_path);
    if (rc == CB_OK) {
        TG_STAT_INC(st->handled);
        return 0;
    }
    if (rc == CB_UNHANDLED) {
        TG_STAT_INC(st->unhandled);
        return 0;
    }
    const char *what = feed_count_error(st, rc);
    if (rc == TG_ESYMBOL)
        what = "unknown product";
    feed_log_frame(c->h, &c->log_rl, ts_mono, FEED_LOG_WARN, what, rc == TG_EPROTO ? 0 : rc, buf,
                   len);
    if (book && sym >= 0 && c->sym[sym].live) {
        /* an unreadable book message: the book is no longer what Coinbase has */
        feed_emit_make(h, TG_EV_GAP, c->sym[sym].instr, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono,
                       TG_EVF_LAST);
        TG_STAT_INC(st->gaps);
        cb_resync(c, sym);
    }
    return rc;
}

static int cb_on_open(feed_handler_t *h)
{
    feed_cb_t *c = h->vstate;
    for (uint32_t i = 0; i < c->n_sym; i++) {
        c->sym[i].live = false;
        c->sym[i].last_seq = 0;
        c->sym[i].last_tid = 0;
    }
    feed_bf_open(&c->bf, c->bf.gen + 1, 0); /* answers to the previous connection are dropped */
    if (!h->send || c->n_sym == 0)
        return 0;
    /* {"type":"subscribe","product_ids":[..],"channels":["level2","matches"]} */
    size_t cap = 128 + (size_t)c->n_sym * (TG_SYMBOL_MAX + 3);
    char *msg = malloc(cap);
    if (!msg)
        return -ENOMEM;
    size_t n = (size_t)snprintf(msg, cap, "{\"type\":\"subscribe\",\"product_ids\":[");
    for (uint32_t i = 0; i < c->n_sym; i++)
        n += (size_t)snprintf(msg + n, cap - n, "%s\"%s\"", i ? "," : "", c->sym[i].name);
    const char *ch = (h->channels & FEED_CH_BOOK) && (h->channels & FEED_CH_TRADES)
                         ? "\"level2\",\"matches\""
                     : (h->channels & FEED_CH_BOOK) ? "\"level2\""
                                                    : "\"matches\"";
    n += (size_t)snprintf(msg + n, cap - n, "],\"channels\":[%s]}", ch);
    int rc = h->send(h->tctx, msg, n);
    free(msg);
    return rc < 0 ? rc : 0;
}

/* Only trade-history pages (snapshots come on the websocket); a previous connection's are
 * dropped. */
static int cb_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    feed_cb_t *c = h->vstate;
    uint32_t lo = (uint32_t)tag, s = lo & ~FEED_BF_TAG;
    if ((uint32_t)(tag >> 32) != c->bf.gen || !(lo & FEED_BF_TAG) || s >= c->n_sym)
        return 0;
    return feed_bf_rest(&c->bf, s, status, body, len, ts_recv, ts_mono);
}

static void cb_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_cb_t *c = h->vstate;
    feed_emit_stale_all(h, TG_EVF_RESYNC, ts_recv, ts_mono);
    for (uint32_t i = 0; i < c->n_sym; i++)
        c->sym[i].live = false;
}

static void cb_on_tick(feed_handler_t *h, int64_t now_mono)
{
    feed_cb_t *c = h->vstate;
    feed_bf_tick(&c->bf, now_mono);
}

/* The state, allocated and freed by the venue base. */
static const feed_vspec_t cb_spec = {
    FEED_VSPEC_BASE(feed_cb_t, log_rl, CB_LOG_BURST, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VBLOCK(feed_cb_t, tok, CB_TOK_CAP)},
};

static int cb_init(feed_handler_t *h)
{
    feed_cb_t *c = h->vstate;
    c->h = h;
    c->n_sym = h->n_instr;
    c->tok_cap = CB_TOK_CAP;
    int rc = feed_vsym_names(h, c->sym, sizeof(*c->sym), offsetof(cb_sym_t, name), false);
    if (rc < 0)
        return rc;
    feed_bf_init(&c->bf, h, c, &cb_bf_ops, c->n_sym ? &c->sym[0].bf : NULL, sizeof(c->sym[0]),
                 c->n_sym, &c->log_rl);
    for (uint32_t i = 0; i < c->n_sym; i++) {
        c->sym[i].bf.instr = h->instr[i];
        c->sym[i].bf.name = c->sym[i].name;
    }
    return 0;
}

static void cb_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    /* initial scales: quote increments go down to 1e-8 (e.g. SKL-BTC 0.00001306); values are
     * parsed with feed_dec, which raises them when a value needs more places */
    cfg->px_scale = 8;
    cfg->sz_scale = 8;
    cfg->depth_limit = 0; /* level2 is the full book */
}

const feed_venue_t feed_venue_coinbase = {
    .name = "coinbase",
    .default_url = "wss://ws-feed.exchange.coinbase.com",
    FEED_VENUE_STATE(cb, cb_instr_defaults),
    FEED_VENUE_FNS(cb),
    /* trade_id per product, consecutive. Trade backfill (docs/feeds.md): GET
       /products/<P>/trades by trade_id. REST limits (Coinbase Exchange "REST Rate Limits"):
       public endpoints 10 requests/s per IP, bursts 15; the handler sends at most 1 per s per
       connection */
    FEED_BF_VENUE(cb, "api.exchange.coinbase.com"),
};
