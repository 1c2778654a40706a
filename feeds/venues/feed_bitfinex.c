/* SPDX-License-Identifier: MIT */
/*
 * Bitfinex v2 public websocket (wss://api-pub.bitfinex.com/ws/2) venue handler: trading-pair
 * order books (channel "book", prec P0: aggregated price levels), trades ("te"), heartbeats,
 * "cs" book checksums, connection-wide sequence numbers, info/error events.
 *
 * DESIGN
 * on_open sends {"event":"conf","flags":229376} (OB_CHECKSUM 131072 | SEQ_ALL 65536 |
 * TIMESTAMP 32768) first, then one subscribe per channel (book P0/F0/len, trades). Channel ids
 * map to instruments through the "subscribed" events (book/trades of one of our symbols; any
 * other channel, e.g. a ticker, is tracked for its sequence numbers only).
 * Channel frames are arrays [chanId, payload..., SEQ?, TS?]: the payload is one array
 * (book snapshot / update, trade snapshot, ticker) or a string with its data ("te", "tu", "cs";
 * "hb" has none). The trailing elements are read with the flags the venue acknowledged in its
 * "conf" answer ({"event":"conf","status":"OK","flags":N}; without an answer none): SEQ_ALL adds
 * the sequence number (required), TIMESTAMP then a ms time (used when present). Bitfinex
 * numbers every channel frame of the connection (heartbeats and tickers included) 1, 2, 3...:
 * a frame whose number does not follow is a gap: TG_EV_GAP for every book (seq = last number, u.aux
 * = the number received), all books unsynced, h->reconnect() (a fresh connection is the only way to
 * get the numbering back). Books: a snapshot (array of [price, count, amount]) replaces the book;
 * an update [price, count, amount] sets the level (amount > 0 bid, < 0 ask; size = |amount|), count
 * 0 deletes it (amount 1 bid, -1 ask). Updates before the snapshot are dropped (stale_dropped).
 * ["cs", checksum] frames (OB_CHECKSUM) become a TG_EV_CHECKSUM message that the builder checks
 * with bf_checksum(): CRC-32 of the top 25 levels "bidPx:bidAmt:askPx:-askAmt:..." with the
 * numbers printed as Bitfinex prints them (JavaScript Number#toString: shortest form, exponent
 * below 1e-6, "1e-7", "2.5e-7"), as a signed int32 on the wire. Without the flags (the recording)
 * there are neither checksums nor sequence numbers and the handler runs the same way.
 * Trades: "te" (trade executed) is counted, "tu" (the same trade, a moment later, with its final
 * id) is not; the trade snapshot sent on subscribe is history and is not counted.
 * A book message that does not parse (any number) emits nothing but TG_EV_GAP for its book and a
 * resubscribe (unsubscribe chanId + subscribe); every number of a frame is parsed (feed_dec) before
 * any state changes, so a TG_ERESCALE re-parse leaves no trace.
 * Info 20051 (server restart) and 20061 (maintenance ended) reconnect; 20060 (maintenance
 * started) marks every book STALE until the reconnect that 20061 brings.
 * Thread: feed:bitfinex (everything here); bf_checksum runs on the book thread.
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
#include "venues.h"

#define BF_FLAG_TIMESTAMP 32768
#define BF_FLAG_SEQ_ALL   65536
#define BF_FLAG_CHECKSUM  131072
#define BF_FLAGS          (BF_FLAG_TIMESTAMP | BF_FLAG_SEQ_ALL | BF_FLAG_CHECKSUM)
#define BF_CK_LEVELS      25
#define BF_TOK_INIT       2048
#define BF_TOK_MAX        (1 << 18)
#define BF_MAX_EL         8 /* elements of a channel frame we look at */
#define BF_MS_MAX         9223372036854LL

enum { BF_CH_FREE = 0, BF_CH_BOOK, BF_CH_TRADES, BF_CH_OTHER };

typedef struct bf_chan {
    int64_t id;
    uint8_t kind;
    uint8_t dead; /* resubscribed: frames still arriving on it are dropped */
    int32_t sym;  /* index in st->sym, -1 for other channels */
} bf_chan_t;

typedef struct bf_sym {
    uint32_t id;
    uint8_t synced;
} bf_sym_t;

typedef struct bf_state {
    feed_jtok_t jt;
    feed_ratelim_t rl;
    bf_sym_t *sym;
    uint16_t *slot;
    bf_chan_t *ch;
    uint32_t n_ch, cap_ch;
    feed_level_t *lv;
    size_t lv_cap;
    unsigned flags; /* flags the venue acknowledged on this connection */
    int64_t seq;    /* last sequence number, -1 none yet */
    int seq_broken; /* a gap was seen: numbers ignored until the reconnect */
    unsigned len;   /* book len subscribed: 25, 100 or 250 */
} bf_state_t;

#define bf_log(h, now, what, rc, buf, len)                                                         \
    feed_log_frame((h), &((bf_state_t *)(h)->vstate)->rl, (now), FEED_LOG_WARN, (what), (rc),      \
                   (buf), (len))

/* ---- checksum (book thread) ---------------------------------------------------------------- */

/* v at scale as JavaScript's Number#toString prints that decimal: the shortest exact form, and
 * below 1e-6 the exponent form "d[.ddd]e-N". out: at least TG_DEC_STR_MAX + 8 bytes. */
static size_t bf_js_num(int64_t v, int scale, char *out)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (a == 0 || scale < 7 || scale > TG_DEC_SCALE_MAX || a >= (uint64_t)tg_dec_pow10[scale - 6])
        return tg_dec_format(v, scale, out);
    char dg[24];
    int k = snprintf(dg, sizeof(dg), "%llu", (unsigned long long)a);
    int e = scale - (k - 1); /* value = d.ddd x 10^-e */
    while (k > 1 && dg[k - 1] == '0')
        k--;
    size_t n = 0;
    if (v < 0)
        out[n++] = '-';
    out[n++] = dg[0];
    if (k > 1) {
        out[n++] = '.';
        memcpy(out + n, dg + 1, (size_t)k - 1);
        n += (size_t)k - 1;
    }
    n += (size_t)snprintf(out + n, 8, "e-%d", e);
    return n;
}

/* Bitfinex book checksum text over the given levels (best first). Returns the CRC-32. */
static uint32_t bf_checksum_levels(const tg_level_t *b, size_t nb, const tg_level_t *a, size_t na,
                                   int px_scale, int sz_scale)
{
    char text[BF_CK_LEVELS * 4 * (TG_DEC_STR_MAX + 10)];
    size_t n = 0;
    for (size_t i = 0; i < BF_CK_LEVELS; i++) {
        if (i < nb) {
            n += bf_js_num(b[i].price, px_scale, text + n);
            text[n++] = ':';
            n += bf_js_num(b[i].size, sz_scale, text + n);
            text[n++] = ':';
        }
        if (i < na) {
            n += bf_js_num(a[i].price, px_scale, text + n);
            text[n++] = ':';
            n += bf_js_num(-a[i].size, sz_scale, text + n);
            text[n++] = ':';
        }
    }
    if (n)
        n--; /* the last ':' */
    return feed_crc32(0, text, n);
}

/* tg_checksum_fn of Bitfinex instruments (no formatting hints needed). */
static uint32_t bf_checksum(const struct book_l2 *book, const struct tg_instr *in,
                            const tg_event_t *ck)
{
    (void)ck;
    tg_level_t b[BF_CK_LEVELS], a[BF_CK_LEVELS];
    size_t nb = book_l2_top(book, TG_SIDE_BID, b, BF_CK_LEVELS);
    size_t na = book_l2_top(book, TG_SIDE_ASK, a, BF_CK_LEVELS);
    return bf_checksum_levels(b, nb, a, na, in->px_scale, in->sz_scale);
}

/* ---- channels ------------------------------------------------------------------------------ */

static bf_chan_t *bf_chan_find(bf_state_t *st, int64_t id)
{
    for (uint32_t i = 0; i < st->n_ch; i++)
        if (st->ch[i].kind != BF_CH_FREE && st->ch[i].id == id)
            return &st->ch[i];
    return NULL;
}

static bf_chan_t *bf_chan_add(bf_state_t *st, int64_t id)
{
    bf_chan_t *c = bf_chan_find(st, id);
    if (c)
        return c;
    for (uint32_t i = 0; i < st->n_ch; i++)
        if (st->ch[i].kind == BF_CH_FREE)
            return &st->ch[i];
    if (st->n_ch == st->cap_ch) {
        uint32_t nc = st->cap_ch * 2;
        bf_chan_t *n = realloc(st->ch, nc * sizeof(*n));
        if (!n)
            return NULL;
        st->ch = n;
        st->cap_ch = nc;
    }
    return &st->ch[st->n_ch++];
}

static int bf_send_book_sub(feed_handler_t *h, uint32_t i)
{
    bf_state_t *st = h->vstate;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
    if (!in || !feed_json_safe(in->symbol))
        return 0;
    char msg[256];
    int n = snprintf(msg, sizeof(msg),
                     "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":"
                     "\"P0\",\"freq\":\"F0\",\"len\":\"%u\"}",
                     in->symbol, st->len);
    return feed_send(h, msg, (size_t)n);
}

/* Drop one book and subscribe to it again (a fresh snapshot follows). */
static void bf_resubscribe(feed_handler_t *h, uint32_t i)
{
    bf_state_t *st = h->vstate;
    TG_STAT_INC(h->stats->resyncs);
    st->sym[i].synced = 0;
    int rc = 0;
    for (uint32_t k = 0; k < st->n_ch && rc >= 0; k++) {
        bf_chan_t *c = &st->ch[k];
        if (c->kind != BF_CH_BOOK || c->sym != (int32_t)i || c->dead)
            continue;
        c->dead = 1;
        char msg[96];
        int n = snprintf(msg, sizeof(msg), "{\"event\":\"unsubscribe\",\"chanId\":%lld}",
                         (long long)c->id);
        rc = feed_send(h, msg, (size_t)n);
    }
    if (rc >= 0)
        rc = bf_send_book_sub(h, i);
    if (rc < 0 && h->reconnect)
        h->reconnect(h->tctx, "bitfinex: resubscribe failed");
}

static void bf_gap_one(feed_handler_t *h, uint32_t i, int64_t ts_recv, int64_t ts_mono)
{
    bf_state_t *st = h->vstate;
    feed_emit_make(h, TG_EV_GAP, st->sym[i].id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    bf_resubscribe(h, i);
}

/* Sequence numbers broken: every book to GAP, reconnect. */
static void bf_seq_gap(feed_handler_t *h, int64_t got, int64_t ts_recv, int64_t ts_mono)
{
    bf_state_t *st = h->vstate;
    uint64_t last = st->seq > 0 ? (uint64_t)st->seq : 0;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        feed_emit_make(h, TG_EV_GAP, st->sym[i].id, 0, 0, 0, last, got > 0 ? (uint64_t)got : 0, 0,
                       ts_recv, ts_mono, TG_EVF_LAST);
        st->sym[i].synced = 0;
    }
    TG_STAT_INC(h->stats->gaps);
    TG_STAT_INC(h->stats->resyncs);
    st->seq_broken = 1;
    feed_logf_limited(h, &st->rl, ts_mono, FEED_LOG_WARN,
                      "bitfinex: sequence gap (last %lld, got %lld): reconnecting",
                      (long long)st->seq, (long long)got);
    if (h->reconnect)
        h->reconnect(h->tctx, "bitfinex: sequence gap");
}

/* ---- events (objects) ---------------------------------------------------------------------- */

static int bf_event(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int ev,
                    int64_t ts_recv, int64_t ts_mono)
{
    bf_state_t *st = h->vstate;
    if (feed_jtok_eq(js, &t[ev], "error"))
        return TG_EPROTO;
    if (feed_jtok_eq(js, &t[ev], "conf")) {
        int s = feed_jtok_get(js, t, n, 0, "status"), f = feed_jtok_get(js, t, n, 0, "flags");
        if (s < 0 || !feed_jtok_eq(js, &t[s], "OK"))
            return TG_EPROTO;
        int64_t fl = BF_FLAGS;
        if (f >= 0 && (feed_jtok_i64(js, &t[f], &fl) < 0 || fl < 0))
            return TG_EFIELD;
        st->flags = (unsigned)fl & BF_FLAGS;
        return 1;
    }
    if (feed_jtok_eq(js, &t[ev], "subscribed")) {
        int c = feed_jtok_get(js, t, n, 0, "channel"), id = feed_jtok_get(js, t, n, 0, "chanId");
        int sy = feed_jtok_get(js, t, n, 0, "symbol"), pr = feed_jtok_get(js, t, n, 0, "prec");
        int64_t cid;
        if (c < 0 || id < 0 || feed_jtok_i64(js, &t[id], &cid) < 0)
            return TG_EFIELD;
        uint8_t kind = BF_CH_OTHER;
        int32_t si = -1;
        if (sy >= 0 && t[sy].type == JSMN_STRING)
            si = feed_slot_find(h, st->slot, js + t[sy].start, feed_jtok_len(&t[sy]));
        if (si >= 0 && feed_jtok_eq(js, &t[c], "book") &&
            (pr < 0 || feed_jtok_eq(js, &t[pr], "P0")))
            kind = BF_CH_BOOK;
        else if (si >= 0 && feed_jtok_eq(js, &t[c], "trades"))
            kind = BF_CH_TRADES;
        bf_chan_t *ch = bf_chan_add(st, cid);
        if (!ch)
            return -ENOMEM;
        ch->id = cid;
        ch->kind = kind;
        ch->dead = 0;
        ch->sym = kind == BF_CH_OTHER ? -1 : si;
        if (kind == BF_CH_BOOK)
            st->sym[si].synced = 0; /* its snapshot comes next */
        return 1;
    }
    if (feed_jtok_eq(js, &t[ev], "unsubscribed")) {
        int id = feed_jtok_get(js, t, n, 0, "chanId");
        int64_t cid;
        if (id < 0 || feed_jtok_i64(js, &t[id], &cid) < 0)
            return TG_EFIELD;
        bf_chan_t *ch = bf_chan_find(st, cid);
        if (ch)
            ch->kind = BF_CH_FREE;
        return 1;
    }
    if (feed_jtok_eq(js, &t[ev], "info")) {
        int c = feed_jtok_get(js, t, n, 0, "code");
        int64_t code = 0;
        if (c < 0)
            return 0; /* the greeting {"event":"info","version":2,...} */
        if (feed_jtok_i64(js, &t[c], &code) < 0)
            return TG_EFIELD;
        if (code == 20051 || code == 20061) {
            feed_logf(h, FEED_LOG_WARN, "bitfinex: info %lld (%s): reconnecting", (long long)code,
                      code == 20051 ? "server restart" : "maintenance ended");
            if (h->reconnect)
                h->reconnect(h->tctx, "bitfinex: venue asked for a reconnect");
            return 1;
        }
        if (code == 20060) {
            feed_logf(h, FEED_LOG_WARN, "bitfinex: info 20060: maintenance, books stale");
            for (uint32_t i = 0; i < h->n_instr; i++) {
                feed_emit_make(h, TG_EV_STALE, st->sym[i].id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono,
                               TG_EVF_LAST);
                st->sym[i].synced = 0;
            }
            return 1;
        }
        return 0;
    }
    return 0; /* pong and anything else */
}

/* ---- channel frames ------------------------------------------------------------------------ */

static int bf_int(const char *js, const jsmntok_t *t, int64_t *v)
{
    return t->type == JSMN_PRIMITIVE ? feed_jtok_i64(js, t, v) : TG_EFIELD;
}

/* One [price, count, amount] entry into l. @return 0, 1 (count 0 in a snapshot: skip), error */
static int bf_entry(feed_handler_t *h, uint32_t instr, const char *js, const jsmntok_t *t, int n,
                    int k, feed_level_t *l)
{
    if (k + 3 >= n || t[k].type != JSMN_ARRAY || t[k].size != 3)
        return TG_EFIELD;
    const jsmntok_t *p = &t[k + 1], *c = &t[k + 2], *a = &t[k + 3];
    if (p->type != JSMN_PRIMITIVE || a->type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    int64_t cnt, amt;
    int rc;
    if ((rc = bf_int(js, c, &cnt)) < 0 || cnt < 0)
        return TG_EFIELD;
    if ((rc = feed_dec_px(h, instr, js + p->start, feed_jtok_len(p), &l->px)) < 0)
        return rc;
    if (l->px == 0)
        return TG_EFIELD;
    if ((rc = feed_dec(h, instr, FEED_DEC_SZ | FEED_DEC_SIGNED, js + a->start, feed_jtok_len(a),
                       &amt)) < 0)
        return rc;
    if (amt == 0)
        return TG_EFIELD;
    l->side = amt > 0 ? TG_SIDE_BID : TG_SIDE_ASK;
    l->sz = cnt == 0 ? 0 : (amt > 0 ? amt : -amt);
    return 0;
}

typedef struct bf_msg {
    int64_t seq, ts;
    int have_seq;
} bf_msg_t;

/* Book payload at token b: parse into st->lv. *snap: 1 snapshot. @return count or error. */
static int bf_book_parse(feed_handler_t *h, uint32_t instr, const char *js, const jsmntok_t *t,
                         int n, int b, int *snap)
{
    bf_state_t *st = h->vstate;
    size_t nl = 0;
    int rc;
    if (t[b].size == 0 || (b + 1 < n && t[b + 1].type == JSMN_ARRAY)) {
        *snap = 1;
        int k = b + 1;
        for (int m = 0; m < t[b].size; m++) {
            if (k >= n || nl >= st->lv_cap)
                return TG_EFIELD;
            if ((rc = bf_entry(h, instr, js, t, n, k, &st->lv[nl])) < 0)
                return rc;
            if (st->lv[nl].sz != 0)
                nl++;
            k = feed_jtok_next(t, n, k);
        }
        return (int)nl;
    }
    *snap = 0;
    if ((rc = bf_entry(h, instr, js, t, n, b, &st->lv[0])) < 0)
        return rc;
    return 1;
}

static void bf_book_emit(feed_handler_t *h, uint32_t i, int snap, int nl, const bf_msg_t *m,
                         int64_t ts_recv, int64_t ts_mono)
{
    bf_state_t *st = h->vstate;
    bf_sym_t *s = &st->sym[i];
    uint64_t seq = m->have_seq && m->seq > 0 ? (uint64_t)m->seq : 0;
    if (snap)
        s->synced = 1;
    feed_emit_book(h, s->id, snap, seq, st->lv, (size_t)nl, m->ts, ts_recv, ts_mono);
}

static int bf_channel(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int64_t ts_recv,
                      int64_t ts_mono)
{
    bf_state_t *st = h->vstate;
    int el[BF_MAX_EL], ne = 0;
    for (int k = 1; k < n && ne < BF_MAX_EL && ne < t[0].size; k = feed_jtok_next(t, n, k))
        el[ne++] = k;
    int64_t cid;
    if (ne < 2 || bf_int(js, &t[el[0]], &cid) < 0)
        return TG_EFIELD;
    bf_chan_t *ch = bf_chan_find(st, cid);
    /* payload: one array, or a string and (except "hb") its data */
    const jsmntok_t *p1 = &t[el[1]];
    int tr, kind; /* first trailing element; what the payload is */
    enum { P_ARRAY, P_HB, P_CS, P_TE, P_TU, P_OTHER };
    if (p1->type == JSMN_ARRAY) {
        kind = P_ARRAY;
        tr = 2;
    } else if (p1->type == JSMN_STRING) {
        if (feed_jtok_eq(js, p1, "hb")) {
            kind = P_HB;
            tr = 2;
        } else {
            kind = feed_jtok_eq(js, p1, "cs")   ? P_CS
                   : feed_jtok_eq(js, p1, "te") ? P_TE
                   : feed_jtok_eq(js, p1, "tu") ? P_TU
                                                : P_OTHER;
            if (ne < 3)
                return TG_EFIELD;
            tr = 3;
        }
    } else {
        return TG_EFIELD;
    }
    bf_msg_t m = {0};
    if (st->flags & BF_FLAG_SEQ_ALL) {
        if (ne <= tr || bf_int(js, &t[el[tr]], &m.seq) < 0)
            return TG_EFIELD;
        m.have_seq = 1;
        tr++;
    }
    if ((st->flags & BF_FLAG_TIMESTAMP) && ne > tr) { /* optional: not every frame has one */
        int64_t ms;
        if (bf_int(js, &t[el[tr]], &ms) < 0 || ms < 0 || ms > BF_MS_MAX)
            return TG_EFIELD;
        m.ts = ms * 1000000;
    }
    int use = ch && !ch->dead && (ch->kind == BF_CH_BOOK || ch->kind == BF_CH_TRADES);
    uint32_t si = use ? (uint32_t)ch->sym : 0;
    uint32_t instr = use ? st->sym[si].id : 0;
    /* parse the payload completely before any state changes */
    int rc = 0, snap = 0, nl = 0;
    int64_t ck = 0, tid = 0, tms = 0;
    feed_level_t trade = {0};
    if (use && ch->kind == BF_CH_BOOK && kind == P_ARRAY) {
        rc = bf_book_parse(h, instr, js, t, n, el[1], &snap);
        nl = rc > 0 ? rc : 0;
    } else if (use && ch->kind == BF_CH_BOOK && kind == P_CS) {
        if (bf_int(js, &t[el[2]], &ck) < 0 || ck < INT32_MIN || ck > (int64_t)UINT32_MAX)
            rc = TG_EFIELD;
    } else if (use && ch->kind == BF_CH_TRADES && kind == P_TE) {
        int d = el[2];
        if (t[d].type != JSMN_ARRAY || t[d].size < 4 || d + 4 >= n) {
            rc = TG_EFIELD;
        } else {
            int64_t amt;
            if (bf_int(js, &t[d + 1], &tid) < 0 || tid < 0 || bf_int(js, &t[d + 2], &tms) < 0 ||
                tms < 0 || tms > BF_MS_MAX || t[d + 3].type != JSMN_PRIMITIVE ||
                t[d + 4].type != JSMN_PRIMITIVE)
                rc = TG_EFIELD;
            else if ((rc = feed_dec(h, instr, FEED_DEC_SZ | FEED_DEC_SIGNED, js + t[d + 3].start,
                                    feed_jtok_len(&t[d + 3]), &amt)) == 0 &&
                     (rc = feed_dec_px(h, instr, js + t[d + 4].start, feed_jtok_len(&t[d + 4]),
                                       &trade.px)) == 0) {
                if (amt == 0 || trade.px == 0)
                    rc = TG_EFIELD;
                trade.side = amt > 0 ? TG_SIDE_BUY : TG_SIDE_SELL;
                trade.sz = amt > 0 ? amt : -amt;
            }
        }
    }
    if (rc == TG_ERESCALE)
        return rc;
    /* sequence: every channel frame of the connection is numbered */
    if (m.have_seq && !st->seq_broken) {
        if (st->seq >= 0 && m.seq != st->seq + 1) {
            bf_seq_gap(h, m.seq, ts_recv, ts_mono);
            return 1;
        }
        st->seq = m.seq;
    }
    if (rc < 0) {
        if (use && ch->kind == BF_CH_BOOK && st->sym[si].synced)
            bf_gap_one(h, si, ts_recv, ts_mono);
        return rc;
    }
    if (!ch) /* a channel we never subscribed (or already unsubscribed) */
        return 0;
    if (ch->dead || (ch->kind == BF_CH_BOOK && st->seq_broken)) {
        if (ch->kind == BF_CH_BOOK && kind != P_HB) {
            TG_STAT_INC(h->stats->stale_dropped);
            return 1;
        }
        return 0;
    }
    if (ch->kind == BF_CH_BOOK) {
        bf_sym_t *s = &st->sym[si];
        if (kind == P_ARRAY) {
            if (!snap && !s->synced) {
                TG_STAT_INC(h->stats->stale_dropped);
                return 1;
            }
            bf_book_emit(h, si, snap, nl, &m, ts_recv, ts_mono);
            return 1;
        }
        if (kind == P_CS) {
            if (!s->synced) {
                TG_STAT_INC(h->stats->stale_dropped);
                return 1;
            }
            feed_emit_make(h, TG_EV_CHECKSUM, s->id, 0, 0, 0, m.have_seq ? (uint64_t)m.seq : 0,
                           (uint32_t)(int32_t)ck, m.ts, ts_recv, ts_mono, TG_EVF_LAST);
            TG_STAT_INC(h->stats->checksum_msgs);
            return 1;
        }
        return 0;
    }
    if (ch->kind == BF_CH_TRADES && kind == P_TE) {
        feed_emit_make(h, TG_EV_TRADE, instr, trade.side, trade.px, trade.sz,
                       m.have_seq ? (uint64_t)m.seq : 0, (uint64_t)tid, tms * 1000000, ts_recv,
                       ts_mono, TG_EVF_LAST);
        return 1;
    }
    return 0; /* "tu", the trade snapshot, heartbeats, tickers */
}

/* @return 1 handled, 0 unhandled, or an error (counted by the caller). */
static int bf_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    if (t[0].type == JSMN_OBJECT) {
        int ev = feed_jtok_get(buf, t, n, 0, "event");
        if (ev < 0)
            return TG_EFIELD;
        return bf_event(h, buf, t, n, ev, ts_recv, ts_mono);
    }
    if (t[0].type == JSMN_ARRAY)
        return bf_channel(h, buf, t, n, ts_recv, ts_mono);
    return TG_EJSON;
}

static const feed_vparser_t bf_parser = {bf_frame, JSMN_UNDEFINED, 0};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static unsigned bf_len(uint32_t depth)
{
    return depth == 0 || depth <= 25 ? 25 : depth <= 100 ? 100 : 250;
}

static void bf_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    (void)symbol;
    (void)depth;
    cfg->px_scale = 8; /* no metadata in-band: feed_dec raises the scales when needed */
    cfg->sz_scale = 8;
    cfg->depth_limit = 0; /* Bitfinex deletes every level that leaves the len window */
    cfg->checksum = bf_checksum;
}

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens;
 * init sizes the channel table to the symbols). */
static const feed_vspec_t bf_spec = {
    FEED_VSPEC_RL(bf_state_t, BF_TOK_INIT, BF_TOK_MAX, 20, FEED_LOG_PERIOD_10S),
    .blocks = {FEED_VSCRATCH(bf_state_t, lv, 3), FEED_VBLOCK(bf_state_t, ch, 0)},
    .reset = {FEED_VRESET(bf_sym_t, synced, 0)},
};

static int bf_init(feed_handler_t *h)
{
    bf_state_t *st = h->vstate;
    st->len = bf_len(h->depth);
    st->cap_ch = 2 * h->n_instr + 16;
    st->ch = calloc(st->cap_ch, sizeof(*st->ch));
    return st->ch ? 0 : -ENOMEM;
}

static int bf_on_open(feed_handler_t *h)
{
    bf_state_t *st = h->vstate;
    feed_resync_rebase(h);
    st->flags = 0;
    st->seq = -1;
    st->seq_broken = 0;
    st->n_ch = 0;
    feed_vreset(h);
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "{\"event\":\"conf\",\"flags\":%d}", BF_FLAGS);
    int rc = feed_send(h, msg, (size_t)n);
    for (uint32_t i = 0; i < h->n_instr && rc >= 0; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || !feed_json_safe(in->symbol)) {
            feed_logf(h, FEED_LOG_ERROR, "bitfinex: instrument %u skipped (unusable name)",
                      h->instr[i]);
            continue;
        }
        if (h->channels & FEED_CH_BOOK)
            rc = bf_send_book_sub(h, i);
        if (rc >= 0 && (h->channels & FEED_CH_TRADES)) {
            n = snprintf(msg, sizeof(msg),
                         "{\"event\":\"subscribe\",\"channel\":\"trades\",\"symbol\":\"%s\"}",
                         in->symbol);
            rc = feed_send(h, msg, (size_t)n);
        }
    }
    return rc < 0 ? rc : 0;
}

static void bf_on_tick(feed_handler_t *h, int64_t now_mono)
{
    for (uint32_t i = 0; feed_resync_next(h, &i, now_mono); i++)
        bf_resubscribe(h, i);
}

const feed_venue_t feed_venue_bitfinex = {
    .name = "bitfinex",
    .default_url = "wss://api-pub.bitfinex.com/ws/2",
    /* Bitfinex: 30 public channel subscriptions per connection (book + trades = 2 per
     * symbol); no published limit on messages per second (20 connections per minute). */
    .max_symbols_per_conn = 15,
    FEED_VENUE_STATE(bf, bf_instr_defaults),
    FEED_VENUE_TALLY_VCLOSE(bf),
};
