/* SPDX-License-Identifier: MIT */
/*
 * Kraken websocket v1 (wss://ws.kraken.com) venue handler: "book-N" snapshots and updates with
 * their CRC32 checksums, "trade" channel, and the event objects (heartbeat, systemStatus,
 * subscriptionStatus, pong, error).
 *
 * DESIGN
 * Frames are tokenized with jsmn into a per-handler token array; channel messages are arrays
 *   [chanId, payload..., channelName, pair]
 * where a book update may carry two payload objects ({"a":..} then {"b":..,"c":..}). Every
 * level of a message is parsed into a scratch array first, so a message whose level fails to
 * parse emits nothing but a TG_EV_GAP (all-or-nothing), then the pair is resubscribed.
 * A snapshot ("as"/"bs") becomes TG_EV_BOOK_CLEAR + TG_EV_LEVEL|SNAPSHOT; an update becomes
 * TG_EV_LEVEL events; a "c" field becomes a final TG_EV_CHECKSUM whose price/size carry the
 * decimals Kraken prints for the pair (learned from the level strings; Kraken pads prices and
 * volumes to fixed per-pair decimals, which the checksum text depends on). The builder
 * applies the message, truncates each side to the subscribed depth (instrument depth_limit:
 * Kraken does not send deletes for levels that fall out of range) and verifies the CRC.
 * Updates that arrive before the pair's snapshot are dropped (counted stale_dropped).
 * Exchange time of a message = the newest level / trade time in it ("1618678133.123456" s,
 * parsed exactly to ns).
 * Scales: prices/volumes go through feed_dec at the pair's current scales (raised when a value
 * needs more places: TG_ERESCALE, the frame is parsed again before anything changed); the
 * checksum event carries Kraken's printed decimals, and the builder formats the book at its
 * current scales.
 * Thread: feed:kraken (everything here).
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

/* Initial price scale by quote currency: pairs quoted in XBT/ETH print up to 10 decimals
 * (ADA/XBT "0.000022900"); fiat/stablecoin-quoted pairs print at most 8 but carry far-away asks
 * such as XBT/CHF "9999999997.00000", which does not fit int64 at scale 10 (limit
 * 922337203.68). Volumes: 8 decimals. Values are parsed with feed_dec at the pair's current
 * scales, which rise when a value needs more places. */
#define KR_PX_SCALE_CRYPTO 10
#define KR_PX_SCALE_FIAT   8
#define KR_SZ_SCALE        8
#define KR_DEPTH_DEFAULT   10
#define KR_TOK_INIT        4096
#define KR_TOK_MAX         (1 << 20)
#define KR_PING_NS         (30 * 1000000000LL)
#define KR_MAX_ELEMS       8

typedef struct kr_lvl {
    int64_t px, sz;
    int64_t ts;
    uint64_t row, tid; /* trades: hash of the row's text; the key made from it (kr_trade_id) */
    uint8_t side;
} kr_lvl_t;

typedef struct kr_sym {
    uint32_t id;
    uint8_t synced; /* snapshot seen since (re)subscribe */
    int8_t px_dp, sz_dp;
} kr_sym_t;

typedef struct kr_state {
    feed_jtok_t jt;
    kr_lvl_t *lv;
    size_t lv_cap;
    kr_sym_t *sym;
    uint16_t *slot; /* instrument id -> index in sym + 1 (0: not on this connection) */
    feed_ratelim_t rl;
    int64_t last_ping;
    char *sbuf; /* subscribe message buffer */
    size_t scap;
} kr_state_t;

/* ---- small helpers ---------------------------------------------------------------------- */

#define kr_log(h, ...) feed_jtok_log((h), &((kr_state_t *)(h)->vstate)->rl, __VA_ARGS__)

/* fractional digits of a decimal string (0 if no point) */
static int kr_dp(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    return dot ? (int)(n - (size_t)(dot - s) - 1) : 0;
}

static void kr_resubscribe(feed_handler_t *h, void *sym);

static void kr_resync(feed_handler_t *h, kr_sym_t *s, int64_t ts_recv, int64_t ts_mono,
                      uint16_t flags)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono,
                   (uint16_t)(TG_EVF_LAST | flags));
    TG_STAT_INC(h->stats->gaps);
    kr_resubscribe(h, s);
}

/* Drop the pair's book and subscribe to it again (a fresh snapshot follows). */
static int kr_resub_msg(feed_handler_t *h, const void *sym, const tg_instr_t *in, const char *op,
                        char *msg, size_t cap)
{
    uint32_t depth = h->depth ? h->depth : KR_DEPTH_DEFAULT;
    return snprintf(msg, cap,
                    "{\"event\":\"%s\",\"pair\":[\"%s\"],\"subscription\":{\"name\":\"book\","
                    "\"depth\":%u}}",
                    op, in->symbol, depth);
}

static void kr_resubscribe(feed_handler_t *h, void *sym)
{
    kr_sym_t *s = sym;
    s->synced = 0;
    feed_resync_resubscribe(h, s, kr_resub_msg, "kraken: resubscribe failed");
}

/* ---- book ------------------------------------------------------------------------------- */

/* Parse the levels array at index a into st->lv (append) at the pair's current scales.
 * @return 0, TG_ERESCALE or a tg error code; *bad = offending token. */
static int kr_levels(feed_handler_t *h, kr_state_t *st, uint32_t id, const char *js,
                     const jsmntok_t *t, int n, int a, uint8_t side, size_t *nl, int *px_dp,
                     int *sz_dp, int64_t *ts_max, int *bad)
{
    *bad = a;
    if (t[a].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = a + 1;
    for (int m = 0; m < t[a].size; m++) {
        *bad = k;
        if (k >= n || t[k].type != JSMN_ARRAY || t[k].size < 2 || k + 2 >= n)
            return TG_EFIELD;
        if (*nl >= st->lv_cap)
            return TG_EJSON; /* cannot happen: lv_cap >= tokens / 3 */
        kr_lvl_t *l = &st->lv[*nl];
        const feed_lvls_t la = {js, t, n, id, side, NULL};
        int rc = feed_level_strs(h, &la, k, true, &l->px, &l->sz, bad);
        if (rc < 0)
            return rc;
        const jsmntok_t *p = &t[k + 1], *v = &t[k + 2];
        l->ts = 0;
        if (t[k].size >= 3 && k + 3 < n) {
            const jsmntok_t *ts = &t[k + 3];
            *bad = k + 3;
            if (ts->type != JSMN_STRING)
                return TG_EFIELD;
            /* a time ("1618678133.123456" s), not a price: fixed at ns */
            if ((rc = tg_dec_parse(js + ts->start, feed_jtok_len(ts), 9, &l->ts)) < 0)
                return rc;
            if (l->ts > *ts_max)
                *ts_max = l->ts;
        }
        l->side = side;
        *px_dp = kr_dp(js + p->start, feed_jtok_len(p));
        *sz_dp = kr_dp(js + v->start, feed_jtok_len(v));
        (*nl)++;
        k = feed_jtok_next(t, n, k);
    }
    return 0;
}

static int kr_parse_u32(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10)
        return TG_EFIELD;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TG_EFIELD;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return TG_EFIELD;
    *out = (uint32_t)v;
    return 0;
}

static int kr_book(feed_handler_t *h, kr_sym_t *s, const char *js, const jsmntok_t *t, int n,
                   const int *el, int npay, int64_t ts_recv, int64_t ts_mono)
{
    kr_state_t *st = h->vstate;
    size_t nl = 0;
    int snap = 0, upd = 0, ck = -1, bad = 0, rc = 0;
    int px_dp = -1, sz_dp = -1;
    int64_t ts_max = 0;
    for (int e = 0; e < npay && rc == 0; e++) {
        int o = el[e];
        if (t[o].type != JSMN_OBJECT) {
            rc = TG_EJSON;
            bad = o;
            break;
        }
        int k = o + 1;
        for (int m = 0; m < t[o].size && rc == 0; m++) {
            if (k + 1 >= n) {
                rc = TG_EJSON;
                bad = o;
                break;
            }
            const jsmntok_t *key = &t[k];
            uint8_t side = 0;
            if (feed_jtok_eq(js, key, "as") || feed_jtok_eq(js, key, "bs")) {
                snap = 1;
                side = js[key->start] == 'a' ? TG_SIDE_ASK : TG_SIDE_BID;
            } else if (feed_jtok_eq(js, key, "a") || feed_jtok_eq(js, key, "b")) {
                upd = 1;
                side = js[key->start] == 'a' ? TG_SIDE_ASK : TG_SIDE_BID;
            } else if (feed_jtok_eq(js, key, "c")) {
                ck = k + 1;
            }
            if (side)
                rc = kr_levels(h, st, s->id, js, t, n, k + 1, side, &nl, &px_dp, &sz_dp, &ts_max,
                               &bad);
            k = feed_jtok_next(t, n, k + 1);
        }
    }
    uint32_t cksum = 0;
    if (rc == 0 && ck >= 0) {
        bad = ck;
        if (t[ck].type != JSMN_STRING ||
            kr_parse_u32(js + t[ck].start, feed_jtok_len(&t[ck]), &cksum) < 0)
            rc = TG_EFIELD;
    }
    if (rc == 0 && !snap && !upd && ck < 0) {
        rc = TG_EFIELD; /* a book message without book content */
        bad = el[0];
    }
    if (rc == TG_ERESCALE)
        return rc; /* parsed again at the new scale; nothing changed yet */
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        kr_log(h, ts_mono, FEED_LOG_WARN, "bad book message, resyncing", js, &t[bad]);
        if (s->synced || snap)
            kr_resync(h, s, ts_recv, ts_mono, 0);
        return rc;
    }
    if (!snap && !s->synced) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    uint16_t fl = 0;
    if (snap) {
        fl = TG_EVF_SNAPSHOT;
        feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, 0, 0, ts_max, ts_recv, ts_mono, fl);
        s->synced = 1;
        TG_STAT_INC(h->stats->snapshots);
    }
    if (px_dp >= 0 && px_dp <= TG_DEC_SCALE_MAX)
        s->px_dp = (int8_t)px_dp;
    if (sz_dp >= 0 && sz_dp <= TG_DEC_SCALE_MAX)
        s->sz_dp = (int8_t)sz_dp;
    for (size_t i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_LEVEL, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, 0, 0,
                       ts_max, ts_recv, ts_mono, fl);
    if (ck >= 0) {
        /* price/size: the decimals Kraken prints (checksum text hints), not values at a scale */
        feed_emit_make(h, TG_EV_CHECKSUM, s->id, 0, s->px_dp, s->sz_dp, 0, cksum, ts_max, ts_recv,
                       ts_mono, TG_EVF_LAST);
        TG_STAT_INC(h->stats->checksum_msgs);
        return 0;
    }
    feed_end_message(h, s->id, ts_max, ts_recv, ts_mono);
    return 0;
}

/* ---- trades ----------------------------------------------------------------------------- */

/* A trade's key. Websocket v1 trades carry no id, and one taker order that fills several
 * makers gives rows with the same time: with id 0 they shared PostgreSQL's key (instr,
 * trade_id, ts) and all but one were dropped as re-deliveries. The key is a hash of the row's
 * text (price, volume, time, side, type, misc as Kraken printed them), so the same row read
 * twice gets the same key; the n-th repeat of an identical row in one message is told apart by
 * n. Never 0 (0 means "no key" to the builder's trade dedup). Rows before: lv[0..nl). */
static uint64_t kr_trade_id(kr_lvl_t *lv, size_t nl, const char *row, size_t len)
{
    uint64_t h = feed_hash_id(row, len), rep = 0;
    for (size_t j = 0; j < nl; j++)
        rep += lv[j].row == h;
    lv[nl].row = h;
    h += rep * 0x9e3779b97f4a7c15ull; /* the rep-th repeat of an identical row */
    return h ? h : 1;
}

static int kr_trades(feed_handler_t *h, kr_sym_t *s, const char *js, const jsmntok_t *t, int n,
                     int a, int64_t ts_recv, int64_t ts_mono)
{
    kr_state_t *st = h->vstate;
    int bad = a, rc = 0;
    size_t nl = 0;
    int64_t ts_max = 0;
    if (t[a].type != JSMN_ARRAY) {
        rc = TG_EFIELD;
        goto fail;
    }
    int k = a + 1;
    for (int m = 0; m < t[a].size; m++) {
        bad = k;
        if (k >= n || t[k].type != JSMN_ARRAY || t[k].size < 4 || k + 4 >= n) {
            rc = TG_EFIELD;
            goto fail;
        }
        const jsmntok_t *p = &t[k + 1], *v = &t[k + 2], *tm = &t[k + 3], *sd = &t[k + 4];
        if (p->type != JSMN_STRING || v->type != JSMN_STRING || tm->type != JSMN_STRING ||
            sd->type != JSMN_STRING || feed_jtok_len(sd) != 1 ||
            (js[sd->start] != 'b' && js[sd->start] != 's') || nl >= st->lv_cap) {
            rc = TG_EFIELD;
            goto fail;
        }
        kr_lvl_t *l = &st->lv[nl];
        if ((rc = feed_dec_px(h, s->id, js + p->start, feed_jtok_len(p), &l->px)) < 0 ||
            (rc = feed_dec_sz(h, s->id, js + v->start, feed_jtok_len(v), &l->sz)) < 0 ||
            (rc = tg_dec_parse(js + tm->start, feed_jtok_len(tm), 9, &l->ts)) < 0)
            goto fail;
        l->side = js[sd->start] == 'b' ? TG_SIDE_BUY : TG_SIDE_SELL;
        l->tid = kr_trade_id(st->lv, nl, js + t[k].start, (size_t)(t[k].end - t[k].start));
        if (l->ts > ts_max)
            ts_max = l->ts;
        nl++;
        k = feed_jtok_next(t, n, k);
    }
    for (size_t i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_TRADE, s->id, st->lv[i].side, st->lv[i].px, st->lv[i].sz, 0,
                       st->lv[i].tid, st->lv[i].ts, ts_recv, ts_mono, 0);
    if (nl)
        feed_end_message(h, s->id, ts_max, ts_recv, ts_mono);
    return 0;
fail:
    return feed_jtok_drop(h, ts_mono, rc, "bad trade message dropped", js, &t[bad]);
}

/* ---- frames ----------------------------------------------------------------------------- */

static int kr_event(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int64_t ts_mono)
{
    int e = feed_jtok_get(js, t, n, 0, "event");
    if (e < 0 || t[e].type != JSMN_STRING) {
        feed_count_error(h->stats, TG_EFIELD);
        kr_log(h, ts_mono, FEED_LOG_WARN, "object without event", js, &t[0]);
        return TG_EFIELD;
    }
    int status = feed_jtok_get(js, t, n, 0, "status");
    if (feed_jtok_eq(js, &t[e], "error") || (feed_jtok_eq(js, &t[e], "subscriptionStatus") &&
                                             status > 0 && feed_jtok_eq(js, &t[status], "error"))) {
        feed_count_error(h->stats, TG_EPROTO);
        kr_log(h, ts_mono, FEED_LOG_ERROR, "venue error", js, &t[0]);
        return TG_EPROTO;
    }
    if (feed_jtok_eq(js, &t[e], "systemStatus") && status > 0 &&
        !feed_jtok_eq(js, &t[status], "online"))
        kr_log(h, ts_mono, FEED_LOG_WARN, "system status", js, &t[status]);
    TG_STAT_INC(h->stats->unhandled);
    return 0;
}

static int kr_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    if (t[0].type == JSMN_OBJECT)
        return kr_event(h, buf, t, n, ts_mono);
    if (t[0].type != JSMN_ARRAY || t[0].size < 4 || t[0].size > KR_MAX_ELEMS) {
        feed_count_error(h->stats, TG_EJSON);
        kr_log(h, ts_mono, FEED_LOG_WARN, "unexpected frame", buf, &t[0]);
        return TG_EJSON;
    }
    int el[KR_MAX_ELEMS];
    int ne = t[0].size, k = 1;
    for (int m = 0; m < ne; m++) {
        if (k >= n) {
            feed_count_error(h->stats, TG_EJSON);
            return TG_EJSON;
        }
        el[m] = k;
        k = feed_jtok_next(t, n, k);
    }
    const jsmntok_t *pair = &t[el[ne - 1]], *chan = &t[el[ne - 2]];
    if (pair->type != JSMN_STRING || chan->type != JSMN_STRING) {
        feed_count_error(h->stats, TG_EFIELD);
        kr_log(h, ts_mono, FEED_LOG_WARN, "channel message without channel/pair", buf, &t[0]);
        return TG_EFIELD;
    }
    int is_book = feed_jtok_len(chan) >= 4 && memcmp(buf + chan->start, "book", 4) == 0;
    int is_trade = feed_jtok_eq(buf, chan, "trade");
    if (!is_book && !is_trade) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    int rc;
    kr_sym_t *s = feed_vsym_tok(h, ts_mono, buf, pair, "unknown pair", &rc);
    if (!s)
        return rc;
    if (is_book)
        return kr_book(h, s, buf, t, n, el + 1, ne - 3, ts_recv, ts_mono);
    if (ne != 4) {
        feed_count_error(h->stats, TG_EJSON);
        return TG_EJSON;
    }
    return kr_trades(h, s, buf, t, n, el[1], ts_recv, ts_mono);
}

static const feed_vparser_t kr_parser = {kr_frame, JSMN_UNDEFINED, FEED_VP_COUNT | FEED_VP_SLOW};

/* ---- lifecycle -------------------------------------------------------------------------- */

static int kr_px_scale(const char *symbol)
{
    const char *q = strrchr(symbol, '/');
    q = q ? q + 1 : "";
    return strcmp(q, "XBT") == 0 || strcmp(q, "ETH") == 0 || strcmp(q, "BTC") == 0
               ? KR_PX_SCALE_CRYPTO
               : KR_PX_SCALE_FIAT;
}

static void kr_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    cfg->px_scale = kr_px_scale(symbol);
    cfg->sz_scale = KR_SZ_SCALE;
    cfg->depth_limit = depth ? depth : KR_DEPTH_DEFAULT;
    cfg->checksum = feed_kraken_checksum;
}

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens;
 * init sizes the subscribe buffer to the pairs). */
static const feed_vspec_t kr_spec = {
    FEED_VSPEC(kr_state_t, KR_TOK_INIT, KR_TOK_MAX),
    .blocks = {FEED_VSCRATCH(kr_state_t, lv, 3), FEED_VBLOCK(kr_state_t, sbuf, 0)},
    .reset = {FEED_VRESET(kr_sym_t, synced, 0)},
};

static int kr_init(feed_handler_t *h)
{
    kr_state_t *st = h->vstate;
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].px_dp = st->sym[i].sz_dp = -1; /* no precision seen yet */
    st->scap = 256 + (size_t)h->n_instr * (TG_SYMBOL_MAX + 3);
    st->sbuf = malloc(st->scap);
    return st->sbuf ? 0 : -ENOMEM;
}

/* {"event":"subscribe","pair":[...],"subscription":{...}} for every pair of the connection */
static int kr_subscribe(feed_handler_t *h, const char *sub)
{
    kr_state_t *st = h->vstate;
    size_t n = 0;
    n += (size_t)snprintf(st->sbuf + n, st->scap - n, "{\"event\":\"subscribe\",\"pair\":[");
    int first = 1;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || !feed_json_safe(in->symbol)) {
            feed_logf(h, FEED_LOG_ERROR, "kraken: symbol %u skipped (unusable name)", h->instr[i]);
            continue;
        }
        n += (size_t)snprintf(st->sbuf + n, st->scap - n, "%s\"%s\"", first ? "" : ",", in->symbol);
        first = 0;
    }
    n += (size_t)snprintf(st->sbuf + n, st->scap - n, "],\"subscription\":%s}", sub);
    if (n >= st->scap)
        return -ENOSPC;
    return feed_send(h, st->sbuf, n);
}

static int kr_on_open(feed_handler_t *h)
{
    feed_resync_rebase(h);
    feed_vreset(h);
    int rc = 0;
    if (h->channels & FEED_CH_BOOK) {
        char sub[64];
        snprintf(sub, sizeof(sub), "{\"name\":\"book\",\"depth\":%u}",
                 h->depth ? h->depth : KR_DEPTH_DEFAULT);
        rc = kr_subscribe(h, sub);
    }
    if (rc >= 0 && (h->channels & FEED_CH_TRADES))
        rc = kr_subscribe(h, "{\"name\":\"trade\"}");
    return rc < 0 ? rc : 0;
}

static void kr_on_tick(feed_handler_t *h, int64_t now_mono)
{
    kr_state_t *st = h->vstate;
    feed_resync_ping_tick(h, kr_resubscribe, &st->last_ping, KR_PING_NS, "{\"event\":\"ping\"}",
                          now_mono);
}

const feed_venue_t feed_venue_kraken = {
    .name = "kraken",
    .default_url = "wss://ws.kraken.com",
    FEED_VENUE_STATE(kr, kr_instr_defaults),
    FEED_VENUE_PARSE_VCLOSE(kr),
};
