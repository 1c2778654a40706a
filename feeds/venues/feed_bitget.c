/* SPDX-License-Identifier: MIT */
/*
 * Bitget public websocket venue handler, spot (`bitget`) and USDT-M futures (`bitget-futures`),
 * API v1 (2022: wss://ws.bitget.com/spot/v1/stream and /mix/v1/stream, instType "SP"/"MC")
 * and API v2 (wss://ws.bitget.com/v2/ws/public, instType "SPOT"/"USDT-FUTURES"). One handler,
 * .variant tells spot from futures; the API version is read from every frame.
 *
 * DESIGN
 * Frames are objects {"action":"snapshot"|"update","arg":{"instType","channel","instId"},
 * "data":[...]} or events {"event":"subscribe"|"error",...}, plus the text "pong". The version
 * comes from arg.instType: two letters ("sp", "mc", as v1 acks and pushes spell them) is v1,
 * anything longer ("SPOT", "USDT-FUTURES") is v2. It decides what (re)subscribes send; the
 * message shapes are read the same way in both versions except trades (v1: arrays
 * [ts, price, size, side]; v2: objects {ts, price, size, side, tradeId}), which are told apart
 * by the element's type.
 * Book channel "books" (full depth): "snapshot" clears the book, "update" changes levels (size
 * "0" deletes). Each element of "data" is one exchange message with "asks"/"bids" [[px, sz]],
 * "ts" (ms) and "checksum": CRC-32 of "bid1px:bid1sz:ask1px:ask1sz:..." over the top 25 levels,
 * of the strings as sent, as a signed int32. Bitget pads prices and sizes to fixed decimals per
 * instrument ("2.4400"), so the handler learns the decimals from the level strings and carries
 * them in the TG_EV_CHECKSUM event (price = price decimals, size = size decimals) for
 * bg_checksum(), which prints our fixed-point values the same way. v2 messages also carry "seq":
 * an update whose seq is not above the last one is a replay and dropped (stale_dropped).
 * "books1"/"books5"/"books15" push the whole top N every time: each message is a snapshot and
 * its checksum is not checked (it is documented for "books" only).
 * A frame is parsed completely (every number through feed_dec) before any state changes or any
 * event is emitted. A level that does not parse emits TG_EV_GAP for the instrument and
 * resubscribes it (unsubscribe + subscribe: Bitget answers with a new snapshot); updates before
 * the (new) snapshot are dropped (stale_dropped). A checksum mismatch is found by the builder
 * (TG_EV_CHECKSUM at the end of every message), which asks for a resync: on_tick resubscribes.
 * Resubscribes are paced to Bitget's 10 messages per second (the rest wait for on_tick).
 * "ping" is sent every 30 s; "pong" counts as unhandled.
 * Thread: feed:bitget (everything here; bg_checksum() runs on the book thread and is pure).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book_l2.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_checksum.h"
#include "feeds/feed_jtok.h"
#include "feed_venue_util.h"
#include "venues.h"

#define BG_TOK_INIT  4096
#define BG_TOK_MAX   (1 << 20)
#define BG_PING_NS   (30 * 1000000000LL)
#define BG_SEC_NS    1000000000LL
#define BG_SENDS_S   10 /* Bitget: at most 10 messages per second from a client */
#define BG_SUB_BATCH 20 /* channels per subscribe frame (Bitget: a request under 4096 bytes) */
#define BG_SYMS_CONN 24 /* 2 channels each: under the 50 channels Bitget advises per connection */
#define BG_CK_LEVELS 25
#define BG_CHAN_MAX  16
#define BG_DP_MAX    18

enum { BG_V1 = 1, BG_V2 = 2 };
enum { BG_SPOT = 0, BG_FUTURES = 1 };

/* One parsed level or trade. */
typedef struct bg_item {
    int64_t px, sz, ts;
    uint64_t id;
    uint8_t side;
} bg_item_t;

/* One parsed book message (an element of "data"): items [i0, i0 + n). */
typedef struct bg_msg {
    size_t i0, n;
    int64_t ts, seq;
    uint32_t ck;
    uint8_t has_ck, has_seq;
    int8_t px_dp, sz_dp;
} bg_msg_t;

typedef struct bg_sym {
    uint32_t id;
    uint8_t synced;
    uint8_t resub;       /* a resubscribe waits for send budget (on_tick) */
    int8_t px_dp, sz_dp; /* decimals Bitget prints for this instrument (learned) */
    int64_t last_seq;    /* v2 seq of the last applied message, -1 if none */
} bg_sym_t;

typedef struct bg_state {
    feed_jtok_t jt;
    bg_item_t *it;
    size_t it_cap;
    bg_msg_t *msg;
    size_t msg_cap;
    bg_sym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    int64_t last_ping;
    int api;           /* BG_V1 / BG_V2: what subscribes are sent in */
    int api_seen;      /* a frame of this connection showed the version */
    int api_switched;  /* subscribes were re-sent in the other version after an error */
    int64_t win_start; /* send pacing: start of the current 1 s window (-1: since on_open) */
    uint32_t win_sends;
    char sbuf[256 + (size_t)BG_SUB_BATCH * (TG_SYMBOL_MAX + 96)]; /* one request */
} bg_state_t;

#define bg_log(h, now, what, rc, buf, len)                                                         \
    feed_log_frame((h), &((bg_state_t *)(h)->vstate)->rl, (now), FEED_LOG_WARN, (what), (rc),      \
                   (buf), (len))

/* ---- checksum (book thread) ---------------------------------------------------------------- */

/* v at scale printed in shortest exact form, then padded with zeros to at least dp decimals:
 * Bitget's own string for the level ("2.4400", "145214"). out: TG_DEC_STR_MAX + BG_DP_MAX. */
static size_t bg_num(int64_t v, int scale, int dp, char *out)
{
    size_t n = tg_dec_format(v, scale, out);
    if (dp <= 0)
        return n;
    const char *dot = memchr(out, '.', n);
    int have = dot ? (int)(n - (size_t)(dot - out) - 1) : 0;
    if (!dot)
        out[n++] = '.';
    for (; have < dp; have++)
        out[n++] = '0';
    return n;
}

/* tg_checksum_fn: CRC-32 of "bid1px:bid1sz:ask1px:ask1sz:..." over the top 25 levels (a side
 * that ran out is skipped), as Bitget prints them; ck->price/ck->size are the decimals. */
static uint32_t bg_checksum(const struct book_l2 *book, const struct tg_instr *in,
                            const tg_event_t *ck)
{
    static const feed_ck_fmt_t fmt = {BG_CK_LEVELS, bg_num, true};
    int pdp = ck->price > 0 && ck->price <= BG_DP_MAX ? (int)ck->price : 0;
    int sdp = ck->size > 0 && ck->size <= BG_DP_MAX ? (int)ck->size : 0;
    return feed_checksum_book(book, in, &fmt, pdp, sdp);
}

/* ---- sending ------------------------------------------------------------------------------- */

static const char *bg_inst_type(const feed_handler_t *h, int api)
{
    if (h->venue->variant == BG_FUTURES)
        return api == BG_V1 ? "MC" : "USDT-FUTURES";
    return api == BG_V1 ? "SP" : "SPOT";
}

static const char *bg_book_chan(const feed_handler_t *h, int api)
{
    if (h->depth == 1 && api == BG_V2)
        return "books1";
    if (h->depth == 1 || h->depth == 5)
        return "books5";
    if (h->depth == 15)
        return "books15";
    return "books";
}

/* May `n` more frames go out now (Bitget: 10 per second)? Counts them when yes. */
static bool bg_budget(bg_state_t *st, int64_t now, uint32_t n)
{
    if (st->win_start < 0 || now - st->win_start >= BG_SEC_NS || now < st->win_start) {
        if (st->win_start >= 0)
            st->win_sends = 0;
        st->win_start = now;
    }
    if (st->win_sends + n > BG_SENDS_S)
        return false;
    st->win_sends += n;
    return true;
}

static int bg_resub_msg(feed_handler_t *h, const void *sym, const tg_instr_t *in, const char *op,
                        char *msg, size_t cap)
{
    const bg_state_t *st = h->vstate;
    return snprintf(msg, cap,
                    "{\"op\":\"%s\",\"args\":[{\"instType\":\"%s\",\"channel\":\"%s\","
                    "\"instId\":\"%s\"}]}",
                    op, bg_inst_type(h, st->api), bg_book_chan(h, st->api), in->symbol);
}

/* Unsubscribe + subscribe the book channel of s (Bitget answers with a new snapshot). */
static void bg_resubscribe_now(feed_handler_t *h, bg_sym_t *s)
{
    s->resub = 0;
    feed_resubscribe(h, s, s->id, bg_resub_msg, "bitget: resubscribe failed");
}

/* The book of s is void until a new snapshot: resubscribe now or, over budget, at on_tick. */
static void bg_resubscribe(feed_handler_t *h, bg_sym_t *s, int64_t now)
{
    TG_STAT_INC(h->stats->resyncs);
    s->synced = 0;
    s->last_seq = -1;
    if (bg_budget(h->vstate, now, 2))
        bg_resubscribe_now(h, s);
    else
        s->resub = 1;
}

static void bg_gap(feed_handler_t *h, bg_sym_t *s, uint64_t got, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->last_seq > 0 ? (uint64_t)s->last_seq : 0, got,
                   0, ts_recv, ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    bg_resubscribe(h, s, ts_mono);
}

/* Subscribe frames for every instrument (book channel and/or trade), BG_SUB_BATCH channels per
 * frame. @return 0 or the first send error. */
static int bg_subscribe_all(feed_handler_t *h)
{
    bg_state_t *st = h->vstate;
    const char *it = bg_inst_type(h, st->api), *bc = bg_book_chan(h, st->api);
    int rc = 0;
    uint32_t i = 0;
    while (i < h->n_instr && rc >= 0) {
        size_t n = (size_t)snprintf(st->sbuf, sizeof(st->sbuf), "{\"op\":\"subscribe\",\"args\":[");
        int args = 0;
        for (; i < h->n_instr && args + 2 <= BG_SUB_BATCH; i++) {
            const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
            if (!in || !feed_json_safe(in->symbol)) {
                feed_logf(h, FEED_LOG_ERROR, "%s: instrument %u skipped (unusable name)",
                          h->venue->name, h->instr[i]);
                continue;
            }
            for (int k = 0; k < 2; k++) {
                if (!(h->channels & (k == 0 ? FEED_CH_BOOK : FEED_CH_TRADES)))
                    continue;
                n +=
                    (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n,
                                     "%s{\"instType\":\"%s\",\"channel\":\"%s\",\"instId\":\"%s\"}",
                                     args ? "," : "", it, k == 0 ? bc : "trade", in->symbol);
                args++;
            }
        }
        n += (size_t)snprintf(st->sbuf + n, sizeof(st->sbuf) - n, "]}");
        if (n >= sizeof(st->sbuf))
            return -ENOSPC;
        if (args) {
            rc = feed_send(h, st->sbuf, n);
            st->win_sends++;
        }
    }
    return rc < 0 ? rc : 0;
}

/* ---- parsing ------------------------------------------------------------------------------- */

/* Fractional digits of decimal text as written ("2.4400" 4, "145214" 0). */
static int bg_dp(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    if (!dot)
        return 0;
    size_t k = 0;
    for (const char *p = dot + 1; p < s + n && *p >= '0' && *p <= '9'; p++)
        k++;
    return k > BG_DP_MAX ? BG_DP_MAX : (int)k;
}

/* ms (number or digit string) -> ns */
/* Level i of st->it: ["px","sz"] at the instrument's scales (a price of 0 is no level); a->ctx
 * is the message, which keeps the most decimals its values were given with. */
static int bg_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    bg_item_t *l = &((bg_state_t *)h->vstate)->it[i];
    bg_msg_t *m = a->ctx;
    return feed_level_dp(h, a, k, bg_dp, true, &m->px_dp, &m->sz_dp, &l->px, &l->sz, &l->side, bad);
}

/* Parse one element of "data" of a book channel into m (nothing changes but scratch). */
static int bg_book_parse(feed_handler_t *h, bg_sym_t *s, bg_msg_t *m, const char *js,
                         const jsmntok_t *t, int n, int d, int *bad)
{
    *bad = d;
    if (t[d].type != JSMN_OBJECT)
        return TG_EFIELD;
    int asks = feed_jtok_get(js, t, n, d, "asks"), bids = feed_jtok_get(js, t, n, d, "bids");
    int tsi = feed_jtok_get(js, t, n, d, "ts"), cki = feed_jtok_get(js, t, n, d, "checksum");
    int sqi = feed_jtok_get(js, t, n, d, "seq");
    if (asks < 0 && bids < 0)
        return TG_EFIELD;
    const feed_lvls_t la = {js, t, n, s->id, 0, m};
    size_t nl = m->i0 + m->n;
    int rc = feed_book_levels_asks_first(h, &la, bids, asks, 2, ((bg_state_t *)h->vstate)->it_cap,
                                         &nl, bad, bg_level);
    m->n = nl - m->i0;
    if (rc < 0)
        return rc;
    *bad = tsi;
    if (tsi >= 0 && feed_jtok_ms(js, &t[tsi], &m->ts) < 0)
        return TG_EFIELD;
    if (cki >= 0) {
        int64_t ck;
        *bad = cki;
        if (t[cki].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[cki], &ck) < 0 ||
            ck < INT32_MIN || ck > (int64_t)UINT32_MAX)
            return TG_EFIELD;
        m->ck = (uint32_t)ck;
        m->has_ck = ck != 0; /* 0: none (a real CRC of 0 only skips one check) */
    }
    if (sqi >= 0) {
        *bad = sqi;
        if (feed_jtok_i64(js, &t[sqi], &m->seq) < 0 || m->seq < 0)
            return TG_EFIELD;
        m->has_seq = 1;
    }
    return 0;
}

/* Apply one parsed book message (state changes and events). */
static void bg_book_apply(feed_handler_t *h, bg_sym_t *s, const bg_msg_t *m, int snap, int ck_ok,
                          int64_t ts_recv, int64_t ts_mono)
{
    bg_state_t *st = h->vstate;
    if (!snap) {
        if (!s->synced) {
            TG_STAT_INC(h->stats->stale_dropped);
            return;
        }
        if (m->has_seq && s->last_seq >= 0 && m->seq <= s->last_seq) {
            TG_STAT_INC(h->stats->stale_dropped); /* replayed / older than the book */
            return;
        }
    }
    uint64_t seq = m->has_seq ? (uint64_t)m->seq : 0;
    uint16_t fl = 0;
    if (snap) {
        fl = feed_emit_snapshot(h, s->id, seq, m->ts, ts_recv, ts_mono);
        s->synced = 1;
        s->px_dp = m->px_dp;
        s->sz_dp = m->sz_dp;
    } else {
        if (m->px_dp > s->px_dp)
            s->px_dp = m->px_dp;
        if (m->sz_dp > s->sz_dp)
            s->sz_dp = m->sz_dp;
    }
    s->last_seq = m->has_seq ? m->seq : -1;
    for (size_t i = 0; i < m->n; i++) {
        const bg_item_t *l = &st->it[m->i0 + i];
        feed_emit_make(h, TG_EV_LEVEL, s->id, l->side, l->px, l->sz, seq, 0, m->ts, ts_recv,
                       ts_mono, fl);
    }
    if (m->has_ck && ck_ok) {
        feed_emit_make(h, TG_EV_CHECKSUM, s->id, 0, s->px_dp, s->sz_dp, seq, m->ck, m->ts, ts_recv,
                       ts_mono, TG_EVF_LAST);
        TG_STAT_INC(h->stats->checksum_msgs);
        return;
    }
    feed_end_message(h, s->id, m->ts, ts_recv, ts_mono);
}

static int bg_book(feed_handler_t *h, bg_sym_t *s, const char *buf, size_t len, const jsmntok_t *t,
                   int n, int data, int snap, int full_depth, int64_t ts_recv, int64_t ts_mono)
{
    bg_state_t *st = h->vstate;
    size_t nm = 0, used = 0;
    int bad = data, rc = 0;
    /* pass 1: parse every message of the frame (TG_ERESCALE leaves no trace) */
    int k = data + 1;
    for (int j = 0; j < t[data].size; j++) {
        if (k >= n || nm >= st->msg_cap) {
            rc = TG_EJSON;
            goto fail;
        }
        bg_msg_t *m = &st->msg[nm];
        memset(m, 0, sizeof(*m));
        m->i0 = used;
        if ((rc = bg_book_parse(h, s, m, buf, t, n, k, &bad)) < 0)
            goto fail;
        used += m->n;
        nm++;
        k = feed_jtok_next(t, n, k);
    }
    /* pass 2: apply */
    for (size_t i = 0; i < nm; i++)
        bg_book_apply(h, s, &st->msg[i], snap, full_depth, ts_recv, ts_mono);
    return 0;
fail:
    if (rc == TG_ERESCALE)
        return rc;
    feed_count_error(h->stats, rc);
    bg_log(h, ts_mono, "bad book message, resyncing", rc, buf + (bad >= 0 ? t[bad].start : 0),
           len - (size_t)(bad >= 0 ? t[bad].start : 0));
    if (s->synced || snap)
        bg_gap(h, s, 0, ts_recv, ts_mono);
    return rc;
}

/* One trade element: v1 array [ts, price, size, side], v2 object. */
static int bg_trade_parse(feed_handler_t *h, bg_sym_t *s, bg_item_t *tr, const char *js,
                          const jsmntok_t *t, int n, int k)
{
    int ts, px, sz, sd, id = -1;
    if (t[k].type == JSMN_ARRAY) {
        if (t[k].size < 4 || k + 4 >= n)
            return TG_EFIELD;
        ts = k + 1;
        px = k + 2;
        sz = k + 3;
        sd = k + 4;
    } else if (t[k].type == JSMN_OBJECT) {
        ts = feed_jtok_get(js, t, n, k, "ts");
        px = feed_jtok_get(js, t, n, k, "price");
        sz = feed_jtok_get(js, t, n, k, "size");
        sd = feed_jtok_get(js, t, n, k, "side");
        id = feed_jtok_get(js, t, n, k, "tradeId");
        if (ts < 0 || px < 0 || sz < 0 || sd < 0)
            return TG_EFIELD;
    } else {
        return TG_EFIELD;
    }
    if (t[px].type != JSMN_STRING || t[sz].type != JSMN_STRING)
        return TG_EFIELD;
    int rc;
    if ((rc = feed_dec_px(h, s->id, js + t[px].start, feed_jtok_len(&t[px]), &tr->px)) < 0 ||
        (rc = feed_dec_sz(h, s->id, js + t[sz].start, feed_jtok_len(&t[sz]), &tr->sz)) < 0)
        return rc;
    if (feed_jtok_ms(js, &t[ts], &tr->ts) < 0)
        return TG_EFIELD;
    if (feed_jtok_side(js, &t[sd], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &tr->side) < 0)
        return TG_EFIELD;
    tr->id = 0;
    if (id >= 0) {
        int64_t v;
        if (feed_jtok_i64(js, &t[id], &v) == 0 && v >= 0)
            tr->id = (uint64_t)v;
        else
            tr->id = feed_hash_id(js + t[id].start, feed_jtok_len(&t[id]));
    }
    return 0;
}

static int bg_trades(feed_handler_t *h, bg_sym_t *s, const char *buf, size_t len,
                     const jsmntok_t *t, int n, int data, int64_t ts_recv, int64_t ts_mono)
{
    bg_state_t *st = h->vstate;
    size_t nt = 0;
    int k = data + 1, rc = 0;
    for (int j = 0; j < t[data].size; j++) {
        if (k >= n || nt >= st->it_cap) {
            rc = TG_EJSON;
            break;
        }
        if ((rc = bg_trade_parse(h, s, &st->it[nt], buf, t, n, k)) < 0)
            break;
        nt++;
        k = feed_jtok_next(t, n, k);
    }
    if (rc < 0) {
        if (rc == TG_ERESCALE)
            return rc;
        feed_count_error(h->stats, rc);
        bg_log(h, ts_mono, "bad trade message dropped", rc, buf + (k < n ? t[k].start : 0),
               len - (size_t)(k < n ? t[k].start : 0));
        return rc;
    }
    if (nt == 0) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    /* Bitget lists the newest trade first: emit in time order */
    int rev = nt > 1 && st->it[0].ts > st->it[nt - 1].ts;
    for (size_t i = 0; i < nt; i++) {
        const bg_item_t *tr = &st->it[rev ? nt - 1 - i : i];
        feed_emit_make(h, TG_EV_TRADE, s->id, tr->side, tr->px, tr->sz, 0, tr->id, tr->ts, ts_recv,
                       ts_mono, i + 1 == nt ? TG_EVF_LAST : 0);
    }
    return 0;
}

/* Version of a frame from arg.instType ("sp"/"mc": v1; "SPOT", "USDT-FUTURES": v2), 0 if
 * absent. */
static int bg_api_of(const char *js, const jsmntok_t *t, int n, int arg)
{
    int it = feed_jtok_get(js, t, n, arg, "instType");
    if (it < 0 || t[it].type != JSMN_STRING || feed_jtok_len(&t[it]) == 0)
        return 0;
    return feed_jtok_len(&t[it]) <= 2 ? BG_V1 : BG_V2;
}

static void bg_note_api(bg_state_t *st, int api)
{
    if (api) {
        st->api = api;
        st->api_seen = 1;
    }
}

static int bg_event(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int e, int64_t ts_mono)
{
    bg_state_t *st = h->vstate;
    if (feed_jtok_eq(buf, &t[e], "error")) {
        feed_venue_error(h, buf, len); /* err_venue, logged, kept for /health */
        /* Nothing of this connection arrived yet: the endpoint may speak the other version
         * (a v1 url with v2 subscribes or the reverse). Try the other one, once. */
        if (!st->api_seen && !st->api_switched) {
            st->api_switched = 1;
            st->api = st->api == BG_V1 ? BG_V2 : BG_V1;
            feed_logf(h, FEED_LOG_WARN, "%s: subscribing again with API v%d", h->venue->name,
                      st->api);
            bg_subscribe_all(h);
        }
        return TG_EPROTO;
    }
    int arg = feed_jtok_get(buf, t, n, 0, "arg");
    if (feed_jtok_eq(buf, &t[e], "subscribe") && arg >= 0)
        bg_note_api(st, bg_api_of(buf, t, n, arg));
    TG_STAT_INC(h->stats->unhandled);
    return 0;
}

static int bg_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    bg_state_t *st = h->vstate;
    int e = feed_jtok_get(buf, t, n, 0, "event");
    if (e > 0)
        return bg_event(h, buf, len, t, n, e, ts_mono);
    int arg = feed_jtok_get(buf, t, n, 0, "arg");
    int ch = feed_jtok_get(buf, t, n, arg, "channel");
    if (ch < 0 || t[ch].type != JSMN_STRING) {
        feed_count_error(h->stats, TG_EFIELD);
        bg_log(h, ts_mono, "frame without arg.channel", TG_EFIELD, buf, len);
        return TG_EFIELD;
    }
    const char *cs = buf + t[ch].start;
    size_t cl = feed_jtok_len(&t[ch]);
    int is_book = cl >= 5 && memcmp(cs, "books", 5) == 0;
    int is_trade = feed_jtok_eq(buf, &t[ch], "trade");
    if (!is_book && !is_trade) {
        TG_STAT_INC(h->stats->unhandled); /* ticker, candle1m, ... */
        return 0;
    }
    int inst = feed_jtok_get(buf, t, n, arg, "instId");
    int data = feed_jtok_get(buf, t, n, 0, "data");
    if (inst < 0 || t[inst].type != JSMN_STRING || data < 0 || t[data].type != JSMN_ARRAY) {
        feed_count_error(h->stats, TG_EFIELD);
        bg_log(h, ts_mono, "data frame without instId/data", TG_EFIELD, buf, len);
        return TG_EFIELD;
    }
    int i = feed_slot_find(h, st->slot, buf + t[inst].start, feed_jtok_len(&t[inst]));
    if (i < 0) {
        feed_count_error(h->stats, TG_ESYMBOL);
        bg_log(h, ts_mono, "unknown instId", TG_ESYMBOL, buf, len);
        return TG_ESYMBOL;
    }
    bg_sym_t *s = &st->sym[i];
    int act, snap = feed_book_action(buf, t, n, 0, true, &act);
    if (snap < 0) {
        feed_count_error(h->stats, TG_EFIELD);
        bg_log(h, ts_mono, "unknown action", TG_EFIELD, buf, len);
        if (is_book && s->synced)
            bg_gap(h, s, 0, ts_recv, ts_mono);
        return TG_EFIELD;
    }
    int rc;
    if (is_trade) {
        if (snap) { /* the recent trades replayed on subscribe: history, not new trades */
            TG_STAT_INC(h->stats->unhandled);
            rc = 0;
        } else {
            rc = bg_trades(h, s, buf, len, t, n, data, ts_recv, ts_mono);
        }
    } else {
        int full = cl == 5; /* "books"; books1/5/15 push the whole top N each time */
        rc = bg_book(h, s, buf, len, t, n, data, snap || !full, full, ts_recv, ts_mono);
    }
    if (rc >= 0)
        bg_note_api(st, bg_api_of(buf, t, n, arg));
    return rc;
}

static const feed_vparser_t bg_parser = {bg_frame, JSMN_OBJECT, FEED_VP_PONG};

/* Every frame counts exactly once: in handled, unhandled or one err_* counter (a frame that
 * raised a scale is counted when it is parsed again). */
/* ---- lifecycle ----------------------------------------------------------------------------- */

static void bg_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    (void)symbol;
    (void)depth;
    cfg->px_scale = 8; /* no tick size in-band: feed_dec raises it when a value needs more */
    cfg->sz_scale = 8;
    cfg->depth_limit = 0; /* "books" deletes what it stops covering; books1/5/15 are snapshots */
    cfg->checksum = bg_checksum;
}

/* The state, allocated and freed by the venue base (scratch grows with the tokens). */
static const feed_vspec_t bg_spec = {
    FEED_VSPEC(bg_state_t, BG_TOK_INIT, BG_TOK_MAX),
    .blocks = {FEED_VSCRATCH(bg_state_t, it, 3), FEED_VSCRATCH(bg_state_t, msg, 4)},
    .reset = {FEED_VRESET(bg_sym_t, synced, 0), FEED_VRESET(bg_sym_t, resub, 0),
              FEED_VRESET(bg_sym_t, last_seq, -1)},
};

static int bg_init(feed_handler_t *h)
{
    bg_state_t *st = h->vstate;
    st->api = BG_V2;
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].last_seq = -1;
    return 0;
}

static int bg_on_open(feed_handler_t *h)
{
    bg_state_t *st = h->vstate;
    feed_resync_rebase(h);
    feed_vreset(h);
    for (uint32_t j = 0; j < h->n_instr; j++)
        st->sym[j].px_dp = st->sym[j].sz_dp = 0;
    /* the version learned on the previous connection (v2 at first); an error answer before
     * any data switches once (bg_event) */
    st->api_seen = 0;
    st->api_switched = 0;
    st->win_start = -1;
    st->win_sends = 0;
    st->last_ping = 0;
    return bg_subscribe_all(h);
}

static void bg_on_tick(feed_handler_t *h, int64_t now_mono)
{
    bg_state_t *st = h->vstate;
    if (st->last_ping == 0)
        st->last_ping = now_mono;
    if (now_mono - st->last_ping >= BG_PING_NS) {
        st->last_ping = now_mono;
        feed_send(h, "ping", 4);
        bg_budget(st, now_mono, 0);
        st->win_sends++;
    }
    for (uint32_t i = 0; i < h->n_instr; i++) {
        bg_sym_t *s = &st->sym[i];
        if (feed_resync_due(h, i, now_mono) && !s->resub)
            bg_resubscribe(h, s, now_mono);
        if (s->resub && bg_budget(st, now_mono, 2))
            bg_resubscribe_now(h, s);
    }
}

/* Both ids: one URL (v2; v1 is detected per frame), the same limits and functions. */
#define BG_VENUE_ROW                                                                               \
    .default_url = "wss://ws.bitget.com/v2/ws/public", .max_symbols_per_conn = BG_SYMS_CONN,       \
    .max_sends_per_s = BG_SENDS_S, .instr_defaults = bg_instr_defaults, .state = &bg_spec,         \
    .init = bg_init, FEED_VENUE_PARSE_VCLOSE(bg)

const feed_venue_t feed_venue_bitget = {.name = "bitget", .variant = BG_SPOT, BG_VENUE_ROW};

const feed_venue_t feed_venue_bitget_futures = {
    .name = "bitget-futures", .variant = BG_FUTURES, BG_VENUE_ROW};
