/* SPDX-License-Identifier: MIT */
/*
 * Crypto.com Exchange v2 market websocket (wss://stream.crypto.com/v2/market) venue handler:
 * full-book pushes (channel "book", subscription book.<instrument>.<depth>), trades ("trade"),
 * the venue's public/heartbeat (answered with public/respond-heartbeat), subscribe acks/errors.
 *
 * DESIGN
 * Every push of book.<instr>.<depth> is the whole book (up to depth levels per side, no deltas,
 * no sequence numbers): {"method":"subscribe","result":{"instrument_name","channel":"book",
 * "data":[{"bids":[[price, qty, orders]..],"asks":[..],"t":ms}]}}. Each data element becomes a
 * snapshot message (TG_EV_BOOK_CLEAR + levels flagged SNAPSHOT, ts_exch = t). Pushes arrive
 * out of order by "t" (111 times in 1525 pushes in the recording): a push older than the last
 * one applied for its instrument is dropped (stale_dropped), so an older book never replaces a
 * newer one; an equal t is applied (the later arrival wins). A push that does not parse emits
 * TG_EV_GAP for its instrument; the next good push (a full book) makes it valid again.
 * Trades: "trade" data elements {"d" id, "s" taker side BUY/SELL, "p", "q", "t" ms}, newest
 * first in a push: emitted oldest first, one push = one message. The first push after a
 * subscribe repeats the instrument's 100 newest trades without marking them; a per-instrument
 * ring of the last CC_TID_RING trade ids drops exact repeats, so each trade counts once.
 * Trade backfill (issue 15, feed_bf_snap.h; trade_history + trade_history_ws, no REST): that
 * first push is the outage's trades. The newest trade seen per instrument is kept across
 * reconnects; after a reconnect (or with a start-up resume time) the push's trades newer than
 * it, and those at its time the ring has not seen, are emitted with TG_EVF_REST; a push that
 * does not reach back to it (more than 100 trades published meanwhile) also emits a
 * time-bounded TG_EV_TRADE_GAP [last seen, the push's oldest]. The very first push without a
 * resume time is emitted as live trades. Every number of a frame is parsed (feed_dec) before
 * any state changes, so a TG_ERESCALE re-parse leaves no trace.
 * Connection: Crypto.com asks clients to wait ~1 s after connecting before the first request:
 * on_open only notes the time; on_tick sends the subscribes (batches of CC_SUB_BATCH channels)
 * once 1 s has passed. {"id":N,"method":"public/heartbeat"} is answered at once with
 * {"id":N,"method":"public/respond-heartbeat"} (the venue disconnects clients that do not).
 * Thread: feed:crypto-com.
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/venues/feed_bf_snap.h"
#include "venues.h"

#define CC_TOK_INIT   4096
#define CC_TOK_MAX    (1 << 18)
#define CC_TID_RING   256
#define CC_SUB_BATCH  50 /* channels per subscribe request */
#define CC_SENDS_TICK 20 /* subscribe requests per tick (~1 s), well under 100/s */
#define CC_WAIT_NS    1000000000LL
#define CC_MAX_PUSHES 32 /* data elements of one book frame */

typedef struct cc_sym {
    uint32_t id;
    int64_t last_t; /* ms of the last applied book push, -1 none */
    uint64_t tid[CC_TID_RING];
    uint32_t tid_n, tid_pos;
    uint32_t resync_seen;
    feed_bfs_sym_t bf; /* the newest trade seen, kept across reconnects (feed_bf_snap.h) */
} cc_sym_t;

typedef struct cc_lvl { /* a book level */
    int64_t px, sz;
    uint8_t side;
} cc_lvl_t;

typedef struct cc_state {
    feed_jtok_t jt;
    feed_ratelim_t rl;
    cc_sym_t *sym;
    uint16_t *slot;
    cc_lvl_t *lv;
    size_t lv_cap;
    feed_bf_trade_t *bt; /* the trades of a push, oldest first */
    size_t bt_cap;
    unsigned depth;
    int64_t open_mono; /* when on_open ran */
    int64_t sub_next;  /* next channel index to subscribe (-1: all sent) */
    uint64_t req_id;
    char sbuf[256 + (size_t)CC_SUB_BATCH * (TG_SYMBOL_MAX + 16)]; /* one request */
} cc_state_t;

/* ---- helpers ------------------------------------------------------------------------------- */

/* number as JSON number or string */
static int cc_num_tok(const jsmntok_t *t)
{
    return t->type == JSMN_PRIMITIVE || t->type == JSMN_STRING;
}

static cc_sym_t *cc_lookup(feed_handler_t *h, const char *js, const jsmntok_t *t)
{
    cc_state_t *st = h->vstate;
    if (t->type != JSMN_STRING)
        return NULL;
    int i = feed_slot_find(h, st->slot, js + t->start, feed_jtok_len(t));
    return i < 0 ? NULL : &st->sym[i];
}

/* ---- books --------------------------------------------------------------------------------- */

static int cc_side(feed_handler_t *h, cc_sym_t *s, const char *js, const jsmntok_t *t, int n, int a,
                   uint8_t side, size_t *nl)
{
    cc_state_t *st = h->vstate;
    if (a < 0)
        return 0; /* an empty side may be left out */
    if (t[a].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = a + 1, rc;
    for (int m = 0; m < t[a].size; m++) {
        if (k + 2 >= n || t[k].type != JSMN_ARRAY || t[k].size < 2 || *nl >= st->lv_cap)
            return TG_EFIELD;
        const jsmntok_t *p = &t[k + 1], *q = &t[k + 2];
        if (!cc_num_tok(p) || !cc_num_tok(q))
            return TG_EFIELD;
        cc_lvl_t *l = &st->lv[*nl];
        if ((rc = feed_dec_px(h, s->id, js + p->start, feed_jtok_len(p), &l->px)) < 0)
            return rc;
        if ((rc = feed_dec_sz(h, s->id, js + q->start, feed_jtok_len(q), &l->sz)) < 0)
            return rc;
        if (l->px == 0)
            return TG_EFIELD;
        l->side = side;
        if (l->sz != 0) /* a full book: an empty level is no level */
            (*nl)++;
        k = feed_jtok_next(t, n, k);
    }
    return 0;
}

static int cc_book(feed_handler_t *h, cc_sym_t *s, const char *js, const jsmntok_t *t, int n,
                   int data, int64_t ts_recv, int64_t ts_mono)
{
    cc_state_t *st = h->vstate;
    size_t nl = 0, end[CC_MAX_PUSHES];
    int64_t ts[CC_MAX_PUSHES], useq[CC_MAX_PUSHES];
    int np = 0, rc = 0;
    /* pass 1: every number of every push */
    int k = data + 1;
    for (int m = 0; m < t[data].size; m++) {
        if (k >= n || t[k].type != JSMN_OBJECT || np == CC_MAX_PUSHES) {
            rc = TG_EFIELD;
            break;
        }
        int b = feed_jtok_get(js, t, n, k, "bids"), a = feed_jtok_get(js, t, n, k, "asks");
        int ti = feed_jtok_get(js, t, n, k, "t"), ui = feed_jtok_get(js, t, n, k, "u");
        useq[np] = 0;
        if (ti < 0 || (rc = feed_jtok_ms(js, &t[ti], &ts[np])) < 0 ||
            (ui >= 0 && feed_jtok_i64(js, &t[ui], &useq[np]) < 0)) {
            rc = TG_EFIELD;
            break;
        }
        if ((rc = cc_side(h, s, js, t, n, b, TG_SIDE_BID, &nl)) < 0 ||
            (rc = cc_side(h, s, js, t, n, a, TG_SIDE_ASK, &nl)) < 0)
            break;
        end[np++] = nl;
        k = feed_jtok_next(t, n, k);
    }
    if (rc == TG_ERESCALE)
        return rc;
    if (rc < 0) {
        feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono, TG_EVF_LAST);
        TG_STAT_INC(h->stats->gaps);
        return rc;
    }
    /* pass 2: apply the pushes not older than the book we have */
    size_t from = 0;
    for (int p = 0; p < np; from = end[p], p++) {
        int64_t ms = ts[p] / 1000000;
        if (s->last_t >= 0 && ms < s->last_t) {
            TG_STAT_INC(h->stats->stale_dropped);
            continue;
        }
        s->last_t = ms;
        uint64_t seq = useq[p] > 0 ? (uint64_t)useq[p] : 0;
        feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, seq, 0, ts[p], ts_recv, ts_mono,
                       TG_EVF_SNAPSHOT);
        for (size_t i = from; i < end[p]; i++)
            feed_emit_make(h, TG_EV_LEVEL, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, seq,
                           0, ts[p], ts_recv, ts_mono, TG_EVF_SNAPSHOT);
        feed_end_message(h, s->id, ts[p], ts_recv, ts_mono);
        TG_STAT_INC(h->stats->snapshots);
    }
    return 1;
}

/* ---- trades -------------------------------------------------------------------------------- */

static bool cc_take(void *ctx, uint64_t id)
{
    cc_sym_t *s = ctx;
    for (uint32_t i = 0; i < s->tid_n; i++)
        if (s->tid[i] == id)
            return false;
    s->tid[s->tid_pos] = id;
    s->tid_pos = (s->tid_pos + 1) % CC_TID_RING;
    if (s->tid_n < CC_TID_RING)
        s->tid_n++;
    return true;
}

static int cc_trades(feed_handler_t *h, cc_sym_t *s, const char *js, const jsmntok_t *t, int n,
                     int data, int64_t ts_recv, int64_t ts_mono)
{
    cc_state_t *st = h->vstate;
    size_t nt = (size_t)t[data].size;
    int rc = 0, k = data + 1;
    if (nt > st->bt_cap)
        return TG_EFIELD;
    for (size_t m = 0; m < nt; m++) {
        if (k >= n || t[k].type != JSMN_OBJECT)
            return TG_EFIELD;
        int d = feed_jtok_get(js, t, n, k, "d"), sd = feed_jtok_get(js, t, n, k, "s");
        int p = feed_jtok_get(js, t, n, k, "p"), q = feed_jtok_get(js, t, n, k, "q");
        int ti = feed_jtok_get(js, t, n, k, "t");
        if (d < 0 || sd < 0 || p < 0 || q < 0 || ti < 0 || !cc_num_tok(&t[p]) ||
            !cc_num_tok(&t[q]) || !cc_num_tok(&t[d]))
            return TG_EFIELD;
        feed_bf_trade_t *l = &st->bt[nt - 1 - m]; /* the push is newest first */
        if ((rc = feed_dec_px(h, s->id, js + t[p].start, feed_jtok_len(&t[p]), &l->px)) < 0 ||
            (rc = feed_dec_sz(h, s->id, js + t[q].start, feed_jtok_len(&t[q]), &l->qty)) < 0)
            return rc;
        if (l->px == 0 || l->qty == 0 || feed_jtok_ms(js, &t[ti], &l->ts_ns) < 0)
            return TG_EFIELD;
        size_t sl = feed_jtok_len(&t[sd]);
        if (t[sd].type != JSMN_STRING)
            return TG_EFIELD;
        if (sl == 3 && strncasecmp(js + t[sd].start, "buy", 3) == 0)
            l->side = TG_SIDE_BUY;
        else if (sl == 4 && strncasecmp(js + t[sd].start, "sell", 4) == 0)
            l->side = TG_SIDE_SELL;
        else
            return TG_EFIELD;
        int64_t id;
        if (feed_jtok_i64(js, &t[d], &id) == 0 && id >= 0)
            l->id = (uint64_t)id;
        else
            l->id = feed_hash_id(js + t[d].start, feed_jtok_len(&t[d]));
        l->seq = 0;
        k = feed_jtok_next(t, n, k);
    }
    if (s->bf.fresh) { /* the subscribe's first push: the recent trades, again */
        const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
        uint32_t got = feed_bfs_snapshot(h, &s->bf, s->id, in ? in->symbol : "?", st->bt,
                                         (uint32_t)nt, true, cc_take, s, ts_recv, ts_mono);
        TG_STAT_ADD(h->stats->stale_dropped, nt - got); /* seen, or older than seen */
        return 1;
    }
    /* emit oldest first, each trade id once */
    size_t emitted = 0;
    int64_t ts_last = 0;
    for (size_t i = 0; i < nt; i++) {
        feed_bf_trade_t *l = &st->bt[i];
        if (!cc_take(s, l->id)) {
            TG_STAT_INC(h->stats->stale_dropped);
            continue;
        }
        feed_emit_make(h, TG_EV_TRADE, s->id, l->side, l->px, l->qty, 0, l->id, l->ts_ns, ts_recv,
                       ts_mono, 0);
        feed_bfs_live(&s->bf, l->id, l->ts_ns);
        ts_last = l->ts_ns;
        emitted++;
    }
    if (emitted)
        feed_end_message(h, s->id, ts_last, ts_recv, ts_mono);
    return 1;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* @return 1 handled, 0 unhandled, or an error (counted by the caller). */
static int cc_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    cc_state_t *st = h->vstate;
    int me = feed_jtok_get(buf, t, n, 0, "method"), code = feed_jtok_get(buf, t, n, 0, "code");
    if (me < 0 || t[me].type != JSMN_STRING)
        return TG_EFIELD;
    if (feed_jtok_eq(buf, &t[me], "public/heartbeat")) {
        int id = feed_jtok_get(buf, t, n, 0, "id");
        int64_t v;
        if (id < 0 || feed_jtok_i64(buf, &t[id], &v) < 0)
            return TG_EFIELD;
        char msg[96];
        int k = snprintf(msg, sizeof(msg), "{\"id\":%lld,\"method\":\"public/respond-heartbeat\"}",
                         (long long)v);
        int rc = feed_send(h, msg, (size_t)k);
        if (rc < 0 && rc != -ENOTCONN)
            feed_logf_limited(h, &st->rl, ts_mono, FEED_LOG_WARN,
                              "crypto-com: heartbeat answer not sent (%d)", rc);
        return 1;
    }
    if (code >= 0) {
        int64_t c;
        if (feed_jtok_i64(buf, &t[code], &c) < 0)
            return TG_EFIELD;
        if (c != 0)
            return TG_EPROTO;
    }
    if (!feed_jtok_eq(buf, &t[me], "subscribe"))
        return 0;
    int res = feed_jtok_get(buf, t, n, 0, "result");
    if (res < 0)
        return 0; /* the ack {"id":..,"code":0,"method":"subscribe"} */
    int ch = feed_jtok_get(buf, t, n, res, "channel");
    if (ch < 0 || t[ch].type != JSMN_STRING)
        return TG_EFIELD;
    int is_book = feed_jtok_eq(buf, &t[ch], "book"), is_trade = feed_jtok_eq(buf, &t[ch], "trade");
    if (!is_book && !is_trade)
        return 0; /* ticker, candlestick, ... */
    int in = feed_jtok_get(buf, t, n, res, "instrument_name");
    int data = feed_jtok_get(buf, t, n, res, "data");
    if (in < 0 || data < 0 || t[data].type != JSMN_ARRAY)
        return TG_EFIELD;
    cc_sym_t *s = cc_lookup(h, buf, &t[in]);
    if (!s)
        return TG_ESYMBOL;
    if (is_book)
        return cc_book(h, s, buf, t, n, data, ts_recv, ts_mono);
    return cc_trades(h, s, buf, t, n, data, ts_recv, ts_mono);
}

static const feed_vparser_t cc_parser = {cc_frame, JSMN_OBJECT, 0};

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens).
 * Instruments: feed_instr_defaults_plain (no metadata in-band; every push is the whole book). */
static const feed_vspec_t cc_spec = {
    FEED_VSPEC_RL(cc_state_t, CC_TOK_INIT, CC_TOK_MAX, 20, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VSCRATCH(cc_state_t, lv, 3), FEED_VSCRATCH(cc_state_t, bt, 3)},
};

static int cc_init(feed_handler_t *h)
{
    cc_state_t *st = h->vstate;
    st->depth = h->depth && h->depth <= 10 ? 10 : 150;
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].last_t = -1;
    st->sub_next = -1;
    return 0;
}

static int cc_on_open(feed_handler_t *h)
{
    cc_state_t *st = h->vstate;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        st->sym[i].last_t = -1; /* trade ids are kept: the first push repeats old trades */
        st->sym[i].resync_seen = feed_resync_count(h, st->sym[i].id);
        const tg_instr_t *in = tg_instr_reg_get(h->reg, st->sym[i].id);
        feed_bfs_open(h, &st->sym[i].bf, st->sym[i].id, in ? in->symbol : "?");
    }
    st->open_mono = tg_clock_mono_ns();
    st->sub_next = 0; /* on_tick subscribes once CC_WAIT_NS have passed */
    return 0;
}

/* Channel j of this connection: instruments x {book, trade} per h->channels. */
static int cc_channel_name(feed_handler_t *h, int64_t j, char *out, size_t cap)
{
    cc_state_t *st = h->vstate;
    int per = ((h->channels & FEED_CH_BOOK) ? 1 : 0) + ((h->channels & FEED_CH_TRADES) ? 1 : 0);
    if (per == 0 || j >= (int64_t)h->n_instr * per)
        return -ENOENT;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[j / per]);
    if (!in || !feed_json_safe(in->symbol))
        return 0;
    int book = (h->channels & FEED_CH_BOOK) && (per == 1 || j % per == 0);
    if (book)
        return snprintf(out, cap, "\"book.%s.%u\"", in->symbol, st->depth);
    return snprintf(out, cap, "\"trade.%s\"", in->symbol);
}

static void cc_subscribe_some(feed_handler_t *h)
{
    cc_state_t *st = h->vstate;
    for (int r = 0; r < CC_SENDS_TICK && st->sub_next >= 0; r++) {
        size_t n = (size_t)snprintf(st->sbuf, sizeof(st->sbuf),
                                    "{\"id\":%llu,\"method\":\"subscribe\",\"params\":{"
                                    "\"channels\":[",
                                    (unsigned long long)++st->req_id);
        int cnt = 0, k;
        char name[TG_SYMBOL_MAX + 24];
        while (cnt < CC_SUB_BATCH &&
               (k = cc_channel_name(h, st->sub_next, name, sizeof(name))) >= 0) {
            st->sub_next++;
            if (k == 0)
                continue;
            n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n, "%s%s", cnt ? "," : "", name);
            cnt++;
        }
        if (k < 0)
            st->sub_next = -1; /* every channel is in this request or an earlier one */
        if (cnt == 0)
            break;
        n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n, "]},\"nonce\":%lld}",
                              (long long)(tg_clock_realtime_ns() / 1000000));
        if (n >= sizeof(st->sbuf) || feed_send(h, st->sbuf, n) < 0) {
            feed_logf(h, FEED_LOG_ERROR, "crypto-com: subscribe not sent");
            if (h->reconnect)
                h->reconnect(h->tctx, "crypto-com: subscribe failed");
            st->sub_next = -1;
            return;
        }
    }
}

static void cc_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    cc_state_t *st = h->vstate;
    feed_emit_stale_all(h, 0, ts_recv, ts_mono);
    for (uint32_t i = 0; i < h->n_instr; i++) {
        st->sym[i].last_t = -1;
    }
    st->sub_next = -1;
}

static void cc_on_tick(feed_handler_t *h, int64_t now_mono)
{
    cc_state_t *st = h->vstate;
    if (st->sub_next >= 0 && now_mono - st->open_mono >= CC_WAIT_NS)
        cc_subscribe_some(h);
    /* a builder resync (crossed book): the next push is a whole book; let it through whatever
     * its time */
    for (uint32_t i = 0; i < h->n_instr; i++)
        if (feed_resync_asked(h, st->sym[i].id, &st->sym[i].resync_seen)) {
            TG_STAT_INC(h->stats->resyncs);
            st->sym[i].last_t = -1;
        }
}

const feed_venue_t feed_venue_crypto_com = {
    .name = "crypto-com",
    .default_url = "wss://stream.crypto.com/v2/market",
    /* Crypto.com: 100 requests per second on the market data websocket; no published channel
     * cap per connection (100 symbols x 2 channels keeps each connection moderate). */
    .max_symbols_per_conn = 100,
    .max_sends_per_s = 100,
    /* the first push of trade.<instr> re-sends the 100 newest trades: the outage's trades
       come from it (feed_bf_snap.h) */
    .trade_history = true,
    .trade_history_ws = true,
    FEED_VENUE_STATE(cc, feed_instr_defaults_plain),
    FEED_VENUE_TALLY(cc),
};
