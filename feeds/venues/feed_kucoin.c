/* SPDX-License-Identifier: MIT */
/*
 * KuCoin spot websocket venue handler: /market/level2:<symbols> ("trade.l2update") synchronised
 * with the REST snapshot GET /api/v1/market/orderbook/level2_100?symbol=<S>, and
 * /market/match:<symbols> ("trade.l3match") trades.
 *
 * DESIGN
 * Connect: KuCoin hands out its websocket URL and a token through POST /api/v1/bullet-public
 * (feed_kucoin.h); the transport must make that request before each connect and call
 * feed_kucoin_on_bullet(), which also keeps the pingInterval. Frames: {"type":"welcome"|"ack"|
 * "pong"|"error"|"message",...}; messages carry "topic", "subject" and "data".
 * Sync per symbol, as KuCoin documents it ("Level 2 market data, calibration procedure"):
 *   WAIT  no snapshot: l2updates are buffered (stamped tg_event_t runs, each change with its
 *         own sequence in .seq; one bounded buffer per connection, the oldest message evicted
 *         when full and counted in stale_dropped); the first buffered one requests the REST
 *         snapshot (level2_100: the public one; the full book needs an API key).
 *   snapshot sequence S in WAIT: if the first buffered update with sequenceEnd > S starts
 *         after S + 1, updates are missing between the snapshot and the buffer: another
 *         snapshot is requested. Otherwise TG_EV_BOOK_CLEAR (seq = S) + levels
 *         (SNAPSHOT|REST), then the buffered updates are replayed through the rules below.
 *   synced, last sequence L: sequenceEnd <= L: dropped (stale_dropped); sequenceStart > L + 1:
 *         GAP; otherwise the changes whose own sequence is > L are applied (a straddling
 *         update applies only its newer part), L = sequenceEnd. A change with price "0" only
 *         advances the sequence (KuCoin: "ignore the message and update the sequence");
 *         size "0" deletes.
 *   GAP   TG_EV_GAP (seq = L, u.aux = sequenceStart received), gaps++, state WAIT with the
 *         breaking update buffered, new snapshot requested (resyncs++).
 * A book message that cannot be read completely emits nothing; a synced book gets a GAP.
 * Every number of a message is parsed (feed_dec) before any state changes (TG_ERESCALE).
 * Trades: side = taker side, tradeId -> u.trade_id (the number when it is all digits, else
 * FNV-1a), data.time in ns, data.sequence in seq.
 * Subscribes: one topic per channel listing up to 100 symbols (KuCoin: at most 100 topics per
 * subscribe message, 300 per connection, 100 client messages per 10 s), paced by
 * max_sends_per_s. Ping {"id":"<n>","type":"ping"} every pingInterval (18 s by default).
 * Thread: feed:kucoin (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/feed_sync.h"
#include "feed_kucoin.h"
#include "feed_venue_base.h"
#include "feed_venue_util.h"
#include "venues.h"

#define KC_TOK_INIT     4096
#define KC_TOK_MAX      (1 << 20)
#define KC_PING_MS      18000u /* default pingInterval */
#define KC_SYMS_PER_SUB 100    /* KuCoin: max 100 topics per subscribe (comma list) */
#define KC_TOPICS_MAX   300    /* KuCoin: max 300 topics per connection */
#define KC_SENDS_PS     10     /* KuCoin: 100 client messages per 10 s */
#define KC_BOOK_TOPIC   "/market/level2:"
#define KC_MATCH_TOPIC  "/market/match:"

/* Symbol steps (feed_rsym_t.state; .last: the sequence of the book). */
enum { KC_WAIT = FEED_RSYM_WAIT, KC_LIVE = 1 };

typedef struct kc_lvl {
    feed_level_t l; /* price, size, side (feed_rsv_snapshot reads them) */
    uint64_t seq;
} kc_lvl_t;

typedef struct kc_state {
    feed_jtok_t jt;
    kc_lvl_t *lv;
    size_t lv_cap;
    tg_event_t *ev; /* one update's events (scratch, as many as lv) */
    size_t ev_cap;
    feed_rsync_t rs; /* diffs waiting for a snapshot, REST generation, subscribe/ping */
    feed_rsym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    uint32_t ping_ms; /* from the bullet answer */
    uint64_t msg_id;  /* ids of our messages */
} kc_state_t;

#define kc_lookup(h, s, n) ((feed_rsym_t *)feed_vsym_find((h), (s), (n)))

static bool kc_name_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* An unsigned integer given as a number or a string of digits. */
static int kc_u64(const char *js, const jsmntok_t *t, uint64_t *v)
{
    if (t->type == JSMN_PRIMITIVE)
        return feed_jtok_u64(js, t, v);
    if (t->type != JSMN_STRING)
        return TG_EFIELD;
    jsmntok_t p = *t;
    p.type = JSMN_PRIMITIVE;
    return feed_jtok_u64(js, &p, v);
}

/* ---- connect step (bullet-public) ---- */

static bool kc_url_safe(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '&' || c == '#')
            return false;
    }
    return true;
}

static int kc_copy(const char *js, const jsmntok_t *t, char *dst, size_t cap)
{
    size_t n = feed_jtok_len(t);
    if (t->type != JSMN_STRING || n == 0 || n >= cap || !kc_url_safe(js + t->start, n))
        return TG_EFIELD;
    memcpy(dst, js + t->start, n);
    dst[n] = 0;
    return 0;
}

int feed_kucoin_bullet_parse(const char *body, size_t len, feed_kucoin_bullet_t *out)
{
    feed_jtok_t jt;
    if (feed_jtok_init(&jt, 256, 1 << 14) < 0)
        return -ENOMEM;
    int rc = TG_EJSON;
    int n = feed_jtok_parse(&jt, body, len);
    const jsmntok_t *t = jt.t;
    if (n < 0 || t[0].type != JSMN_OBJECT)
        goto out;
    rc = TG_EPROTO;
    int ci = feed_jtok_get(body, t, n, 0, "code");
    if (ci < 0 || !feed_jtok_eq(body, &t[ci], "200000"))
        goto out;
    rc = TG_EFIELD;
    int di = feed_jtok_get(body, t, n, 0, "data");
    int ti = feed_jtok_get(body, t, n, di, "token");
    int si = feed_jtok_get(body, t, n, di, "instanceServers");
    if (ti < 0 || si < 0 || t[si].type != JSMN_ARRAY || t[si].size < 1)
        goto out;
    int s0 = si + 1;
    int ei = feed_jtok_get(body, t, n, s0, "endpoint");
    int pi = feed_jtok_get(body, t, n, s0, "pingInterval");
    int oi = feed_jtok_get(body, t, n, s0, "pingTimeout");
    feed_kucoin_bullet_t b;
    memset(&b, 0, sizeof(b));
    if (ei < 0 || kc_copy(body, &t[ti], b.token, sizeof(b.token)) < 0 ||
        kc_copy(body, &t[ei], b.endpoint, sizeof(b.endpoint)) < 0 ||
        (strncmp(b.endpoint, "wss://", 6) != 0 && strncmp(b.endpoint, "ws://", 5) != 0))
        goto out;
    uint64_t v;
    b.ping_ms = KC_PING_MS;
    if (pi >= 0) {
        if (kc_u64(body, &t[pi], &v) < 0 || v == 0 || v > 3600000)
            goto out;
        b.ping_ms = (uint32_t)v;
    }
    if (oi >= 0) {
        if (kc_u64(body, &t[oi], &v) < 0 || v > 3600000)
            goto out;
        b.ping_timeout_ms = (uint32_t)v;
    }
    *out = b;
    rc = 0;
out:
    feed_jtok_deinit(&jt);
    return rc;
}

int feed_kucoin_connect_url(const feed_kucoin_bullet_t *b, const char *connect_id, char *url,
                            size_t cap)
{
    int n = snprintf(url, cap, "%s%stoken=%s&connectId=%s", b->endpoint,
                     strchr(b->endpoint, '?') ? "&" : "?", b->token, connect_id);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int feed_kucoin_on_bullet(feed_handler_t *h, int status, const char *body, size_t len, char *url,
                          size_t cap)
{
    kc_state_t *st = h->vstate;
    if (status != 200) {
        feed_logf(h, FEED_LOG_WARN, "kucoin: bullet-public failed (status %d)", status);
        return TG_EPROTO;
    }
    feed_kucoin_bullet_t b;
    int rc = feed_kucoin_bullet_parse(body, len, &b);
    if (rc < 0) {
        feed_logf(h, FEED_LOG_WARN, "kucoin: bad bullet-public answer (%s)", tg_strerror(rc));
        return rc;
    }
    st->ping_ms = b.ping_ms;
    char cid[32];
    snprintf(cid, sizeof(cid), "tg%u", st->rs.gen + 1);
    return feed_kucoin_connect_url(&b, cid, url, cap);
}

/* Buffer an update of s in WAIT (events stamped: kept across frames; .seq = each change's). */
static void kc_pend_add(feed_handler_t *h, feed_rsym_t *s, uint64_t start, uint64_t end,
                        int64_t ts_exch, const kc_lvl_t *lv, size_t nl, int64_t ts_recv,
                        int64_t ts_mono)
{
    kc_state_t *st = h->vstate;
    tg_event_t *ev =
        feed_pend_add(h, &st->rs.pb, (uint16_t)(s - st->sym), start, end, ts_exch, (uint32_t)nl);
    for (size_t i = 0; ev && i < nl; i++) {
        ev[i] = feed_event(TG_EV_LEVEL, s->id, lv[i].l.side, lv[i].l.px, lv[i].l.sz, lv[i].seq, 0,
                           ts_exch, ts_recv, ts_mono, 0);
        feed_stamp(h, &ev[i]);
    }
}

/* ---- sync ---- */

/* feed_rsync_path_fn: the REST path of in's book snapshot. */
static int kc_path(feed_handler_t *h, const tg_instr_t *in, char *path, size_t cap)
{
    if (!kc_name_ok(in->symbol))
        return -1;
    snprintf(path, cap, "/api/v1/market/orderbook/level2_100?symbol=%s", in->symbol);
    return 0;
}

/* Apply an update start..end (events ev[0..n), each with its change sequence in .seq) to a
 * synced book: 1 applied, 0 stale, -1 gap (nothing done yet). */
static int kc_apply(feed_handler_t *h, feed_rsym_t *s, uint64_t start, uint64_t end,
                    int64_t ts_exch, const tg_event_t *ev, uint32_t n, int64_t ts_recv,
                    int64_t ts_mono)
{
    if (end <= s->last) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    if (start > s->last + 1)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (ev[i].seq > s->last && ev[i].price != 0)
            feed_emit_counted(h, &ev[i]);
    feed_end_message(h, s->id, ts_exch, ts_recv, ts_mono);
    s->last = end;
    return 1;
}

/* Level i of st->lv: ["price","size","sequence"]; a missing sequence is *(uint64_t *)a->ctx. */
static int kc_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    kc_lvl_t *l = &((kc_state_t *)h->vstate)->lv[i];
    l->seq = *(const uint64_t *)a->ctx;
    if (a->t[k].size >= 3 && (k + 3 >= a->n || kc_u64(a->js, &a->t[k + 3], &l->seq) < 0))
        return TG_EFIELD;
    l->l.side = a->side;
    return feed_level_strs(h, a, k, false, &l->l.px, &l->l.sz, bad);
}

/* Levels of arrays bi and ai (either may be absent: < 0) into st->lv at *nl. */
static int kc_levels(feed_handler_t *h, uint32_t instr, const char *js, int n, int bi, int ai,
                     uint64_t dflt, size_t *nl)
{
    kc_state_t *st = h->vstate;
    const feed_lvls_t la = {js, st->jt.t, n, instr, 0, &dflt};
    int bad;
    return feed_book_levels(h, &la, bi, ai, 2, st->lv_cap, nl, &bad, kc_level);
}

/* Replay a buffered update after the snapshot (feed_rsv_replay_fn). */
static int kc_replay(feed_handler_t *h, feed_rsym_t *s, const feed_pend_msg_t *p,
                     const tg_event_t *ev, int64_t ts_recv, int64_t ts_mono)
{
    return kc_apply(h, s, p->first, p->last, p->ts_exch, ev, p->n, ts_recv, ts_mono);
}

/* REST body (or in-band data) at object obj: {"code":"200000","data":{...}} or the inner object
 * (feed_rsv_snap_fn). */
static int kc_snapshot(feed_handler_t *h, feed_rsym_t *s, const char *js, const jsmntok_t *t, int n,
                       int obj, int64_t ts_recv, int64_t ts_mono)
{
    int ci = feed_jtok_get(js, t, n, obj, "code");
    if (ci >= 0) {
        if (!feed_jtok_eq(js, &t[ci], "200000"))
            return TG_EPROTO;
        obj = feed_jtok_get(js, t, n, obj, "data");
        if (obj < 0 || t[obj].type != JSMN_OBJECT)
            return TG_EFIELD;
    }
    int qi = feed_jtok_get(js, t, n, obj, "sequence"), ti = feed_jtok_get(js, t, n, obj, "time");
    int bi = feed_jtok_get(js, t, n, obj, "bids"), ai = feed_jtok_get(js, t, n, obj, "asks");
    uint64_t S, ms = 0;
    size_t nl = 0;
    if (qi < 0 || kc_u64(js, &t[qi], &S) < 0 || (bi < 0 && ai < 0))
        return TG_EFIELD;
    if (ti >= 0 && (kc_u64(js, &t[ti], &ms) < 0 || ms > (uint64_t)INT64_MAX / 1000000))
        return TG_EFIELD;
    int rc = kc_levels(h, s->id, js, n, bi, ai, S, &nl);
    if (rc < 0)
        return rc;
    int64_t ts_exch = (int64_t)ms * 1000000;
    return feed_rsv_snapshot(h, s, S, ts_exch, nl, true, KC_LIVE, kc_replay, ts_recv, ts_mono);
}

/* The symbol of a message's data object (its "symbol" field) in *s.
 * @return 0, TG_EFIELD or TG_ESYMBOL. */
static int kc_data_sym(feed_handler_t *h, const char *js, int n, int data, feed_rsym_t **s)
{
    const jsmntok_t *t = ((kc_state_t *)h->vstate)->jt.t;
    if (data < 0 || t[data].type != JSMN_OBJECT)
        return TG_EFIELD;
    int yi = feed_jtok_get(js, t, n, data, "symbol");
    if (yi < 0 || t[yi].type != JSMN_STRING)
        return TG_EFIELD;
    *s = kc_lookup(h, js + t[yi].start, feed_jtok_len(&t[yi]));
    return *s ? 0 : TG_ESYMBOL;
}

static int kc_l2update(feed_handler_t *h, feed_rsym_t *s, const char *js, int n, int data,
                       int64_t ts_recv, int64_t ts_mono)
{
    kc_state_t *st = h->vstate;
    const jsmntok_t *t = st->jt.t;
    int si = feed_jtok_get(js, t, n, data, "sequenceStart");
    int ei = feed_jtok_get(js, t, n, data, "sequenceEnd");
    int ti = feed_jtok_get(js, t, n, data, "time");
    int ci = feed_jtok_get(js, t, n, data, "changes");
    uint64_t start, end, ms = 0;
    size_t nl = 0;
    int rc = TG_EFIELD;
    if (si < 0 || ei < 0 || ci < 0 || t[ci].type != JSMN_OBJECT || kc_u64(js, &t[si], &start) < 0 ||
        kc_u64(js, &t[ei], &end) < 0 || start > end || start == 0)
        goto bad;
    if (ti >= 0 && (kc_u64(js, &t[ti], &ms) < 0 || ms > (uint64_t)INT64_MAX / 1000000))
        goto bad;
    int bi = feed_jtok_get(js, t, n, ci, "bids"), ai = feed_jtok_get(js, t, n, ci, "asks");
    if ((rc = kc_levels(h, s->id, js, n, bi, ai, end, &nl)) < 0) {
        if (rc == TG_ERESCALE)
            return rc;
        goto bad;
    }
    for (size_t i = 0; i < nl; i++)
        if (st->lv[i].seq < start || st->lv[i].seq > end) {
            rc = TG_EFIELD; /* a change outside its message's range */
            goto bad;
        }
    int64_t ts_exch = (int64_t)ms * 1000000;
    if (s->state == KC_WAIT) {
        kc_pend_add(h, s, start, end, ts_exch, st->lv, nl, ts_recv, ts_mono);
        if (!s->req.out)
            feed_rsync_request(h, &st->rs, (uint32_t)(s - st->sym), ts_mono);
        return 0;
    }
    /* the events of this update, each with its change sequence */
    tg_event_t *ev = st->ev;
    for (size_t i = 0; i < nl; i++)
        ev[i] = feed_event(TG_EV_LEVEL, s->id, st->lv[i].l.side, st->lv[i].l.px, st->lv[i].l.sz,
                           st->lv[i].seq, 0, ts_exch, ts_recv, ts_mono, 0);
    if (kc_apply(h, s, start, end, ts_exch, ev, (uint32_t)nl, ts_recv, ts_mono) < 0) {
        feed_jtok_log(h, &st->rl, ts_mono, FEED_LOG_WARN, "sequence gap, resyncing", js, &t[data]);
        feed_rsync_gap(h, &st->rs, (uint32_t)(s - st->sym), start, st->rs.pb.n_m, ts_recv, ts_mono);
        kc_pend_add(h, s, start, end, ts_exch, st->lv, nl, ts_recv, ts_mono);
    }
    return 0;
bad:
    if (s->state != KC_WAIT)
        feed_rsync_gap(h, &st->rs, (uint32_t)(s - st->sym), 0, st->rs.pb.n_m, ts_recv, ts_mono);
    return rc;
}

static int kc_match(feed_handler_t *h, feed_rsym_t *s, const char *js, int n, int data,
                    int64_t ts_recv, int64_t ts_mono)
{
    const jsmntok_t *t = ((kc_state_t *)h->vstate)->jt.t;
    int pi = feed_jtok_get(js, t, n, data, "price"), zi = feed_jtok_get(js, t, n, data, "size");
    int di = feed_jtok_get(js, t, n, data, "side"), ii = feed_jtok_get(js, t, n, data, "tradeId");
    int ti = feed_jtok_get(js, t, n, data, "time"), qi = feed_jtok_get(js, t, n, data, "sequence");
    if (pi < 0 || zi < 0 || di < 0 || ii < 0 || ti < 0 || t[pi].type != JSMN_STRING ||
        t[zi].type != JSMN_STRING || t[ii].type != JSMN_STRING)
        return TG_EFIELD;
    uint8_t side;
    if (feed_jtok_side(js, &t[di], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &side) < 0)
        return TG_EFIELD;
    uint64_t ns, seq = 0, id;
    if (kc_u64(js, &t[ti], &ns) < 0 || ns > (uint64_t)INT64_MAX ||
        (qi >= 0 && kc_u64(js, &t[qi], &seq) < 0))
        return TG_EFIELD;
    if (kc_u64(js, &t[ii], &id) < 0)
        id = feed_hash_id(js + t[ii].start, feed_jtok_len(&t[ii]));
    int64_t px, sz;
    int rc = feed_jtok_dec_pxsz(h, s->id, js, &t[pi], &t[zi], &px, &sz);
    if (rc < 0)
        return rc;
    if (px == 0 || sz == 0)
        return TG_EDEC_SYNTAX;
    feed_emit_make(h, TG_EV_TRADE, s->id, side, px, sz, seq, id, (int64_t)ns, ts_recv, ts_mono,
                   TG_EVF_LAST);
    return 0;
}

static int kc_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int stream = feed_jtok_get(buf, t, n, 0, "stream");
    if (stream > 0) { /* {"stream":"/market/level2:<S>@depthSnapshot","generated":true,...} */
        static const char sfx[] = "@depthSnapshot";
        size_t sl = feed_jtok_len(&t[stream]), xl = sizeof(sfx) - 1;
        const char *sp = buf + t[stream].start;
        if (t[stream].type != JSMN_STRING || sl <= xl || memcmp(sp + sl - xl, sfx, xl) != 0 ||
            sl - xl <= strlen(KC_BOOK_TOPIC) || memcmp(sp, KC_BOOK_TOPIC, strlen(KC_BOOK_TOPIC))) {
            TG_STAT_INC(h->stats->unhandled);
            return 0;
        }
        size_t pl = strlen(KC_BOOK_TOPIC);
        feed_rsym_t *s = kc_lookup(h, sp + pl, sl - xl - pl);
        if (!s)
            return TG_ESYMBOL;
        return feed_rsv_snap(h, s, buf, n, feed_jtok_get(buf, t, n, 0, "data"), ts_recv, ts_mono);
    }
    int ty = feed_jtok_get(buf, t, n, 0, "type");
    if (ty < 0 || t[ty].type != JSMN_STRING)
        return TG_EFIELD;
    if (feed_jtok_str_is(buf, &t[ty], "message")) {
        int sj = feed_jtok_get(buf, t, n, 0, "subject"), tp = feed_jtok_get(buf, t, n, 0, "topic");
        int data = feed_jtok_get(buf, t, n, 0, "data");
        if (sj < 0 || tp < 0)
            return TG_EFIELD;
        bool l2 = feed_jtok_str_is(buf, &t[sj], "trade.l2update");
        if (!l2 && !feed_jtok_str_is(buf, &t[sj], "trade.l3match")) {
            TG_STAT_INC(h->stats->unhandled); /* tickers, snapshots, ... */
            return 0;
        }
        feed_rsym_t *s;
        int rc = kc_data_sym(h, buf, n, data, &s);
        if (rc < 0)
            return rc;
        return l2 ? kc_l2update(h, s, buf, n, data, ts_recv, ts_mono)
                  : kc_match(h, s, buf, n, data, ts_recv, ts_mono);
    }
    if (feed_jtok_str_is(buf, &t[ty], "error"))
        return TG_EPROTO;
    TG_STAT_INC(h->stats->unhandled); /* welcome, ack, pong, notice */
    return 0;
}

static const feed_vparser_t kc_parser = {kc_frame, JSMN_OBJECT, FEED_VP_SLOW};

/* The state, allocated and freed by the venue base (the ping interval until a bullet answer
 * says otherwise: st->ping_ms 0). */
static const feed_vspec_t kc_spec = {
    FEED_RSV_SPEC(kc_state_t, KC_TOK_INIT, KC_TOK_MAX, FEED_VSCRATCH(kc_state_t, ev, 3))};

/* Subscribe message k: book topics (batches of KC_SYMS_PER_SUB symbols), then match topics.
 * Symbols past KC_TOPICS_MAX topics for the connection are not subscribed (logged at open).
 * @return its length, 0 to skip, -1 past the end. */
static int kc_sub_msg(feed_handler_t *h, uint32_t k, char *msg, size_t cap)
{
    kc_state_t *st = h->vstate;
    bool book = h->channels & FEED_CH_BOOK, trades = h->channels & FEED_CH_TRADES;
    uint32_t per = (book ? 1u : 0u) + (trades ? 1u : 0u);
    uint32_t nsym = per ? h->n_instr : 0;
    if (per && nsym > KC_TOPICS_MAX / per)
        nsym = KC_TOPICS_MAX / per;
    uint32_t nb = (nsym + KC_SYMS_PER_SUB - 1) / KC_SYMS_PER_SUB;
    const char *topic;
    if (book && k < nb) {
        topic = KC_BOOK_TOPIC;
    } else {
        if (book)
            k -= nb;
        if (!trades || k >= nb)
            return -1;
        topic = KC_MATCH_TOPIC;
    }
    int m = snprintf(msg, cap, "{\"id\":\"%llu\",\"type\":\"subscribe\",\"topic\":\"%s",
                     (unsigned long long)++st->msg_id, topic);
    return feed_sub_list(h, msg, cap, m, k * KC_SYMS_PER_SUB, KC_SYMS_PER_SUB, nsym, kc_name_ok, "",
                         64, "\",\"privateChannel\":false,\"response\":true}");
}

/* Log the symbols past the topics KuCoin allows a connection (on_open). */
static void kc_opened(feed_handler_t *h)
{
    uint32_t per =
        ((h->channels & FEED_CH_BOOK) ? 1u : 0u) + ((h->channels & FEED_CH_TRADES) ? 1u : 0u);
    if (per && h->n_instr * per > KC_TOPICS_MAX)
        feed_logf(h, FEED_LOG_ERROR,
                  "kucoin: %u symbols need %u topics, over the 300 KuCoin allows per connection: "
                  "only the first %u are subscribed",
                  h->n_instr, h->n_instr * per, KC_TOPICS_MAX / per);
}

/* The application ping a little before the interval ends (ticks are about 1 s apart). */
static int kc_ping(feed_handler_t *h, int64_t since_ns, char *msg, size_t cap)
{
    kc_state_t *st = h->vstate;
    int64_t every = (int64_t)(st->ping_ms ? st->ping_ms : KC_PING_MS) * 1000000 - 1500000000LL;
    if (every < 1000000000LL)
        every = 1000000000LL;
    if (since_ns < every)
        return 0;
    return snprintf(msg, cap, "{\"id\":\"%llu\",\"type\":\"ping\"}",
                    (unsigned long long)++st->msg_id);
}

#define KC_SUB_CAP (KC_SYMS_PER_SUB * TG_SYMBOL_MAX + 160)
_Static_assert(KC_SUB_CAP <= FEED_RSV_SUB_MAX, "a KuCoin subscribe message fits");

/* The callbacks: those of the venues that bridge REST snapshots (feed_venue_base.h). */
static const feed_rsv_t kc_rsv = {
    FEED_RSV_STATE(kc_state_t), .path = kc_path,     .snap = kc_snapshot, .sub_msg = kc_sub_msg,
    .sub_cap = KC_SUB_CAP,      .opened = kc_opened, .ping = kc_ping,
};

/* Replay: "/api/v1/market/orderbook/level2_100?symbol=BTC-USDT" -> "/market/level2:btc-usdt". */
static int kc_rest_key(const char *path, char *key, size_t cap)
{
    return feed_rest_key_query(path, "/api/v1/market/orderbook/level2_100", "symbol", KC_BOOK_TOPIC,
                               key, cap);
}

const feed_venue_t feed_venue_kucoin = {
    .name = "kucoin",
    /* Only a placeholder: every connect first POSTs /api/v1/bullet-public (connect_post) and
     * connects where the answer says (feed_kucoin_on_bullet); see docs/venues/kucoin.md. */
    .default_url = "wss://ws-api-spot.kucoin.com/",
    .connect_post = FEED_KUCOIN_BULLET_PATH,
    .on_connect_answer = feed_kucoin_on_bullet,
    FEED_VENUE_RSV(kc),
    .rest_host = "api.kucoin.com",
    .rest_key = kc_rest_key,
    .max_symbols_per_conn = KC_TOPICS_MAX / 2, /* book + match topic per symbol */
    .max_sends_per_s = KC_SENDS_PS,
    .instr_defaults = feed_instr_defaults_plain,
};
