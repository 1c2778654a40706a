/* SPDX-License-Identifier: MIT */
/*
 * OKX (formerly OKEx) v5 public websocket (wss://ws.okx.com:8443/ws/v5/public) venue handler:
 * order books ("books", "books-l2-tbt", "books50-l2-tbt" with snapshot/update actions and CRC32
 * checksums; "books5"/"bbo-tbt" full snapshots), "trades"/"trades-all", event acks/errors and
 * the text "pong".
 *
 * DESIGN
 * Every frame is an object {"arg":{"channel","instId"},"action","data":[...]} or an event
 * {"event":"subscribe"|"error"|...}. Each element of "data" is one exchange message: its levels
 * are parsed into a scratch array first (all-or-nothing), then emitted as TG_EV_BOOK_CLEAR +
 * TG_EV_LEVEL|SNAPSHOT (snapshot) or TG_EV_LEVEL (update), ending with TG_EV_CHECKSUM when the
 * message has a non-zero "checksum" (signed int32 in the JSON; its 32 bits go in u.checksum).
 * OKX fixed the checksum of its JSON book channels to 0 in 2026, so 0 means "none".
 * The checksum text uses OKX's own strings; OKX prints numbers in shortest form (verified on
 * every level of both recordings: no trailing zeros, no exponents), which tg_dec_format()
 * reproduces, so the hints in the checksum event are 0 unless an instrument's strings were
 * seen padded ("0.10"): then the fixed number of decimals is carried instead.
 * Sequencing: when messages carry seqId/prevSeqId (2022+), an update must have
 * prevSeqId == the previous message's seqId (seqId == prevSeqId is a no-change heartbeat;
 * seqId < prevSeqId after a maintenance reset still chains through prevSeqId). A break emits
 * TG_EV_GAP (seq = last seqId, aux = received prevSeqId), drops the instrument's updates until
 * a new snapshot, and resubscribes the instrument (unsubscribe + subscribe). Updates before
 * the first snapshot are dropped (stale_dropped). A level that fails to parse does the same
 * as a gap. "ping" is sent every 25 s (OKX closes connections silent for 30 s).
 * Scales: every price/size goes through feed_dec at the instrument's current scales, which
 * rise when a value needs more places (ELON-USDT "0.00000074408": 11); feed_dec then returns
 * TG_ERESCALE and the frame is parsed again. So every element of "data" is parsed before any
 * is applied (sequence numbers, padding hints, sync flags and events change only after).
 * Trades: "side" is the taker's; "tradeId" per instrument, consecutive (both recordings: every
 * successive pair + 1); a push may aggregate the fills of one taker order at one price
 * ("count" > 1, its tradeId the last of them), so live ids step by count. On subscribe OKX
 * pushes the instrument's latest trade (from before the subscription: emitted, a duplicate
 * when it was seen before, dropped by the sinks' unique key).
 * Trade backfill (docs/feeds.md, shared part in feed_backfill.c): the first trade M of a new
 * connection shows the hole since the previous one, [last + 1, M) ([last + 1, M] when M
 * aggregates: see ok_bf_live); it is fetched with GET /api/v5/market/history-trades
 * ?instId=I&type=1&after=X&limit=n (ids below X, newest first, n <= 100), X = from + n, paced
 * 1 request/s (OKX allows 20 per 2 s per IP); each page is emitted in ascending id as
 * TG_EV_TRADE with TG_EVF_REST and the live trades' fields (seq 0).
 * Thread: feed:okex (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS    /* O(1) instead of a backwards scan per closing bracket: 1000-level   \
                                snapshots are quadratic without it */
#define JSMN_STRICT          /* keys must be strings, primitives must be JSON values */
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feed_venue_util.h"
#include "venues.h"
#include "feeds/feed_checksum.h"
#include "feeds/feed_jtok.h"
#include "feeds/venues/feed_backfill.h"

/* Initial scales of an instrument: prices 10 places (FUN-BTC "0.000000454"), sizes 8 (spot
 * base quantities). Values are parsed with feed_dec at the instrument's current scales, which
 * rise when a value needs more places (ELON-USDT "0.00000074408": 11). */
#define OK_PX_SCALE  10
#define OK_SZ_SCALE  8
#define OK_TOK_INIT  4096
#define OK_TOK_MAX   (1 << 20)
#define OK_PING_NS   (25 * 1000000000LL)
#define OK_CHAN_MAX  24
#define OK_SUB_BATCH 50
#define OK_BF_PAGE   100 /* history-trades: `limit` default and maximum */

typedef struct ok_lvl {
    int64_t px, sz;
    uint8_t side;
} ok_lvl_t;

/* One parsed element of a book channel's "data" (levels st->lv[lv0, lv1)). */
typedef struct ok_msg {
    size_t lv0, lv1;
    int64_t ts, ck, seq, prev;
    int pvi; /* token of prevSeqId (log) */
    int8_t have_ck, have_seq, have_prev;
    int8_t px_fix, sz_fix; /* padded decimals seen in this message (0: none) */
} ok_msg_t;

typedef struct ok_sym {
    uint32_t id;
    uint8_t synced;
    int8_t px_fix, sz_fix;  /* decimals OKX pads to (0: shortest form) */
    int64_t last_seq;       /* seqId of the last applied message, -1 if none/unknown */
    char chan[OK_CHAN_MAX]; /* book channel this instrument is subscribed on */
    feed_bf_sym_t bf;       /* trade backfill: the last id across reconnects, the range */
} ok_sym_t;

typedef struct ok_state {
    feed_jtok_t jt;
    ok_lvl_t *lv;
    size_t lv_cap;
    ok_msg_t *msg;
    size_t msg_cap;
    ok_sym_t *sym;
    uint16_t *slot; /* instrument id -> index + 1 */
    feed_ratelim_t rl;
    int64_t last_ping;
    char book_chan[OK_CHAN_MAX];
    feed_bf_t bf; /* trade backfill (feed_backfill.c): one paced request in flight */
    char sbuf[256 + (size_t)OK_SUB_BATCH * 2 * (TG_SYMBOL_MAX + OK_CHAN_MAX + 32)]; /* a send */
} ok_state_t;

#define ok_log(h, ...) feed_jtok_log((h), &((ok_state_t *)(h)->vstate)->rl, __VA_ARGS__)

static void ok_resubscribe(feed_handler_t *h, void *sym);

static void ok_resync(feed_handler_t *h, ok_sym_t *s, uint64_t got, int64_t ts_recv,
                      int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->last_seq > 0 ? (uint64_t)s->last_seq : 0, got,
                   0, ts_recv, ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    ok_resubscribe(h, s);
}

static int ok_resub_msg(feed_handler_t *h, const void *sym, const tg_instr_t *in, const char *op,
                        char *msg, size_t cap)
{
    return snprintf(msg, cap, "{\"op\":\"%s\",\"args\":[{\"channel\":\"%s\",\"instId\":\"%s\"}]}",
                    op, ((const ok_sym_t *)sym)->chan, in->symbol);
}

/* Drop the instrument's book and subscribe to it again (a fresh snapshot follows). */
static void ok_resubscribe(feed_handler_t *h, void *sym)
{
    ok_sym_t *s = sym;
    s->synced = 0;
    s->last_seq = -1;
    feed_resync_resubscribe(h, s, ok_resub_msg, "okex: resubscribe failed");
}

/* decimals if the string is padded with a trailing zero after the point, else 0 */
static int ok_padded(const char *s, size_t n)
{
    if (n < 3 || s[n - 1] != '0')
        return 0;
    const char *dot = memchr(s, '.', n);
    return dot ? (int)(n - (size_t)(dot - s) - 1) : 0;
}

/* ---- book ------------------------------------------------------------------------------- */

/* Level i of st->lv: ["px","sz",...] at the instrument's scales (a price of 0 is no level);
 * a->ctx is the message, which keeps the decimals of values padded with a trailing zero. */
static int ok_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    ok_lvl_t *l = &((ok_state_t *)h->vstate)->lv[i];
    ok_msg_t *m = a->ctx;
    return feed_level_dp(h, a, k, ok_padded, false, &m->px_fix, &m->sz_fix, &l->px, &l->sz,
                         &l->side, bad);
}

/* ms text ("1626995750044") -> ns */
/* Parse one element of "data" of a book channel into msg (levels appended to st->lv at *nl).
 * Pure: no handler state changes (the instrument's scales may rise: TG_ERESCALE). */
static int ok_book_parse(feed_handler_t *h, const ok_sym_t *s, const char *js, const jsmntok_t *t,
                         int n, int d, size_t *nl, ok_msg_t *msg, int *bad)
{
    ok_state_t *st = h->vstate;
    int rc = 0;
    memset(msg, 0, sizeof(*msg));
    msg->seq = msg->prev = -1;
    msg->lv0 = *nl;
    msg->pvi = -1;
    *bad = d;
    if (t[d].type != JSMN_OBJECT)
        return TG_EFIELD;
    int asks = feed_jtok_get(js, t, n, d, "asks"), bids = feed_jtok_get(js, t, n, d, "bids");
    int tsi = feed_jtok_get(js, t, n, d, "ts"), cki = feed_jtok_get(js, t, n, d, "checksum");
    int sqi = feed_jtok_get(js, t, n, d, "seqId"), pvi = feed_jtok_get(js, t, n, d, "prevSeqId");
    if (asks < 0 && bids < 0)
        return TG_EFIELD;
    const feed_lvls_t la = {js, t, n, s->id, 0, msg};
    rc = feed_book_levels_asks_first(h, &la, bids, asks, 2, st->lv_cap, nl, bad, ok_level);
    if (rc < 0)
        return rc;
    msg->lv1 = *nl;
    if (tsi >= 0 && (rc = feed_jtok_ms(js, &t[tsi], &msg->ts)) < 0) {
        *bad = tsi;
        return rc;
    }
    if (cki >= 0) {
        *bad = cki;
        if (t[cki].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[cki], &msg->ck) < 0 ||
            msg->ck < INT32_MIN || msg->ck > (int64_t)UINT32_MAX)
            return TG_EFIELD;
        msg->have_ck = msg->ck != 0;
    }
    if (sqi >= 0) {
        *bad = sqi;
        if ((rc = feed_jtok_i64(js, &t[sqi], &msg->seq)) < 0)
            return rc;
        msg->have_seq = 1;
    }
    if (pvi >= 0) {
        *bad = pvi;
        if ((rc = feed_jtok_i64(js, &t[pvi], &msg->prev)) < 0)
            return rc;
        msg->have_prev = 1;
        msg->pvi = pvi;
    }
    return 0;
}

/* Apply one parsed book message (sequence rules, events). snap: 1 snapshot, 0 update. */
static void ok_book_apply(feed_handler_t *h, ok_sym_t *s, const ok_msg_t *msg, int snap,
                          const char *js, const jsmntok_t *t, int64_t ts_recv, int64_t ts_mono)
{
    ok_state_t *st = h->vstate;
    if (!snap) {
        if (!s->synced) {
            TG_STAT_INC(h->stats->stale_dropped);
            return;
        }
        if (msg->have_prev && s->last_seq >= 0 && msg->prev != s->last_seq) {
            ok_log(h, ts_mono, FEED_LOG_WARN, "seqId gap, resubscribing", js, &t[msg->pvi]);
            ok_resync(h, s, (uint64_t)msg->prev, ts_recv, ts_mono);
            return;
        }
    }
    s->last_seq = msg->have_seq ? msg->seq : -1;
    if (msg->px_fix)
        s->px_fix = msg->px_fix;
    if (msg->sz_fix)
        s->sz_fix = msg->sz_fix;
    uint64_t seq = msg->have_seq && msg->seq > 0 ? (uint64_t)msg->seq : 0;
    uint16_t fl = 0;
    if (snap) {
        fl = TG_EVF_SNAPSHOT;
        feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, seq, 0, msg->ts, ts_recv, ts_mono, fl);
        s->synced = 1;
        TG_STAT_INC(h->stats->snapshots);
    }
    for (size_t i = msg->lv0; i < msg->lv1; i++)
        feed_emit_make(h, TG_EV_LEVEL, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, seq, 0,
                       msg->ts, ts_recv, ts_mono, fl);
    if (msg->have_ck) {
        /* price/size: the checksum text's digit hints, not values at a scale */
        feed_emit_make(h, TG_EV_CHECKSUM, s->id, 0, s->px_fix, s->sz_fix, seq,
                       (uint64_t)(uint32_t)(int32_t)msg->ck, msg->ts, ts_recv, ts_mono,
                       TG_EVF_LAST);
        TG_STAT_INC(h->stats->checksum_msgs);
        return;
    }
    feed_end_message(h, s->id, msg->ts, ts_recv, ts_mono);
}

/* Every element of "data" of a book channel: all parsed first (a raised scale re-parses the
 * frame before anything changed), then applied in order; an element that fails to parse is
 * counted and resyncs the instrument after the elements before it were applied. */
static int ok_book(feed_handler_t *h, ok_sym_t *s, const char *js, const jsmntok_t *t, int n,
                   int data, int snap, int64_t ts_recv, int64_t ts_mono)
{
    ok_state_t *st = h->vstate;
    size_t nl = 0, nm = 0;
    int k = data + 1, rc = 0, bad = data;
    for (int m = 0; m < t[data].size; m++) {
        if (k >= n || nm >= st->msg_cap) {
            rc = TG_EJSON;
            bad = 0;
            break;
        }
        if ((rc = ok_book_parse(h, s, js, t, n, k, &nl, &st->msg[nm], &bad)) < 0)
            break;
        nm++;
        k = feed_jtok_next(t, n, k);
    }
    if (rc == TG_ERESCALE)
        return rc;
    for (size_t i = 0; i < nm; i++)
        ok_book_apply(h, s, &st->msg[i], snap, js, t, ts_recv, ts_mono);
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        ok_log(h, ts_mono, FEED_LOG_WARN, "bad book message, resyncing", js, &t[bad]);
        if (s->synced || snap)
            ok_resync(h, s, 0, ts_recv, ts_mono);
    }
    return rc;
}

/* ---- trades ----------------------------------------------------------------------------- */

/* The fields of one trade object (a push's or a history page's; value tokens f[0..4): px, sz,
 * side (the taker's), ts in ms) at the instrument's scales. @return 0, TG_ERESCALE or an
 * error; *bad = the offending token. */
static int ok_trade_fields(feed_handler_t *h, const ok_sym_t *s, const char *js, const jsmntok_t *t,
                           const int *f, ok_lvl_t *l, int64_t *ts, int *bad)
{
    int rc;
    *bad = f[0];
    if (t[f[0]].type != JSMN_STRING || t[f[1]].type != JSMN_STRING)
        return TG_EFIELD;
    if ((rc = feed_jtok_dec_pxsz(h, s->id, js, &t[f[0]], &t[f[1]], &l->px, &l->sz)) < 0)
        return rc;
    *bad = f[2];
    if (feed_jtok_side(js, &t[f[2]], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &l->side) < 0)
        return TG_EFIELD;
    *bad = f[3];
    return feed_jtok_ms(js, &t[f[3]], ts) < 0 ? TG_EFIELD : 0;
}

/* `count` of a trade object at k (trades aggregated into it, its tradeId the last of them;
 * absent: 1). @return it, or 0 when it is not an integer >= 1. */
static int64_t ok_trade_count(const char *js, const jsmntok_t *t, int n, int k)
{
    int c = feed_jtok_get(js, t, n, k, "count");
    int64_t v = 1;
    if (c >= 0 && (feed_jtok_i64(js, &t[c], &v) < 0 || v < 1))
        return 0;
    return v;
}

/* A numeric tradeId >= 1 of the object at k into *id. @return 0 or TG_EFIELD. */
static int ok_trade_id(const char *js, const jsmntok_t *t, int n, int k, uint64_t *id)
{
    int i = feed_jtok_get(js, t, n, k, "tradeId");
    int64_t v;
    if (i < 0 || feed_jtok_i64(js, &t[i], &v) < 0 || v < 1)
        return TG_EFIELD;
    *id = (uint64_t)v;
    return 0;
}

/* A live trade with a numeric id (count: trades aggregated into it) for the backfill. The
 * first of a connection shows the hole since the previous one, [last + 1, id) (OKX pushes the
 * instrument's latest trade on subscribe: already seen when nothing was lost); an aggregated
 * first trade (count > 1) would leave the ids aggregated into it unseen, so its range is
 * [last + 1, id] and the trade itself is not emitted: the history page has it trade by trade.
 * @return whether to emit the live trade. */
static bool ok_bf_live(ok_state_t *st, ok_sym_t *s, uint64_t id, int64_t count, int64_t now)
{
    feed_bf_sym_t *y = &s->bf;
    bool agg_first = y->fresh && count > 1;
    feed_bf_trade(&st->bf, (uint32_t)(s - st->sym), id, 0, agg_first, now);
    return !(agg_first && y->active && y->to == id + 1);
}

/* A trade array being walked (ok_trade): its symbol, the latest "ts" so far. */
typedef struct ok_walk {
    const ok_sym_t *s;
    int64_t ts_max;
} ok_walk_t;

/* Trade i of st->lv: {"px","sz","side","ts"} (values at f[]) with a "count" of at least 1;
 * a->ctx is the walk (ok_walk_t). */
static int ok_trade(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, const int *f,
                    int *bad)
{
    ok_walk_t *w = a->ctx;
    int64_t ts;
    int rc = ok_trade_fields(h, w->s, a->js, a->t, f, &((ok_state_t *)h->vstate)->lv[i], &ts, bad);
    if (rc < 0)
        return rc;
    *bad = k;
    if (!ok_trade_count(a->js, a->t, a->n, k))
        return TG_EFIELD;
    if (ts > w->ts_max)
        w->ts_max = ts;
    return 0;
}

static int ok_trades(feed_handler_t *h, ok_sym_t *s, const char *js, const jsmntok_t *t, int n,
                     int data, int64_t ts_recv, int64_t ts_mono)
{
    ok_state_t *st = h->vstate;
    int bad = data, rc = TG_EFIELD;
    size_t nl = 0, emitted = 0;
    /* pass 1: validate, keep price/size/side in lv and ts/id in a second scratch walk */
    static const char *const keys[] = {"px", "sz", "side", "ts"};
    ok_walk_t w = {s, 0};
    const feed_lvls_t la = {js, t, n, s->id, 0, &w};
    if ((rc = feed_trades(h, &la, data, keys, 4, st->lv_cap, &nl, &bad, ok_trade)) < 0)
        goto fail;
    int64_t ts_max = w.ts_max;
    /* pass 2: emit (fields already validated) */
    int k = data + 1;
    for (size_t i = 0; i < nl; i++) {
        int tsi = feed_jtok_get(js, t, n, k, "ts"), id = feed_jtok_get(js, t, n, k, "tradeId");
        int64_t ts = 0;
        feed_jtok_ms(js, &t[tsi], &ts);
        uint64_t trade_id = 0;
        bool emit = true;
        if (ok_trade_id(js, t, n, k, &trade_id) == 0)
            emit = ok_bf_live(st, s, trade_id, ok_trade_count(js, t, n, k), ts_mono);
        else if (id >= 0)
            trade_id = feed_hash_id(js + t[id].start, feed_jtok_len(&t[id]));
        if (emit) {
            feed_emit_make(h, TG_EV_TRADE, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, 0,
                           trade_id, ts, ts_recv, ts_mono, 0);
            emitted++;
        }
        k = feed_jtok_next(t, n, k);
    }
    if (emitted)
        feed_end_message(h, s->id, ts_max, ts_recv, ts_mono);
    return 0;
fail:
    return feed_jtok_drop(h, ts_mono, rc, "bad trade message dropped", js, &t[bad]);
}

/* ---- trade backfill --------------------------------------------------------------------- */

/* GET /api/v5/market/history-trades?instId=X&type=1&after=A&limit=L: type 1 pages by tradeId,
 * `after` answers the trades with ids below A, newest first, at most L (<= 100). The ids are
 * consecutive per instrument, so A = from + L gives ids [from, from + L); the base moves on
 * from the page's top id. */
static int ok_bf_path(void *v, uint32_t s, uint64_t from, uint64_t n, char *buf, size_t cap)
{
    const ok_state_t *st = v;
    uint64_t k = n < OK_BF_PAGE ? n : OK_BF_PAGE;
    return snprintf(buf, cap,
                    "/api/v5/market/history-trades?instId=%s&type=1&after=%llu&limit=%llu",
                    st->sym[s].bf.name, (unsigned long long)(from + k), (unsigned long long)k);
}

/* A page: {"code":"0","msg":"","data":[{"instId","tradeId","px","sz","side","ts"}, ..]}; a
 * code other than "0" is the venue's error. Every number decoded before anything is emitted
 * (TG_ERESCALE first). */
static int ok_bf_parse(void *v, uint32_t s, const char *js, size_t len, feed_bf_trade_t *out,
                       uint32_t cap, uint32_t *n_out)
{
    ok_state_t *st = v;
    feed_handler_t *h = st->bf.h;
    const ok_sym_t *y = &st->sym[s];
    int n = feed_vparse(h, js, len, JSMN_OBJECT);
    if (n < 0)
        return n;
    const jsmntok_t *t = st->jt.t;
    int code = feed_jtok_get(js, t, n, 0, "code"), data = feed_jtok_get(js, t, n, 0, "data");
    if (code < 0 || !feed_jtok_eq(js, &t[code], "0"))
        return TG_EPROTO;
    if (data < 0 || t[data].type != JSMN_ARRAY || (uint32_t)t[data].size > cap)
        return TG_EFIELD;
    uint32_t m = 0;
    for (int k = data + 1; m < (uint32_t)t[data].size; k = feed_jtok_next(t, n, k)) {
        static const char *const keys[] = {"px", "sz", "side", "ts"};
        int f[4], bad, rc;
        ok_lvl_t l;
        feed_bf_trade_t *o = &out[m++];
        if ((rc = feed_trade_entry(js, t, n, k, 0, 1, keys, f, 4)) < 0 ||
            (rc = ok_trade_fields(h, y, js, t, f, &l, &o->ts_ns, &bad)) < 0 ||
            (rc = ok_trade_id(js, t, n, k, &o->id)) < 0)
            return rc;
        o->px = l.px;
        o->qty = l.sz;
        o->side = l.side;
        o->seq = 0; /* as live trades: OKX trades carry no feed sequence */
    }
    *n_out = m;
    return 0;
}

static const feed_bf_ops_t ok_bf_ops = {.path = ok_bf_path, .parse = ok_bf_parse};

/* Only trade-history pages; a previous connection's are dropped. */
static int ok_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    return feed_bf_on_rest(&((ok_state_t *)h->vstate)->bf, tag, status, body, len, ts_recv,
                           ts_mono);
}

/* ---- frames ----------------------------------------------------------------------------- */

static int ok_event(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int e,
                    int64_t ts_mono)
{
    if (feed_jtok_eq(js, &t[e], "error")) {
        feed_count_error(h->stats, TG_EPROTO);
        ok_log(h, ts_mono, FEED_LOG_ERROR, "venue error", js, &t[0]);
        return TG_EPROTO;
    }
    if (feed_jtok_eq(js, &t[e], "notice"))
        ok_log(h, ts_mono, FEED_LOG_WARN, "venue notice", js, &t[0]);
    TG_STAT_INC(h->stats->unhandled);
    return 0;
}

static int ok_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int e = feed_jtok_get(buf, t, n, 0, "event");
    if (e > 0)
        return ok_event(h, buf, t, n, e, ts_mono);
    int arg = feed_jtok_get(buf, t, n, 0, "arg");
    int ch = feed_jtok_get(buf, t, n, arg, "channel");
    int inst = feed_jtok_get(buf, t, n, arg, "instId");
    int data = feed_jtok_get(buf, t, n, 0, "data");
    if (ch < 0 || t[ch].type != JSMN_STRING) {
        feed_count_error(h->stats, TG_EFIELD);
        ok_log(h, ts_mono, FEED_LOG_WARN, "frame without arg.channel", buf, &t[0]);
        return TG_EFIELD;
    }
    size_t cl = feed_jtok_len(&t[ch]);
    const char *cs = buf + t[ch].start;
    int is_book = (cl >= 5 && memcmp(cs, "books", 5) == 0) || feed_jtok_eq(buf, &t[ch], "bbo-tbt");
    int is_trade = feed_jtok_eq(buf, &t[ch], "trades") || feed_jtok_eq(buf, &t[ch], "trades-all");
    if (!is_book && !is_trade) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    if (inst < 0 || t[inst].type != JSMN_STRING || data < 0 || t[data].type != JSMN_ARRAY)
        return feed_jtok_drop(h, ts_mono, TG_EFIELD, "data frame without instId/data", buf, &t[0]);
    int rc;
    ok_sym_t *s = feed_vsym_tok(h, ts_mono, buf, &t[inst], "unknown instId", &rc);
    if (!s)
        return rc;
    if (is_trade)
        return ok_trades(h, s, buf, t, n, data, ts_recv, ts_mono);
    /* books5 / bbo-tbt carry no action: every message is a full snapshot */
    int act, snap = feed_book_action(buf, t, n, 1, false, &act);
    if (snap < 0) {
        feed_count_error(h->stats, TG_EFIELD);
        ok_log(h, ts_mono, FEED_LOG_WARN, "unknown action", buf, &t[act]);
        if (s->synced)
            ok_resync(h, s, 0, ts_recv, ts_mono);
        return TG_EFIELD;
    }
    if (cl < OK_CHAN_MAX) {
        memcpy(s->chan, cs, cl); /* the same on a re-parse: idempotent */
        s->chan[cl] = 0;
    }
    return ok_book(h, s, buf, t, n, data, snap, ts_recv, ts_mono);
}

static const feed_vparser_t ok_parser = {ok_frame, JSMN_OBJECT, FEED_VP_PONG | FEED_VP_SLOW};

/* ---- lifecycle -------------------------------------------------------------------------- */

static void ok_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    cfg->px_scale = OK_PX_SCALE;
    cfg->sz_scale = OK_SZ_SCALE;
    cfg->depth_limit = 0; /* OKX sends deletes for every level it stops covering */
    cfg->checksum = feed_okx_checksum;
}

/* The state, allocated and freed by the venue base (scratch grows with the tokens). */
static const feed_vspec_t ok_spec = {
    FEED_VSPEC(ok_state_t, OK_TOK_INIT, OK_TOK_MAX),
    .blocks = {FEED_VSCRATCH(ok_state_t, lv, 3), FEED_VSCRATCH(ok_state_t, msg, 3)},
    .reset = {FEED_VRESET(ok_sym_t, synced, 0), FEED_VRESET(ok_sym_t, last_seq, -1)},
};

static int ok_init(feed_handler_t *h)
{
    ok_state_t *st = h->vstate;
    /* subscribed book channel by depth: 1 -> bbo-tbt, 5 -> books5, else books (400 levels;
     * the l2-tbt channels need a login since 2023) */
    snprintf(st->book_chan, sizeof(st->book_chan), "%s",
             h->depth == 1   ? "bbo-tbt"
             : h->depth == 5 ? "books5"
                             : "books");
    feed_bf_init(&st->bf, h, st, &ok_bf_ops, h->n_instr ? &st->sym[0].bf : NULL, sizeof(st->sym[0]),
                 h->n_instr, &st->rl);
    for (uint32_t i = 0; i < h->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, st->sym[i].id);
        st->sym[i].last_seq = -1;
        memcpy(st->sym[i].chan, st->book_chan, sizeof(st->book_chan));
        st->sym[i].bf.instr = st->sym[i].id;
        st->sym[i].bf.name = in ? in->symbol : "?";
    }
    return 0;
}

static int ok_on_open(feed_handler_t *h)
{
    ok_state_t *st = h->vstate;
    feed_resync_rebase(h);
    int rc = 0;
    uint32_t i = 0;
    feed_vreset(h);
    feed_bf_open(&st->bf, st->bf.gen + 1, 0); /* answers to the previous connection are dropped */
    while (i < h->n_instr && rc >= 0) {
        size_t n = (size_t)snprintf(st->sbuf, sizeof(st->sbuf), "{\"op\":\"subscribe\",\"args\":[");
        int first = 1;
        for (uint32_t b = 0; b < OK_SUB_BATCH && i < h->n_instr; b++, i++) {
            const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
            if (!in || !feed_json_safe(in->symbol)) {
                feed_logf(h, FEED_LOG_ERROR, "okex: instrument %u skipped (unusable name)",
                          h->instr[i]);
                continue;
            }
            if (h->channels & FEED_CH_BOOK) {
                n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n,
                                      "%s{\"channel\":\"%s\",\"instId\":\"%s\"}", first ? "" : ",",
                                      st->sym[i].chan, in->symbol);
                first = 0;
            }
            if (h->channels & FEED_CH_TRADES) {
                n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n,
                                      "%s{\"channel\":\"trades\",\"instId\":\"%s\"}",
                                      first ? "" : ",", in->symbol);
                first = 0;
            }
        }
        n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n, "]}");
        if (n >= sizeof(st->sbuf))
            return -ENOSPC;
        if (!first)
            rc = feed_send(h, st->sbuf, n);
    }
    return rc < 0 ? rc : 0;
}

static void ok_on_tick(feed_handler_t *h, int64_t now_mono)
{
    ok_state_t *st = h->vstate;
    feed_resync_ping_tick(h, ok_resubscribe, &st->last_ping, OK_PING_NS, "ping", now_mono);
    feed_bf_tick(&st->bf, now_mono);
}

const feed_venue_t feed_venue_okex = {
    .name = "okex",
    .default_url = "wss://ws.okx.com:8443/ws/v5/public",
    FEED_VENUE_STATE(ok, ok_instr_defaults),
    FEED_VENUE_PARSE_VCLOSE(ok),
    /* tradeId per instrument, consecutive in both recordings (98/98 pairs of successive trades
       + 1, TG_TGAP_SURVEY=1 test_book_tgap); a push that aggregates (count > 1) carries the
       last id of its trades and steps by count: ok_bf_live keeps the builder's hole exact.
       Trade backfill (docs/feeds.md): GET /api/v5/market/history-trades by tradeId. REST limit
       (OKX "Get trades history"): 20 requests per 2 s per IP; the handler sends at most 1 per s
       per connection */
    FEED_BF_VENUE(ok, "www.okx.com"),
};
