/* SPDX-License-Identifier: MIT */
/*
 * Kraken Futures websocket v1 (wss://futures.kraken.com/ws/v1; formerly Crypto Facilities,
 * tardis-dev id "cryptofacilities") venue handler: "book_snapshot" then single-level "book"
 * messages chained by a per-product seq, "trade" and "trade_snapshot" (the backfill), the
 * "heartbeat" feed, and the event objects (info, subscribed, unsubscribed, error, alert).
 *
 * DESIGN
 * Frames are tokenized with jsmn (feed_jtok.h) and dispatched on "feed" (data) or "event"
 * (control). Every number of a message is decoded with feed_dec_px / feed_dec_sz (exact; a value
 * that needs more places raises the instrument's scale and returns TG_ERESCALE at once, the
 * frame is parsed again) before anything changes or is emitted.
 * Book: book_snapshot = TG_EV_BOOK_CLEAR + levels flagged TG_EVF_SNAPSHOT (seq = its seq). A
 * "book" message is one level {side buy|sell, price, qty (0 deletes), seq, timestamp}; its seq
 * must be the product's previous seq + 1 (the snapshot's seq counts), else TG_EV_GAP (seq =
 * last seq, aux = the seq received), gaps++, and the product's book feed is unsubscribed and
 * subscribed again (a new book_snapshot follows; book messages until then are dropped,
 * stale_dropped, as are book messages before the first snapshot). An unreadable book message
 * resyncs the same way.
 * Product ids: Kraken Futures answers in upper case (PI_XBTUSD) whatever case the subscribe used
 * (the recording subscribes "pi_xbtusd"); we subscribe with the configured spelling and look
 * products up case-insensitively (tg_instr_reg_find_nocase).
 * Trades: "side" is the taker's side (Kraken Futures: "the classification of the taker side"),
 * so it is the aggressor; uid (a UUID) is hashed into u.trade_id (feed_hash_id: PostgreSQL's
 * unique key and the builder's trade dedup, so a trade delivered twice is stored once), seq goes
 * in seq. "type" fill, liquidation and block are emitted; assignment and termination (positions
 * moved at settlement / option assignment, not market trades) are counted unhandled, their seq
 * counts.
 * Trade backfill (issue 15, docs/feeds.md) over the websocket: on every trade subscribe the venue
 * sends per product one "trade_snapshot" with its newest 100 trades (newest first), and a
 * product's trade seq is consecutive (every recorded snapshot holds 100 consecutive seqs; the
 * first live trade is the snapshot's newest + 1). Per product the newest trade seq seen (and its
 * time) is kept across reconnects (cf_sym_t.tseq/tts). A trade_snapshot after a reconnect emits
 * its trades with seq > tseq, oldest first, as TG_EV_TRADE | TG_EVF_REST (backfill_trades); when
 * its oldest seq is > tseq + 1 the trades between are out of reach: a TG_EV_TRADE_GAP with time
 * bounds as feed_backfill.c's time mode gives a range up (seq = tts, u.aux = the oldest's time,
 * ns, inclusive; ts_exch = u.aux), an ERROR line with the seqs and the count, backfill_failures.
 * Before any trade (the first connection) the snapshot is emitted only from the instrument's
 * resume time on (tg_instr_t.resume_ts: the newest trade time PostgreSQL holds, at start-up;
 * inclusive, the boundary trades come again and are dropped by their uid), with a gap from that
 * time when its oldest trade is newer; without a resume point nothing (the trades before the
 * collection). A live trade whose seq is not tseq + 1 on a connection that had its snapshot is
 * counted (gaps) and logged; on a reconnect before any snapshot it shows the hole itself (a
 * trade gap, as above). A reconnect whose snapshot does not come within CF_TSNAP_WAIT_NS (a
 * product traded before) is a trade gap from its last trade's time to now. The venue has
 * trade_history and trade_history_ws: the STALE of a closed connection carries TG_EVF_REST (also
 * offline: no REST client is needed), so the builder leaves the holes to this handler;
 * trade_ids_seq stays false (u.trade_id is a hash, the builder tracks trade gaps by time).
 * Keep-alive: Kraken Futures closes connections on which the client stays silent (about 60 s);
 * the transport pings only when nothing is received for ping_ms, which a busy feed never is, so
 * on_tick sends an application message every CF_KEEPALIVE_NS (the heartbeat subscribe again,
 * answered by a harmless "subscribed" ack). The heartbeat feed (one frame a minute from the
 * venue) is subscribed too, so a quiet product list still shows a live connection.
 * Thread: feed:cryptofacilities (everything here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/venues/feed_backfill.h"
#include "feed_venue_util.h"
#include "venues.h"

#define CF_TOK_INIT      4096
#define CF_TOK_MAX       (1 << 20)
#define CF_SUB_BATCH     50 /* product_ids per subscribe message */
#define CF_SENDS_PER_S   10 /* our pacing (no published figure) */
#define CF_KEEPALIVE_NS  (30 * 1000000000LL)
#define CF_TSNAP_WAIT_NS (10 * 1000000000LL) /* a reconnect's trade_snapshot is overdue */

typedef struct cf_sym {
    uint32_t id;
    uint8_t synced; /* book_snapshot applied since (re)subscribe */
    uint8_t tsync;  /* this connection's trades follow on tseq (a trade_snapshot or a live trade
                       came; reset per connection) */
    int64_t seq;    /* seq of the last applied book message */
    int64_t tseq;   /* seq of the newest trade seen, any connection (-1: none yet) */
    int64_t tts;    /* its exchange time (ns) */
} cf_sym_t;

/* A trade of a trade_snapshot, decoded. */
typedef struct cf_tr {
    tg_event_t ev;
    int64_t seq, ts;
    bool skip; /* assignment / termination: its seq counts, not emitted */
} cf_tr_t;

typedef struct cf_state {
    feed_jtok_t jt;
    feed_level_t *lv;
    size_t lv_cap;
    cf_tr_t *tr; /* a trade_snapshot's trades (one per 8 tokens: an object has 19) */
    size_t tr_cap;
    int64_t open_mono; /* when this connection opened (the trade_snapshot wait) */
    cf_sym_t *sym;
    uint16_t *slot; /* instrument id -> index + 1 */
    feed_ratelim_t rl;
    int64_t last_keepalive;
    uint32_t sub_next;   /* next (feed, batch) step of the subscription list */
    uint32_t sends_left; /* messages still allowed in this second */
    char sbuf[256 + CF_SUB_BATCH * (TG_SYMBOL_MAX + 3)]; /* one request */
} cf_state_t;

#define cf_log(h, ...) feed_jtok_log((h), &((cf_state_t *)(h)->vstate)->rl, __VA_ARGS__)

static const char cf_heartbeat_sub[] = "{\"event\":\"subscribe\",\"feed\":\"heartbeat\"}";

/* Product id as the venue spells it (any case) -> our symbol. */
static cf_sym_t *cf_lookup(feed_handler_t *h, const char *s, size_t n)
{
    cf_state_t *st = h->vstate;
    int64_t id = tg_instr_reg_find(h->reg, h->venue_id, s, n);
    if (id < 0)
        id = tg_instr_reg_find_nocase(h->reg, h->venue_id, s, n);
    if (id < 0 || id >= TG_INSTR_MAX || st->slot[id] == 0)
        return NULL;
    return &st->sym[st->slot[id] - 1];
}

/* ---- sending ---------------------------------------------------------------------------- */

static int cf_sub(feed_handler_t *h, const char *event, const char *feed, const char *ids)
{
    cf_state_t *st = h->vstate;
    int n = snprintf(st->sbuf, sizeof(st->sbuf),
                     "{\"event\":\"%s\",\"feed\":\"%s\",\"product_ids\":[%s]}", event, feed, ids);
    if (n < 0 || (size_t)n >= sizeof(st->sbuf))
        return -ENOSPC;
    return feed_send(h, st->sbuf, (size_t)n);
}

/* Subscription steps: heartbeat, then per wanted feed (book, trade) one message per batch. */
static int cf_subscribe_more(feed_handler_t *h)
{
    cf_state_t *st = h->vstate;
    uint32_t batches = (h->n_instr + CF_SUB_BATCH - 1) / CF_SUB_BATCH;
    uint32_t steps = 1 + 2 * batches;
    char ids[CF_SUB_BATCH * (TG_SYMBOL_MAX + 3) + 8];
    while (st->sub_next < steps && st->sends_left > 0) {
        uint32_t k = st->sub_next++;
        int rc;
        if (k == 0) {
            rc = feed_send(h, cf_heartbeat_sub, sizeof(cf_heartbeat_sub) - 1);
        } else {
            uint32_t feed = (k - 1) / batches, b = (k - 1) % batches;
            bool book = feed == 0;
            if (!(h->channels & (book ? FEED_CH_BOOK : FEED_CH_TRADES)))
                continue;
            size_t n = 0;
            for (uint32_t i = b * CF_SUB_BATCH; i < h->n_instr && i < (b + 1) * CF_SUB_BATCH; i++) {
                const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
                if (!in || !feed_json_safe(in->symbol))
                    continue;
                n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s\"%s\"", n ? "," : "",
                                      in->symbol);
            }
            if (!n)
                continue;
            rc = cf_sub(h, "subscribe", book ? "book" : "trade", ids);
        }
        st->sends_left--;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* feed_resub_fmt_fn: the (un)subscribe message of in's book. */
static int cf_resub_msg(feed_handler_t *h, const void *sym, const tg_instr_t *in, const char *op,
                        char *msg, size_t cap)
{
    return snprintf(msg, cap, "{\"event\":\"%s\",\"feed\":\"book\",\"product_ids\":[\"%s\"]}", op,
                    in->symbol);
}

/* feed_resub_sym_fn: drop the product's book and subscribe to it again (a new book_snapshot
 * follows). */
static void cf_resubscribe(feed_handler_t *h, void *sym)
{
    cf_sym_t *s = sym;
    s->synced = 0;
    s->seq = -1;
    feed_resync_resubscribe(h, s, cf_resub_msg, "cryptofacilities: resubscribe failed");
}

static void cf_gap(feed_handler_t *h, cf_sym_t *s, uint64_t got, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->seq > 0 ? (uint64_t)s->seq : 0, got, 0, ts_recv,
                   ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    cf_resubscribe(h, s);
}

/* ---- book ------------------------------------------------------------------------------- */

/* price/qty of object o into *l. @return 0, TG_ERESCALE or an error (*bad = token). */
static int cf_pq(feed_handler_t *h, cf_sym_t *s, const char *js, const jsmntok_t *t, int n, int o,
                 feed_level_t *l, int *bad)
{
    int p = feed_jtok_get(js, t, n, o, "price"), q = feed_jtok_get(js, t, n, o, "qty");
    *bad = o;
    if (p < 0 || q < 0 || t[p].type != JSMN_PRIMITIVE || t[q].type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    *bad = p;
    int rc = feed_dec_px(h, s->id, js + t[p].start, feed_jtok_len(&t[p]), &l->px);
    if (rc < 0)
        return rc;
    if (l->px == 0)
        return TG_EDEC_SYNTAX; /* a level at price 0 is not a level */
    *bad = q;
    return feed_dec_sz(h, s->id, js + t[q].start, feed_jtok_len(&t[q]), &l->sz);
}

/* Level i of st->lv: {"price":..,"qty":..}. */
static int cf_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    feed_level_t *l = &((cf_state_t *)h->vstate)->lv[i];
    int rc = cf_pq(h, a->ctx, a->js, a->t, a->n, k, l, bad);
    l->side = a->side;
    return rc;
}

/* book_snapshot (snap) or book. */
static int cf_book(feed_handler_t *h, cf_sym_t *s, bool snap, const char *js, const jsmntok_t *t,
                   int n, int64_t ts_recv, int64_t ts_mono)
{
    cf_state_t *st = h->vstate;
    int sq = feed_jtok_get(js, t, n, 0, "seq"), tsi = feed_jtok_get(js, t, n, 0, "timestamp");
    int rc = TG_EFIELD, bad = 0;
    int64_t seq = 0, ts = 0;
    size_t nl = 0;
    if (sq < 0 || tsi < 0)
        goto fail;
    bad = sq;
    if (t[sq].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[sq], &seq) < 0 || seq < 0)
        goto fail;
    bad = tsi;
    if (feed_jtok_ms_num(js, &t[tsi], &ts) < 0)
        goto fail;
    if (snap) {
        int bids = feed_jtok_get(js, t, n, 0, "bids"), asks = feed_jtok_get(js, t, n, 0, "asks");
        bad = 0;
        if (bids < 0 || asks < 0)
            goto fail;
        const feed_lvls_t la = {js, t, n, s->id, 0, s};
        if ((rc = feed_book_levels(h, &la, bids, asks, 0, st->lv_cap, &nl, &bad, cf_level)) < 0)
            goto dec_fail;
    } else {
        int sd = feed_jtok_get(js, t, n, 0, "side");
        bad = 0;
        if (sd < 0 || feed_jtok_side(js, &t[sd], "buy", TG_SIDE_BID, "sell", TG_SIDE_ASK,
                                     &st->lv[0].side) < 0)
            goto fail;
        if ((rc = cf_pq(h, s, js, t, n, 0, &st->lv[0], &bad)) < 0)
            goto dec_fail;
        nl = 1;
    }
    /* everything parsed: apply */
    if (!snap) {
        if (!s->synced) {
            TG_STAT_INC(h->stats->stale_dropped);
            return 0;
        }
        if (seq != s->seq + 1) {
            cf_log(h, ts_mono, FEED_LOG_WARN, "book seq gap, resubscribing", js, &t[sq]);
            cf_gap(h, s, (uint64_t)seq, ts_recv, ts_mono);
            return 0;
        }
    }
    s->seq = seq;
    if (snap)
        s->synced = 1;
    feed_emit_book(h, s->id, snap, (uint64_t)seq, st->lv, nl, ts, ts_recv, ts_mono);
    return 0;
dec_fail:
    if (rc == TG_ERESCALE)
        return rc;
fail:
    feed_count_error(h->stats, rc);
    cf_log(h, ts_mono, FEED_LOG_WARN, "bad book message, resyncing", js, &t[bad]);
    if (feed_dec_is_fault(rc))
        cf_resubscribe(h, s); /* feed_dec put the book in FAULT: a new snapshot clears it */
    else if (s->synced || snap)
        cf_gap(h, s, 0, ts_recv, ts_mono);
    return rc;
}

/* ---- trades ----------------------------------------------------------------------------- */

/* Trade object o (a "trade" message, o = 0, or an element of a trade_snapshot's "trades") into
 * *ev (TG_EV_TRADE flagged fl), its seq (-1: none) and time (ns). @return 0, 1 (assignment or
 * termination: not a market trade, *seq and *ts set), TG_ERESCALE (nothing changed) or an error
 * (*bad: the token; a decimal fault has resubscribed the book). */
static int cf_trade_dec(feed_handler_t *h, cf_sym_t *s, const char *js, const jsmntok_t *t, int n,
                        int o, const int64_t ts[2], uint16_t fl, tg_event_t *ev, int64_t *seq,
                        int64_t *ts_exch, int *bad)
{
    int sd = feed_jtok_get(js, t, n, o, "side"), tm = feed_jtok_get(js, t, n, o, "time");
    int uid = feed_jtok_get(js, t, n, o, "uid"), sq = feed_jtok_get(js, t, n, o, "seq");
    feed_level_t l;
    int rc;
    *bad = o;
    *seq = -1;
    if (sd < 0 || tm < 0 || uid < 0 || t[uid].type != JSMN_STRING)
        return TG_EFIELD;
    *bad = tm;
    if (feed_jtok_ms_num(js, &t[tm], ts_exch) < 0)
        return TG_EFIELD;
    if (sq >= 0) {
        *bad = sq;
        if (t[sq].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[sq], seq) < 0 || *seq < 0)
            return TG_EFIELD;
    }
    int ty = feed_jtok_get(js, t, n, o, "type");
    if (ty >= 0 &&
        (feed_jtok_str_is(js, &t[ty], "assignment") || feed_jtok_str_is(js, &t[ty], "termination")))
        return 1; /* settlement transfers, not market trades (their seq counts) */
    *bad = sd;
    if (feed_jtok_side(js, &t[sd], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &l.side) < 0)
        return TG_EFIELD;
    if ((rc = cf_pq(h, s, js, t, n, o, &l, bad)) < 0) {
        if (rc != TG_ERESCALE && feed_dec_is_fault(rc))
            cf_resubscribe(h, s); /* the book went to FAULT with it: get a fresh snapshot */
        return rc;
    }
    *ev = feed_event(TG_EV_TRADE, s->id, l.side, l.px, l.sz, *seq < 0 ? 0 : (uint64_t)*seq, 0,
                     *ts_exch, ts[0], ts[1], fl);
    ev->u.trade_id = feed_hash_id(js + t[uid].start, feed_jtok_len(&t[uid]));
    return 0;
}

/* The trades seq from .. to of s (times from_ts .. to_ts, ns, inclusive) are out of reach: a
 * TG_EV_TRADE_GAP with those time bounds (as feed_backfill.c's time mode gives a range up: seq =
 * from_ts, u.aux = to_ts, ts_exch = to_ts), counted in backfill_failures, an ERROR line. */
static void cf_trades_lost(feed_handler_t *h, cf_sym_t *s, int64_t from, int64_t to,
                           int64_t from_ts, int64_t to_ts, const int64_t ts[2], const char *why)
{
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    feed_bf_time_gap(h, s->id, from_ts, to_ts, ts[0], ts[1], TG_EVF_LAST);
    TG_STAT_INC(h->stats->backfill_failures);
    const char *sym = in ? in->symbol : "?";
    if (from >= 0 && to >= from)
        feed_logf(h, FEED_LOG_ERROR,
                  "cryptofacilities %s: trades seq %lld..%lld lost (%lld trades, %s): trade gap "
                  "at times %lld..%lld ns",
                  sym, (long long)from, (long long)to, (long long)(to - from + 1), why,
                  (long long)from_ts, (long long)to_ts);
    else if (from < 0)
        feed_logf(h, FEED_LOG_ERROR,
                  "cryptofacilities %s: trades before seq %lld may be lost (%s): trade gap at "
                  "times %lld..%lld ns",
                  sym, (long long)(to + 1), why, (long long)from_ts, (long long)to_ts);
    else
        feed_logf(h, FEED_LOG_ERROR,
                  "cryptofacilities %s: trades after seq %lld may be lost (%s): trade gap at "
                  "times %lld..%lld ns",
                  sym, (long long)(from - 1), why, (long long)from_ts, (long long)to_ts);
}

static int cf_trade_fail(feed_handler_t *h, int rc, const char *js, const jsmntok_t *t, int bad,
                         int64_t ts_mono)
{
    if (rc == TG_ERESCALE)
        return rc;
    feed_count_error(h->stats, rc);
    cf_log(h, ts_mono, FEED_LOG_WARN, "bad trade message dropped", js, &t[bad]);
    return rc;
}

/* A live trade: emitted (a market trade), and its seq checked against the product's last
 * (trade_snapshot's newest counts). */
static int cf_trade(feed_handler_t *h, cf_sym_t *s, const char *js, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    const int64_t ts[2] = {ts_recv, ts_mono};
    tg_event_t ev;
    int64_t seq, tx;
    int bad = 0;
    int rc = cf_trade_dec(h, s, js, t, n, 0, ts, TG_EVF_LAST, &ev, &seq, &tx, &bad);
    if (rc < 0)
        return cf_trade_fail(h, rc, js, t, bad, ts_mono);
    if (seq >= 0 && s->tseq >= 0 && seq != s->tseq + 1) {
        if (!s->tsync && seq > s->tseq + 1) { /* a reconnect without trade_snapshot yet */
            cf_trades_lost(h, s, s->tseq + 1, seq - 1, s->tts, tx, ts, "no trade_snapshot");
        } else {
            TG_STAT_INC(h->stats->gaps);
            feed_logf(h, FEED_LOG_WARN,
                      "cryptofacilities %s: trade seq %lld after %lld (%lld trades not received)",
                      tg_instr_reg_get(h->reg, s->id)->symbol, (long long)seq, (long long)s->tseq,
                      (long long)(seq > s->tseq ? seq - s->tseq - 1 : 0));
        }
    }
    if (seq > s->tseq) {
        s->tseq = seq;
        s->tts = tx;
    }
    s->tsync = 1;
    if (rc == 1)
        TG_STAT_INC(h->stats->unhandled);
    else
        feed_emit_counted(h, &ev);
    return 0;
}

static int cf_tr_cmp(const void *a, const void *b)
{
    int64_t x = ((const cf_tr_t *)a)->seq, y = ((const cf_tr_t *)b)->seq;
    return (x > y) - (x < y);
}

/* trade_snapshot (the product's newest trades, newest first): after a reconnect the ones newer
 * than the last seen (s->tseq) are emitted, oldest first, as TG_EV_TRADE | TG_EVF_REST; the
 * part it does not reach back to is a trade gap (cf_trades_lost). Before any trade (the first
 * connection): the ones at or after the instrument's resume time (start-up, from PostgreSQL),
 * else none. Every trade is decoded first (TG_ERESCALE before anything is emitted). */
static int cf_trade_snapshot(feed_handler_t *h, cf_sym_t *s, const char *js, const jsmntok_t *t,
                             int n, int64_t ts_recv, int64_t ts_mono)
{
    cf_state_t *st = h->vstate;
    const int64_t ts[2] = {ts_recv, ts_mono};
    int a = feed_jtok_get(js, t, n, 0, "trades"), bad = 0, rc = TG_EFIELD;
    size_t k = 0;
    if (a < 0 || t[a].type != JSMN_ARRAY)
        return cf_trade_fail(h, rc, js, t, 0, ts_mono);
    for (int i = a + 1, e = 0; e < t[a].size; e++, i = feed_jtok_next(t, n, i)) {
        if (t[i].type != JSMN_OBJECT || k >= st->tr_cap)
            return cf_trade_fail(h, rc, js, t, i, ts_mono);
        cf_tr_t *r = &st->tr[k];
        rc = cf_trade_dec(h, s, js, t, n, i, ts, TG_EVF_LAST | TG_EVF_REST, &r->ev, &r->seq, &r->ts,
                          &bad);
        if (rc < 0 || r->seq < 0)
            return cf_trade_fail(h, rc < 0 ? rc : TG_EFIELD, js, t, bad, ts_mono);
        r->skip = rc == 1;
        k++;
    }
    qsort(st->tr, k, sizeof(st->tr[0]), cf_tr_cmp); /* oldest first */
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    int64_t resume = s->tseq < 0 && in ? in->resume_ts : 0;
    size_t emitted = 0;
    if (k && s->tseq >= 0 && st->tr[0].seq > s->tseq + 1)
        cf_trades_lost(h, s, s->tseq + 1, st->tr[0].seq - 1, s->tts, st->tr[0].ts, ts,
                       "older than the trade_snapshot");
    else if (k && resume > 0 && st->tr[0].ts > resume)
        cf_trades_lost(h, s, -1, st->tr[0].seq - 1, resume, st->tr[0].ts, ts,
                       "older than the trade_snapshot, after the last stored");
    for (size_t i = 0; i < k; i++) {
        cf_tr_t *r = &st->tr[i];
        bool want = s->tseq >= 0 ? r->seq > s->tseq : resume > 0 && r->ts >= resume;
        if (want && !r->skip) {
            feed_emit_counted(h, &r->ev);
            TG_STAT_INC(h->stats->backfill_trades);
            emitted++;
        }
    }
    if (k && st->tr[k - 1].seq > s->tseq) {
        s->tseq = st->tr[k - 1].seq;
        s->tts = st->tr[k - 1].ts;
    }
    s->tsync = 1;
    if (emitted || resume > 0)
        feed_logf(h, FEED_LOG_INFO, "cryptofacilities %s: %zu trades from trade_snapshot%s",
                  in ? in->symbol : "?", emitted, resume > 0 ? " (from the last stored time)" : "");
    if (!emitted)
        TG_STAT_INC(h->stats->unhandled); /* nothing new (the first connection) */
    return 0;
}

/* A reconnect's trade_snapshot that did not come (CF_TSNAP_WAIT_NS after the connection opened)
 * for a product traded before: what it traded since its last trade is unknown, a trade gap from
 * that trade's time to now (the venue sends one on every trade subscribe; a feed that left it
 * out, or lost it, is still no silent hole). */
static void cf_tsnap_overdue(feed_handler_t *h, int64_t now_mono)
{
    cf_state_t *st = h->vstate;
    if (!(h->channels & FEED_CH_TRADES) || !st->open_mono ||
        now_mono - st->open_mono < CF_TSNAP_WAIT_NS)
        return;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        cf_sym_t *s = &st->sym[i];
        if (s->tseq < 0 || s->tsync)
            continue;
        int64_t now = tg_clock_realtime_ns();
        const int64_t ts[2] = {now, now_mono};
        s->tsync = 1;
        cf_trades_lost(h, s, s->tseq + 1, -1, s->tts, now, ts, "no trade_snapshot");
    }
}

/* ---- frames ----------------------------------------------------------------------------- */

static int cf_event(feed_handler_t *h, const char *js, const jsmntok_t *t, int e, int64_t ts_mono)
{
    if (feed_jtok_str_is(js, &t[e], "error") || feed_jtok_str_is(js, &t[e], "alert") ||
        feed_jtok_str_is(js, &t[e], "subscribed_failed") ||
        feed_jtok_str_is(js, &t[e], "unsubscribed_failed")) {
        cf_log(h, ts_mono, FEED_LOG_ERROR, "venue error", js, &t[0]);
        feed_count_error(h->stats, TG_EPROTO);
        return TG_EPROTO;
    }
    TG_STAT_INC(h->stats->unhandled); /* info, subscribed, unsubscribed, challenge */
    return 0;
}

static int cf_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int f = feed_jtok_get(buf, t, n, 0, "feed");
    int e = feed_jtok_get(buf, t, n, 0, "event");
    if (e >= 0)
        return cf_event(h, buf, t, e, ts_mono);
    if (f < 0 || t[f].type != JSMN_STRING) {
        cf_log(h, ts_mono, FEED_LOG_WARN, "frame without feed or event", buf, &t[0]);
        feed_count_error(h->stats, TG_EFIELD);
        return TG_EFIELD;
    }
    bool book = feed_jtok_str_is(buf, &t[f], "book");
    bool snap = feed_jtok_str_is(buf, &t[f], "book_snapshot");
    bool trade = feed_jtok_str_is(buf, &t[f], "trade");
    bool tsnap = feed_jtok_str_is(buf, &t[f], "trade_snapshot");
    if (!book && !snap && !trade && !tsnap) {
        TG_STAT_INC(h->stats->unhandled); /* heartbeat, ticker, ticker_lite */
        return 0;
    }
    int pid = feed_jtok_get(buf, t, n, 0, "product_id");
    if (pid < 0 || t[pid].type != JSMN_STRING) {
        cf_log(h, ts_mono, FEED_LOG_WARN, "data frame without product_id", buf, &t[0]);
        feed_count_error(h->stats, TG_EFIELD);
        return TG_EFIELD;
    }
    cf_sym_t *s = cf_lookup(h, buf + t[pid].start, feed_jtok_len(&t[pid]));
    if (!s) {
        cf_log(h, ts_mono, FEED_LOG_WARN, "unknown product_id", buf, &t[pid]);
        feed_count_error(h->stats, TG_ESYMBOL);
        return TG_ESYMBOL;
    }
    if (trade)
        return cf_trade(h, s, buf, t, n, ts_recv, ts_mono);
    if (tsnap)
        return cf_trade_snapshot(h, s, buf, t, n, ts_recv, ts_mono);
    return cf_book(h, s, snap, buf, t, n, ts_recv, ts_mono);
}

static const feed_vparser_t cf_parser = {cf_frame, JSMN_OBJECT, FEED_VP_COUNT | FEED_VP_SLOW};

/* Every frame counts exactly once: in handled, unhandled or one err_* counter (a frame parsed
 * again after a scale change is counted by its last attempt only). */
/* ---- lifecycle -------------------------------------------------------------------------- */

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens).
 * Instruments: feed_instr_defaults_plain (full book: every level change is sent, qty 0
 * removes; no checksum in v1). */
static const feed_vspec_t cf_spec = {
    FEED_VSPEC(cf_state_t, CF_TOK_INIT, CF_TOK_MAX),
    .blocks = {FEED_VSCRATCH(cf_state_t, lv, 4), FEED_VSCRATCH(cf_state_t, tr, 8)},
    .reset = {FEED_VRESET(cf_sym_t, synced, 0), FEED_VRESET(cf_sym_t, seq, -1),
              FEED_VRESET(cf_sym_t, tsync, 0)},
};

static int cf_init(feed_handler_t *h)
{
    cf_state_t *st = h->vstate;
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].seq = st->sym[i].tseq = -1; /* no sequence seen yet */
    return 0;
}

static int cf_on_open(feed_handler_t *h)
{
    cf_state_t *st = h->vstate;
    feed_resync_rebase(h);
    feed_vreset(h);
    st->sub_next = 0;
    st->sends_left = CF_SENDS_PER_S;
    st->last_keepalive = 0;
    st->open_mono = 0; /* the first tick's time */
    int rc = cf_subscribe_more(h);
    return rc < 0 ? rc : 0;
}

static void cf_on_tick(feed_handler_t *h, int64_t now_mono)
{
    cf_state_t *st = h->vstate;
    feed_resub_tick(h, &st->sends_left, CF_SENDS_PER_S, cf_resubscribe, cf_subscribe_more,
                    "cryptofacilities: subscribe failed", now_mono);
    if (st->last_keepalive == 0)
        st->last_keepalive = now_mono;
    if (st->open_mono == 0)
        st->open_mono = now_mono;
    cf_tsnap_overdue(h, now_mono);
    if (now_mono - st->last_keepalive >= CF_KEEPALIVE_NS) {
        st->last_keepalive = now_mono;
        feed_send(h, cf_heartbeat_sub, sizeof(cf_heartbeat_sub) - 1);
    }
}

const feed_venue_t feed_venue_cryptofacilities = {
    .name = "cryptofacilities",
    .default_url = "wss://futures.kraken.com/ws/v1",
    .max_symbols_per_conn = 0, /* no published limit */
    .max_sends_per_s = CF_SENDS_PER_S,
    FEED_VENUE_STATE(cf, feed_instr_defaults_plain),
    FEED_VENUE_PARSE_VCLOSE(cf),
    .trade_history = true,    /* trade_snapshot on every trade subscribe */
    .trade_history_ws = true, /* over the websocket: no REST client needed */
    .trade_ids_seq = false,   /* u.trade_id: hashed UUIDs (the seq is not the id) */
};
