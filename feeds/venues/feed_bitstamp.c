/* SPDX-License-Identifier: MIT */
/*
 * Bitstamp websocket v2 (wss://ws.bitstamp.net) venue handler: "diff_order_book_<pair>" deltas
 * synchronised with a REST snapshot (GET /api/v2/order_book/<pair>), "live_trades_<pair>",
 * and the bts:* events.
 *
 * DESIGN
 * Bitstamp diffs carry no sequence number, only "microtimestamp". Sync per pair:
 *   subscribe -> on bts:subscription_succeeded request the REST snapshot -> buffer diffs until
 *   it arrives -> emit the snapshot (TG_EV_BOOK_CLEAR + levels flagged SNAPSHOT|REST) -> replay
 *   the buffered diffs newer than the snapshot's microtimestamp, drop older ones (counted
 *   stale_dropped) -> then apply diffs as they come; any diff not newer than the snapshot is
 *   dropped, a diff older than the previous applied one means the stream is out of order:
 *   TG_EV_GAP and a new snapshot.
 * The diff buffer is one bounded array for the connection (no allocation per message); if it
 * fills, the pair's buffered diffs are discarded and remembered as lost: a snapshot older than
 * the newest lost diff cannot be used and another one is requested.
 * Scales: prices/amounts go through feed_dec at the pair's current scales (raised when a value
 * needs more places: TG_ERESCALE, the message is parsed again before anything changed); the
 * buffered diffs hold raw values, so bs_on_rescale brings them to the new scales exactly (or
 * drops them as lost when the new scale cannot hold one).
 * Offline (tgrec), the REST body arrives in-band as
 *   {"stream":"diff_order_book_<pair>@depthSnapshot","generated":true,"data":<REST body>}
 * and is handled exactly as a REST response.
 * Thread: feed:bitstamp (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS    /* O(1) instead of a backwards scan per closing bracket: 1000-level   \
                                snapshots are quadratic without it */
#define JSMN_STRICT          /* keys must be strings, primitives must be JSON values */
#include <jsmn.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feed_venue_util.h"
#include "venues.h"
#include "feeds/feed_jtok.h"

/* Initial scales of a pair; values are parsed with feed_dec at the pair's current scales,
 * which rise when a value needs more places (buffered diffs follow: bs_on_rescale). */
#define BS_TOK_INIT  4096
#define BS_TOK_MAX   (1 << 21)
#define BS_PEND_MAX  (1 << 16)
#define BS_RETRY_NS  (5 * 1000000000LL)
#define BS_BOOK_PFX  "diff_order_book_"
#define BS_TRADE_PFX "live_trades_"

typedef struct bs_lvl {
    int64_t px, sz;
    uint8_t side;
} bs_lvl_t;

typedef struct bs_pend {
    int64_t micro, px, sz;
    uint16_t slot;
    uint8_t side, last;
} bs_pend_t;

enum { BS_WAIT = 0, BS_SYNCED = 1 };

typedef struct bs_sym {
    uint32_t id;
    uint8_t state;
    uint8_t requested;    /* REST snapshot outstanding */
    uint8_t subscribed;   /* diff channel confirmed: a snapshot taken now covers the diffs */
    int64_t req_mono;     /* when it was requested */
    int64_t snap_micro;   /* microtimestamp of the snapshot in use */
    int64_t last_micro;   /* of the last applied diff */
    int64_t lost_micro;   /* newest diff discarded from a full buffer (0: none) */
    uint32_t resync_seen; /* builder resync requests already acted on */
} bs_sym_t;

typedef struct bs_state {
    feed_jtok_t jt;
    bs_lvl_t *lv;
    size_t lv_cap;
    bs_pend_t *pend;
    size_t n_pend;
    bs_sym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
} bs_state_t;

#define bs_log(h, ...) feed_jtok_log((h), &((bs_state_t *)(h)->vstate)->rl, __VA_ARGS__)

#define bs_lookup(h, s, n) ((bs_sym_t *)feed_vsym_find((h), (s), (n)))

static int bs_name_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static void bs_request_snapshot(feed_handler_t *h, bs_sym_t *s, int64_t now_mono)
{
    bs_state_t *st = h->vstate;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    if (!in || !h->rest_get || !bs_name_ok(in->symbol))
        return;
    char path[128];
    snprintf(path, sizeof(path), "/api/v2/order_book/%s", in->symbol);
    s->requested = 1;
    s->req_mono = now_mono;
    TG_STAT_INC(h->stats->resyncs);
    if (h->rest_get(h->tctx, path, (uint64_t)(s - st->sym)) < 0)
        s->requested = 0; /* retried on the tick */
}

static void bs_drop_pending(bs_state_t *st, uint16_t slot)
{
    size_t k = 0;
    for (size_t i = 0; i < st->n_pend; i++)
        if (st->pend[i].slot != slot)
            st->pend[k++] = st->pend[i];
    st->n_pend = k;
}

static void bs_gap(feed_handler_t *h, bs_sym_t *s, int64_t ts_recv, int64_t ts_mono)
{
    bs_state_t *st = h->vstate;
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, (uint64_t)s->last_micro, 0, 0, ts_recv, ts_mono,
                   TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    s->state = BS_WAIT;
    bs_drop_pending(st, (uint16_t)(s - st->sym));
    bs_request_snapshot(h, s, ts_mono);
}

/* Level i of st->lv: ["price","size"] at the pair's current scales (price 0 is no level). */
static int bs_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    bs_lvl_t *l = &((bs_state_t *)h->vstate)->lv[i];
    l->side = a->side;
    return feed_level_strs(h, a, k, true, &l->px, &l->sz, bad);
}

/* Parse {"microtimestamp","bids","asks"} at obj into st->lv. Changes no handler state (the
 * pair's scales may rise: TG_ERESCALE). */
static int bs_book_obj(feed_handler_t *h, const bs_sym_t *s, const char *js, const jsmntok_t *t,
                       int n, int obj, int64_t *micro, size_t *nl, int *bad)
{
    *bad = obj;
    *nl = 0;
    int mi = feed_jtok_get(js, t, n, obj, "microtimestamp");
    int bi = feed_jtok_get(js, t, n, obj, "bids"), ai = feed_jtok_get(js, t, n, obj, "asks");
    if (mi < 0 || (bi < 0 && ai < 0) || feed_jtok_i64(js, &t[mi], micro) < 0 || *micro < 0 ||
        *micro > INT64_MAX / 1000) {
        *bad = mi >= 0 ? mi : obj;
        return TG_EFIELD;
    }
    const feed_lvls_t la = {js, t, n, s->id, 0, NULL};
    return feed_book_levels(h, &la, bi, ai, 2, ((bs_state_t *)h->vstate)->lv_cap, nl, bad,
                            bs_level);
}

static void bs_emit_levels(feed_handler_t *h, bs_sym_t *s, const bs_lvl_t *lv, size_t nl,
                           int64_t micro, uint16_t fl, int64_t ts_recv, int64_t ts_mono)
{
    for (size_t i = 0; i < nl; i++)
        feed_emit_make(h, TG_EV_LEVEL, s->id, lv[i].side, lv[i].px, lv[i].sz, 0, 0, micro * 1000,
                       ts_recv, ts_mono, fl);
    feed_end_message(h, s->id, micro * 1000, ts_recv, ts_mono);
}

/* A snapshot body (REST or in-band) at obj. */
static int bs_snapshot(feed_handler_t *h, bs_sym_t *s, const char *js, const jsmntok_t *t, int n,
                       int obj, int64_t ts_recv, int64_t ts_mono)
{
    bs_state_t *st = h->vstate;
    uint16_t slot = (uint16_t)(s - st->sym);
    int64_t micro;
    size_t nl;
    int bad;
    int rc = bs_book_obj(h, s, js, t, n, obj, &micro, &nl, &bad);
    if (rc == TG_ERESCALE)
        return rc; /* parsed again at the new scale; nothing changed yet */
    s->requested = 0;
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        bs_log(h, ts_mono, FEED_LOG_WARN, "bad snapshot, requesting another", js, &t[bad]);
        if (s->state == BS_SYNCED)
            bs_gap(h, s, ts_recv, ts_mono);
        else
            bs_request_snapshot(h, s, ts_mono);
        return rc;
    }
    if (s->lost_micro && micro < s->lost_micro) {
        /* diffs newer than this snapshot were lost from a full buffer */
        TG_STAT_INC(h->stats->stale_dropped);
        bs_request_snapshot(h, s, ts_mono);
        return 0;
    }
    s->lost_micro = 0;
    feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, 0, 0, micro * 1000, ts_recv, ts_mono,
                   TG_EVF_SNAPSHOT | TG_EVF_REST);
    bs_emit_levels(h, s, st->lv, nl, micro, TG_EVF_SNAPSHOT | TG_EVF_REST, ts_recv, ts_mono);
    TG_STAT_INC(h->stats->snapshots);
    s->state = BS_SYNCED;
    s->snap_micro = s->last_micro = micro;
    /* replay buffered diffs newer than the snapshot, in arrival order, one message each */
    for (size_t i = 0; i < st->n_pend; i++) {
        const bs_pend_t *p = &st->pend[i];
        if (p->slot != slot)
            continue;
        if (p->micro <= micro) {
            if (p->last)
                TG_STAT_INC(h->stats->stale_dropped);
            continue;
        }
        if (p->px) /* at the pair's current scales (kept so by bs_on_rescale) */
            feed_emit_make(h, TG_EV_LEVEL, s->id, p->side, p->px, p->sz, 0, 0, p->micro * 1000,
                           ts_recv, ts_mono, 0);
        s->last_micro = p->micro;
        if (p->last)
            feed_end_message(h, s->id, p->micro * 1000, ts_recv, ts_mono);
    }
    bs_drop_pending(st, slot);
    return 0;
}

static int bs_diff(feed_handler_t *h, bs_sym_t *s, const char *js, const jsmntok_t *t, int n,
                   int obj, int64_t ts_recv, int64_t ts_mono)
{
    bs_state_t *st = h->vstate;
    int64_t micro;
    size_t nl;
    int bad;
    int rc = bs_book_obj(h, s, js, t, n, obj, &micro, &nl, &bad);
    if (rc == TG_ERESCALE)
        return rc;
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        bs_log(h, ts_mono, FEED_LOG_WARN, "bad diff, resyncing", js, &t[bad]);
        if (s->state == BS_SYNCED)
            bs_gap(h, s, ts_recv, ts_mono);
        return rc;
    }
    if (s->state != BS_SYNCED) {
        uint16_t slot = (uint16_t)(s - st->sym);
        if (st->n_pend + nl + 1 > BS_PEND_MAX) {
            bs_drop_pending(st, slot);
            s->lost_micro = micro;
            bs_log(h, ts_mono, FEED_LOG_WARN, "diff buffer full, waiting for a newer snapshot", js,
                   &t[obj]);
            return 0;
        }
        for (size_t i = 0; i < nl; i++)
            st->pend[st->n_pend++] = (bs_pend_t){micro, st->lv[i].px,   st->lv[i].sz,
                                                 slot,  st->lv[i].side, (uint8_t)(i + 1 == nl)};
        if (nl == 0)
            st->pend[st->n_pend++] = (bs_pend_t){micro, 0, 0, slot, 0, 1};
        TG_STAT_INC(h->stats->buffered);
        return 0;
    }
    if (micro <= s->snap_micro) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    if (micro < s->last_micro) {
        bs_log(h, ts_mono, FEED_LOG_WARN, "diff out of order, resyncing", js, &t[obj]);
        bs_gap(h, s, ts_recv, ts_mono);
        return 0;
    }
    s->last_micro = micro;
    bs_emit_levels(h, s, st->lv, nl, micro, 0, ts_recv, ts_mono);
    return 0;
}

static int bs_trade(feed_handler_t *h, bs_sym_t *s, const char *js, const jsmntok_t *t, int n,
                    int obj, int64_t ts_recv, int64_t ts_mono)
{
    int px = feed_jtok_get(js, t, n, obj, "price_str"),
        sz = feed_jtok_get(js, t, n, obj, "amount_str");
    int mi = feed_jtok_get(js, t, n, obj, "microtimestamp"),
        ty = feed_jtok_get(js, t, n, obj, "type");
    int id = feed_jtok_get(js, t, n, obj, "id");
    if (px < 0)
        px = feed_jtok_get(js, t, n, obj, "price");
    if (sz < 0)
        sz = feed_jtok_get(js, t, n, obj, "amount");
    int64_t micro, type, tid = 0, px_v, sz_v;
    int rc = TG_EFIELD;
    if (px < 0 || sz < 0 || mi < 0 || ty < 0 || t[px].type == JSMN_OBJECT ||
        t[px].type == JSMN_ARRAY || t[sz].type == JSMN_OBJECT || t[sz].type == JSMN_ARRAY ||
        feed_jtok_i64(js, &t[mi], &micro) < 0 || micro < 0 || micro > INT64_MAX / 1000 ||
        feed_jtok_i64(js, &t[ty], &type) < 0 || (type != 0 && type != 1))
        goto fail;
    if (id >= 0 && (feed_jtok_i64(js, &t[id], &tid) < 0 || tid < 0))
        goto fail;
    if ((rc = feed_dec_px(h, s->id, js + t[px].start, feed_jtok_len(&t[px]), &px_v)) < 0 ||
        (rc = feed_dec_sz(h, s->id, js + t[sz].start, feed_jtok_len(&t[sz]), &sz_v)) < 0)
        goto fail;
    feed_emit_make(h, TG_EV_TRADE, s->id, type == 0 ? TG_SIDE_BUY : TG_SIDE_SELL, px_v, sz_v, 0,
                   (uint64_t)tid, micro * 1000, ts_recv, ts_mono, TG_EVF_LAST);
    return 0;
fail:
    return feed_jtok_drop(h, ts_mono, rc, "bad trade dropped", js, &t[obj]);
}

/* channel text "diff_order_book_xlmeur" -> sym, given the prefix */
static bs_sym_t *bs_chan_sym(feed_handler_t *h, const char *c, size_t n, const char *pfx)
{
    size_t pl = strlen(pfx);
    if (n <= pl || memcmp(c, pfx, pl) != 0)
        return NULL;
    return bs_lookup(h, c + pl, n - pl);
}

static int bs_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int data = feed_jtok_get(buf, t, n, 0, "data");
    int stream = feed_jtok_get(buf, t, n, 0, "stream");
    if (stream > 0 && t[stream].type == JSMN_STRING) {
        /* in-band REST snapshot */
        size_t sl = feed_jtok_len(&t[stream]);
        const char *sp = buf + t[stream].start;
        const char *sfx = "@depthSnapshot";
        size_t xl = strlen(sfx);
        bs_sym_t *s = NULL;
        if (sl > xl && memcmp(sp + sl - xl, sfx, xl) == 0)
            s = bs_chan_sym(h, sp, sl - xl, BS_BOOK_PFX);
        if (!s) {
            feed_count_error(h->stats, TG_ESYMBOL);
            bs_log(h, ts_mono, FEED_LOG_WARN, "unknown stream", buf, &t[stream]);
            return TG_ESYMBOL;
        }
        if (data < 0 || t[data].type != JSMN_OBJECT) {
            feed_count_error(h->stats, TG_EFIELD);
            return TG_EFIELD;
        }
        return bs_snapshot(h, s, buf, t, n, data, ts_recv, ts_mono);
    }
    int ev = feed_jtok_get(buf, t, n, 0, "event"), ch = feed_jtok_get(buf, t, n, 0, "channel");
    if (ev < 0 || t[ev].type != JSMN_STRING) {
        feed_count_error(h->stats, TG_EFIELD);
        bs_log(h, ts_mono, FEED_LOG_WARN, "frame without event", buf, &t[0]);
        return TG_EFIELD;
    }
    const char *cp = ch > 0 ? buf + t[ch].start : "";
    size_t cl = ch > 0 && t[ch].type == JSMN_STRING ? feed_jtok_len(&t[ch]) : 0;
    if (feed_jtok_eq(buf, &t[ev], "data") || feed_jtok_eq(buf, &t[ev], "trade")) {
        int is_trade = feed_jtok_eq(buf, &t[ev], "trade");
        bs_sym_t *s = bs_chan_sym(h, cp, cl, is_trade ? BS_TRADE_PFX : BS_BOOK_PFX);
        if (!s) {
            const char *pfx = is_trade ? BS_TRADE_PFX : BS_BOOK_PFX;
            size_t pl = strlen(pfx);
            if (cl <= pl || memcmp(cp, pfx, pl) != 0) {
                TG_STAT_INC(h->stats->unhandled); /* another channel (order_book_, ...) */
                return 0;
            }
            feed_count_error(h->stats, TG_ESYMBOL);
            bs_log(h, ts_mono, FEED_LOG_WARN, "unknown channel", buf, ch > 0 ? &t[ch] : &t[0]);
            return TG_ESYMBOL;
        }
        if (data < 0 || t[data].type != JSMN_OBJECT) {
            feed_count_error(h->stats, TG_EFIELD);
            return TG_EFIELD;
        }
        return is_trade ? bs_trade(h, s, buf, t, n, data, ts_recv, ts_mono)
                        : bs_diff(h, s, buf, t, n, data, ts_recv, ts_mono);
    }
    if (feed_jtok_eq(buf, &t[ev], "bts:subscription_succeeded")) {
        bs_sym_t *s = bs_chan_sym(h, cp, cl, BS_BOOK_PFX);
        if (s) {
            s->subscribed = 1;
            if (s->state != BS_SYNCED && !s->requested)
                bs_request_snapshot(h, s, ts_mono);
        }
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    if (feed_jtok_eq(buf, &t[ev], "bts:request_reconnect")) {
        TG_STAT_INC(h->stats->unhandled);
        if (h->reconnect)
            h->reconnect(h->tctx, "bitstamp: bts:request_reconnect");
        return 0;
    }
    if (feed_jtok_eq(buf, &t[ev], "bts:error")) {
        feed_count_error(h->stats, TG_EPROTO);
        bs_log(h, ts_mono, FEED_LOG_ERROR, "venue error", buf, &t[0]);
        return TG_EPROTO;
    }
    TG_STAT_INC(h->stats->unhandled);
    return 0;
}

static const feed_vparser_t bs_parser = {bs_frame, JSMN_OBJECT, FEED_VP_COUNT | FEED_VP_SLOW};

static int bs_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    bs_state_t *st = h->vstate;
    if (tag >= h->n_instr) {
        TG_STAT_INC(h->stats->frames);
        TG_STAT_ADD(h->stats->bytes, len);
        return -EINVAL;
    }
    bs_sym_t *s = &st->sym[tag];
    if (status != 200) {
        TG_STAT_INC(h->stats->frames);
        TG_STAT_ADD(h->stats->bytes, len);
        s->requested = 0; /* retried on the tick */
        feed_count_error(h->stats, TG_EPROTO);
        feed_logf(h, FEED_LOG_WARN, "bitstamp: snapshot request failed (status %d)", status);
        return TG_EPROTO;
    }
    int n = feed_jtok_parse(&st->jt, body, len);
    if (n < 0 || st->jt.t[0].type != JSMN_OBJECT) {
        TG_STAT_INC(h->stats->frames);
        TG_STAT_ADD(h->stats->bytes, len);
        s->requested = 0;
        feed_count_error(h->stats, TG_EJSON);
        return TG_EJSON;
    }
    bs_lvl_t *nl = feed_jtok_scratch(st->lv, &st->lv_cap, &st->jt, 3, sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    st->lv = nl;
    uint64_t before = feed_stats_settled(h->stats);
    int rc = bs_snapshot(h, s, body, st->jt.t, n, 0, ts_recv, ts_mono);
    if (rc == TG_ERESCALE)
        return rc; /* feed_rest() delivers the body again: counted then, once */
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    feed_count_handled(h, before);
    return rc;
}

/* feed_dec raised a pair's scale: bring its buffered diffs (raw values) to the new scales,
 * exactly. A value the new scale cannot hold drops the pair's buffer, remembered as lost (a
 * snapshot older than the lost diffs is not used). */
static void bs_on_rescale(feed_handler_t *h, uint32_t instr, int old_px, int old_sz)
{
    bs_state_t *st = h->vstate;
    if (!st || instr >= TG_INSTR_MAX || st->slot[instr] == 0)
        return;
    uint16_t slot = (uint16_t)(st->slot[instr] - 1);
    int px = feed_px_scale(h, instr), sz = feed_sz_scale(h, instr);
    int64_t newest = 0;
    bool lost = false;
    for (size_t i = 0; i < st->n_pend; i++) {
        bs_pend_t *p = &st->pend[i];
        if (p->slot != slot)
            continue;
        int64_t a = 0, b = 0;
        if (tg_dec_rescale(p->px, old_px, px, &a) < 0 || tg_dec_rescale(p->sz, old_sz, sz, &b) < 0)
            lost = true;
        p->px = a;
        p->sz = b;
        if (p->micro > newest)
            newest = p->micro;
    }
    if (lost) {
        bs_drop_pending(st, slot);
        st->sym[slot].lost_micro = newest;
        feed_logf(h, FEED_LOG_WARN,
                  "bitstamp: buffered diffs dropped (not representable at the new scale)");
    }
}

/* The state, allocated and freed by the venue base (the level scratch grows with the tokens). */
static const feed_vspec_t bs_spec = {
    FEED_VSPEC(bs_state_t, BS_TOK_INIT, BS_TOK_MAX),
    .blocks = {FEED_VSCRATCH(bs_state_t, lv, 3), FEED_VBLOCK(bs_state_t, pend, BS_PEND_MAX)},
};

static int bs_on_open(feed_handler_t *h)
{
    bs_state_t *st = h->vstate;
    st->n_pend = 0;
    int rc = 0;
    for (uint32_t i = 0; i < h->n_instr && rc >= 0; i++) {
        bs_sym_t *s = &st->sym[i];
        s->state = BS_WAIT;
        s->requested = s->subscribed = 0;
        s->resync_seen = feed_resync_count(h, s->id);
        s->lost_micro = s->snap_micro = s->last_micro = 0;
        const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
        if (!in || !bs_name_ok(in->symbol) || !h->send)
            continue;
        char msg[160];
        for (int k = 0; k < 2 && rc >= 0; k++) {
            if (!(h->channels & (k == 0 ? FEED_CH_BOOK : FEED_CH_TRADES)))
                continue;
            int m = snprintf(msg, sizeof(msg),
                             "{\"event\":\"bts:subscribe\",\"data\":{\"channel\":\"%s%s\"}}",
                             k == 0 ? BS_BOOK_PFX : BS_TRADE_PFX, in->symbol);
            rc = h->send(h->tctx, msg, (size_t)m);
        }
    }
    return rc < 0 ? rc : 0;
}

static void bs_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    bs_state_t *st = h->vstate;
    st->n_pend = 0;
    feed_emit_stale_all(h, 0, ts_recv, ts_mono);
    for (uint32_t i = 0; i < h->n_instr; i++) {
        st->sym[i].state = BS_WAIT;
        st->sym[i].requested = st->sym[i].subscribed = 0;
    }
}

/* retry snapshot requests that failed or got no answer */
static void bs_on_tick(feed_handler_t *h, int64_t now_mono)
{
    bs_state_t *st = h->vstate;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        bs_sym_t *s = &st->sym[i];
        if (feed_resync_asked(h, s->id, &s->resync_seen)) {
            /* the builder saw a crossed book: start over from a new snapshot */
            s->state = BS_WAIT;
            s->requested = 0;
            TG_STAT_INC(h->stats->resyncs);
            bs_drop_pending(st, (uint16_t)i);
            bs_log(h, now_mono, FEED_LOG_WARN, "builder asked for a resync (crossed book)", NULL,
                   NULL);
        }
        if (s->state == BS_WAIT && s->subscribed &&
            (!s->requested || now_mono - s->req_mono > BS_RETRY_NS))
            bs_request_snapshot(h, s, now_mono);
    }
}

/* Replay: "/api/v2/order_book/xlmeur/" -> "diff_order_book_xlmeur" (the channel it seeds). */
static int bs_rest_key(const char *path, char *key, size_t cap)
{
    return feed_rest_key_tail(path, "/api/v2/order_book/", "diff_order_book_", key, cap);
}

const feed_venue_t feed_venue_bitstamp = {
    .name = "bitstamp",
    .default_url = "wss://ws.bitstamp.net",
    .rest_host = "www.bitstamp.net",
    .rest_key = bs_rest_key,
    .on_rescale = bs_on_rescale,
    .instr_defaults = feed_instr_defaults_plain,
    .state = &bs_spec,
    FEED_VENUE_PARSE(bs),
    .on_rest = bs_on_rest,
};
