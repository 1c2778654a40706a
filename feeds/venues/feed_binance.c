/* SPDX-License-Identifier: MIT */
/*
 * Binance spot (feed_venue_binance) and USD-M futures (feed_venue_binance_futures) handlers:
 * combined-stream frames ({"stream":..,"data":..}) or bare payloads, depthUpdate diffs, trade
 * and aggTrade, REST depth snapshots (in-band `@depthSnapshot` records offline, on_rest live).
 *
 * DESIGN
 * Parsing: feed_binance_scan.c tries a single-pass scanner first; anything it does not fully
 * understand goes to the generic jsmn parser below. Both only tokenize into bn_fields_t;
 * feed_binance__finish() is the one place that gives fields a meaning (see feed_binance.h).
 *
 * Book sync, per symbol, exactly as Binance documents it:
 *   WAIT  no usable snapshot: diffs are buffered (feed_binance_buf.c: a bounded pool per
 *         connection shared fairly by its symbols; when it is full the oldest diffs of the
 *         symbol holding the most are evicted, counted and remembered in evicted_u).
 *   SYNC  snapshot (lastUpdateId L) emitted; diffs with u <= L (spot) / u < L (futures) are
 *         stale and dropped; the first applied one must bridge: spot U <= L+1 <= u,
 *         futures U <= L <= u.
 *   LIVE  each diff must chain: spot U == prev u + 1, futures pu == prev u.
 * A diff that fails to bridge or chain emits TG_EV_GAP (seq = last good u, u.aux = the U
 * (spot) / pu (futures) received), counts a gap and a resync, asks for a new REST snapshot
 * (live; offline the next in-band snapshot, if any, is used) and goes back to WAIT with the
 * breaking diff buffered. A diff whose levels fail to decode invalidates the book the same
 * way. A snapshot older than the buffered diffs (first newer diff does not bridge, or a diff
 * newer than it was evicted) is not applied; another one is requested. A snapshot arriving while
 * LIVE is ignored (tardis does the same); a snapshot in SYNC replaces the previous one.
 *
 * Futures trades with X other than "MARKET" (INSURANCE_FUND, ADL, NA) are liquidation and
 * deleveraging fills, not trades of the public book: they are dropped and counted as
 * unhandled (the oracle drops them too).
 *
 * Thread: feed:<venue> for everything.
 */
#include "feeds/venues/feed_binance.h"
#include "feeds/venues/venues.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "book/tg_grow.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* O(1) instead of a backwards scan per ',' and ']' */
#define JSMN_STRICT
#include <jsmn.h>

#include "feeds/feed_jtok.h"

#define BN_TOK_CAP   (1u << 16) /* REST limit=5000: 10000 levels * 3 + a few tokens */
#define BN_LV_CAP    (1u << 15) /* level pairs decoded from one message */
#define BN_BD_CAP    8192u      /* buffered diffs per connection (64 B each: 512 KiB) */
#define BN_BL_CAP    (1u << 17) /* buffered level pairs per connection (16 B each: 2 MiB) */
#define BN_LOG_BURST 20         /* log lines per 10 s window */

enum { BN_ST_WAIT = 0, BN_ST_SYNC = 1, BN_ST_LIVE = 2 };

/* ---------------------------------------------------------------- symbols */

int feed_binance__sym(feed_bn_t *b, const char *s, size_t n, bool nocase)
{
    if (b->last_sym >= 0) {
        const bn_sym_t *y = &b->sym[b->last_sym];
        if (y->len == n && memcmp(nocase ? y->lower : y->upper, s, n) == 0)
            return b->last_sym;
    }
    int64_t id = nocase ? tg_instr_reg_find_nocase(b->h->reg, b->h->venue_id, s, n)
                        : tg_instr_reg_find(b->h->reg, b->h->venue_id, s, n);
    if (id < 0 || id >= TG_INSTR_MAX || b->sym_of_instr[id] == 0)
        return -1;
    b->last_sym = b->sym_of_instr[id] - 1;
    return b->last_sym;
}

/* ---------------------------------------------------------------- semantics */

static bool bn_str_is(bn_str_t s, const char *lit, uint32_t n)
{
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* largest ms time whose ns value fits int64 (2262-04-11) */
#define BN_MS_MAX 9223372036854ULL

/* An event of type ty (m->type) of the symbol named by "s" (sym, -1: not ours), which needs the
 * fields need (have bits hv). @return 0, TG_EFIELD (no "s", a field missing) or TG_ESYMBOL. */
static int bn_event(bn_msg_t *m, int ty, uint32_t hv, int sym, uint32_t need)
{
    m->type = ty;
    if (!(hv & BNF_S))
        return TG_EFIELD;
    m->sym = sym;
    if (sym < 0)
        return TG_ESYMBOL;
    return (hv & need) != need ? TG_EFIELD : 0;
}

int feed_binance__finish(feed_bn_t *b, const bn_fields_t *f, int sym, int snap_ctx, bool fast,
                         bn_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    m->sym = -1;
    uint32_t hv = f->have;
    if (((hv & BNF_T) && f->T > BN_MS_MAX) || ((hv & BNF_E_TIME) && f->E > BN_MS_MAX))
        return (hv & (BNF_LUID | BNF_E_TYPE)) ? TG_EFIELD : 0;
    if (hv & BNF_ERR) {
        m->type = BN_MSG_VENUE_ERR;
        return 0;
    }
    if ((hv & BNF_LUID) && snap_ctx) {
        m->type = BN_MSG_SNAPSHOT;
        m->sym = sym;
        if (sym < 0)
            return TG_ESYMBOL;
        if (!(hv & BNF_BLV) || !(hv & BNF_ALV))
            return TG_EFIELD;
        m->u = f->luid;
        m->ts_ms = (hv & BNF_T) ? (int64_t)f->T : (hv & BNF_E_TIME) ? (int64_t)f->E : 0;
        goto levels;
    }
    if (!(hv & BNF_E_TYPE))
        return 0; /* bookTicker (spot has no "e"), acks ({"result":null,"id":1}) */
    int rc;
    if (bn_str_is(f->e, "depthUpdate", 11)) {
        const uint32_t need = BNF_E_TIME | BNF_UU | BNF_U | BNF_BLV | BNF_ALV;
        if ((rc = bn_event(m, BN_MSG_DEPTH, hv, sym, need)) < 0)
            return rc;
        m->U = f->U;
        m->u = f->u;
        m->pu = f->pu;
        m->has_pu = (hv & BNF_PU) != 0;
        if (b->futures && !m->has_pu)
            return TG_EFIELD;
        if (m->U > m->u)
            return TG_EFIELD;
        m->ts_ms = (hv & BNF_T) ? (int64_t)f->T : (int64_t)f->E;
        goto levels;
    }
    bool agg = bn_str_is(f->e, "aggTrade", 8);
    if (agg || bn_str_is(f->e, "trade", 5)) {
        const uint32_t need = BNF_P | BNF_Q | BNF_T | BNF_M | (agg ? BNF_AID : BNF_TID);
        if ((rc = bn_event(m, BN_MSG_TRADE, hv, sym, need)) < 0)
            return rc;
        uint32_t in = b->sym[sym].instr;
        if (fast) { /* the scanner changes nothing: current scales, any failure gives up */
            rc = feed_binance__dec_fast(f->p.p, f->p.n, feed_px_scale(b->h, in), &m->px);
            if (rc == 0)
                rc = feed_binance__dec_fast(f->q.p, f->q.n, feed_sz_scale(b->h, in), &m->qty);
        } else {
            rc = feed_dec_px(b->h, in, f->p.p, f->p.n, &m->px);
            if (rc == 0)
                rc = feed_dec_sz(b->h, in, f->q.p, f->q.n, &m->qty);
        }
        if (rc < 0)
            return rc;
        m->trade_id = agg ? f->a : f->t;
        m->agg = agg;
        m->ts_ms = (int64_t)f->T;
        m->side = f->m ? TG_SIDE_SELL : TG_SIDE_BUY; /* m: buyer is the maker */
        m->market = !(hv & BNF_X) || bn_str_is(f->x, "MARKET", 6);
        return 0;
    }
    return 0; /* other event types: not ours */
levels:
    m->bid = b->lv + 2 * (size_t)f->b_off;
    m->n_bid = f->b_n;
    m->ask = b->lv + 2 * (size_t)f->a_off;
    m->n_ask = f->a_n;
    return 0;
}

/* ---------------------------------------------------------------- generic parser */

static bn_str_t tok_str(const char *js, const jsmntok_t *t)
{
    return (bn_str_t){js + t->start, (uint32_t)(t->end - t->start)};
}

/* How the field walk of an event (bn_field) takes a key's value. */
enum {
    BNK_STR,  /* a string into the bn_str_t field */
    BNK_U64,  /* a number into the uint64_t field */
    BNK_BOOL, /* true / false into f->m */
    BNK_A,    /* "a": the asks array, or the aggTrade id (a number into f->a) */
    BNK_B,    /* "b": the bids array (anything else is skipped) */
    BNK_ASKS, /* "asks": the asks array */
    BNK_BIDS, /* "bids": the bids array */
    BNK_FLAG, /* only its bit in f->have */
};

/* A key of an event: its name, how its value is taken, its bit in f->have, its field. */
typedef struct bn_key {
    const char *name;
    int len;
    uint8_t kind;
    uint32_t bit;
    size_t off;
} bn_key_t;

#define BNF_NONE 0u
#define BNK(name, kind, bit, field)                                                                \
    {                                                                                              \
        name, sizeof(name) - 1, BNK_##kind, BNF_##bit, offsetof(bn_fields_t, field)                \
    }

/* clang-format off */
static const bn_key_t bn_keys[] = {
    BNK("e", STR, E_TYPE, e), BNK("E", U64, E_TIME, E), BNK("T", U64, T, T), BNK("s", STR, S, s),
    BNK("U", U64, UU, U), BNK("u", U64, U, u), BNK("t", U64, TID, t), BNK("p", STR, P, p),
    BNK("q", STR, Q, q), BNK("m", BOOL, M, m), BNK("X", STR, X, x), BNK("a", A, AID, a),
    BNK("b", B, NONE, have), BNK("pu", U64, PU, pu), BNK("lastUpdateId", U64, LUID, luid),
    BNK("bids", BIDS, NONE, have), BNK("asks", ASKS, NONE, have), BNK("code", FLAG, ERR, have),
    BNK("error", FLAG, ERR, have),
};
/* clang-format on */

/* The value of key token k of an event (a string) into f, or the index of its level array into
 * *ta / *tb; an unknown key is skipped. @return 0 or an error. */
static int bn_field(const char *buf, const jsmntok_t *t, int k, bn_fields_t *f, int *ta, int *tb)
{
    const jsmntok_t *v = &t[k + 1];
    int kn = t[k].end - t[k].start;
    const bn_key_t *d = NULL;
    for (size_t i = 0; i < sizeof(bn_keys) / sizeof(bn_keys[0]) && !d; i++)
        if (bn_keys[i].len == kn && memcmp(buf + t[k].start, bn_keys[i].name, (size_t)kn) == 0)
            d = &bn_keys[i];
    if (!d)
        return 0;
    void *fp = (char *)f + d->off;
    switch (d->kind) {
    case BNK_STR:
        if (v->type != JSMN_STRING)
            return TG_EFIELD;
        *(bn_str_t *)fp = tok_str(buf, v);
        break;
    case BNK_U64:
        f->have |= d->bit;
        return feed_jtok_u64(buf, v, (uint64_t *)fp);
    case BNK_BOOL:
        if (v->type != JSMN_PRIMITIVE || (buf[v->start] != 't' && buf[v->start] != 'f'))
            return TG_EFIELD;
        f->m = buf[v->start] == 't';
        break;
    case BNK_A:
        if (v->type == JSMN_ARRAY) {
            *ta = k + 1;
        } else if (v->type == JSMN_PRIMITIVE) {
            f->have |= d->bit;
            return feed_jtok_u64(buf, v, &f->a);
        }
        return 0;
    case BNK_B:
        if (v->type == JSMN_ARRAY)
            *tb = k + 1;
        return 0;
    case BNK_ASKS:
        *ta = k + 1;
        return 0;
    case BNK_BIDS:
        *tb = k + 1;
        return 0;
    default:
        break;
    }
    f->have |= d->bit;
    return 0;
}

/* decode a [[px,sz],...] token array into scratch, at the instrument's current scales
 * (feed_dec: TG_ERESCALE when one had to grow) */
static int tok_levels(feed_bn_t *b, const char *js, const jsmntok_t *t, int n, int i,
                      const bn_sym_t *y, uint32_t *off, uint32_t *cnt)
{
    if (t[i].type != JSMN_ARRAY)
        return TG_EFIELD;
    int size = t[i].size;
    if ((uint32_t)size > b->lv_cap - b->lv_n)
        return TG_EFIELD;
    *off = b->lv_n;
    int k = i + 1;
    for (int j = 0; j < size; j++) {
        if (k + 2 >= n + 0 || t[k].type != JSMN_ARRAY || t[k].size != 2 ||
            t[k + 1].type != JSMN_STRING || t[k + 2].type != JSMN_STRING)
            return TG_EFIELD;
        int64_t *d = b->lv + 2 * (size_t)b->lv_n;
        int rc = feed_dec_px(b->h, y->instr, js + t[k + 1].start,
                             (size_t)(t[k + 1].end - t[k + 1].start), &d[0]);
        if (rc == 0)
            rc = feed_dec_sz(b->h, y->instr, js + t[k + 2].start,
                             (size_t)(t[k + 2].end - t[k + 2].start), &d[1]);
        if (rc < 0)
            return rc;
        b->lv_n++;
        k += 3;
    }
    *cnt = (uint32_t)size;
    return 0;
}

static int bn_sym_of_stream(feed_bn_t *b, const char *js, const jsmntok_t *t)
{
    const char *s = js + t->start;
    size_t n = (size_t)(t->end - t->start);
    const char *at = memchr(s, '@', n);
    return at ? feed_binance__sym(b, s, (size_t)(at - s), true) : -1;
}

int feed_binance__parse(feed_bn_t *b, const char *buf, size_t len, int rest_sym, bn_msg_t *m)
{
    jsmntok_t *t = b->tok;
    jsmn_parser p;
    memset(m, 0, sizeof(*m));
    m->sym = -1;
    jsmn_init(&p);
    int n = jsmn_parse(&p, buf, len, t, b->tok_cap);
    if (n < 1 || t[0].type != JSMN_OBJECT)
        return TG_EJSON;
    size_t end = (size_t)t[0].end;
    while (end < len &&
           (buf[end] == ' ' || buf[end] == '\n' || buf[end] == '\r' || buf[end] == '\t'))
        end++;
    if (end != len || !feed_jtok_wellformed(t, n))
        return TG_EJSON;

    /* wrapper? */
    int data = 0, sym = rest_sym, snap_ctx = rest_sym >= 0;
    if (rest_sym < 0) {
        int stream = -1, d = -1, k = 1;
        for (int j = 0; j < t[0].size && k + 1 < n; j++) { /* k + 1 < n: see below */
            if (feed_jtok_str_is(buf, &t[k], "stream"))
                stream = k + 1;
            else if (feed_jtok_str_is(buf, &t[k], "data"))
                d = k + 1;
            k = feed_jtok_next(t, n, k + 1);
        }
        if (d > 0) {
            if (t[d].type != JSMN_OBJECT)
                return TG_EFIELD;
            data = d;
            if (stream > 0 && t[stream].type == JSMN_STRING) {
                int sl = t[stream].end - t[stream].start;
                if (sl > 14 && memcmp(buf + t[stream].end - 14, "@depthSnapshot", 14) == 0) {
                    snap_ctx = 1;
                    sym = bn_sym_of_stream(b, buf, &t[stream]);
                }
            }
        } else {
            /* bare payload; a bare REST body names no symbol: only usable with one symbol */
            snap_ctx = 1;
            sym = b->n_sym == 1 ? 0 : -1;
        }
    }

    /* collect fields */
    bn_fields_t f;
    memset(&f, 0, sizeof(f));
    int tb = -1, ta = -1, k = data + 1;
    for (int j = 0; j < t[data].size; j++) {
        if (k + 1 >= n) /* a key without its value: jsmn takes {"a","b":} (fuzz_rest) */
            return TG_EJSON;
        if (t[k].type != JSMN_STRING)
            return TG_EJSON;
        int rc = bn_field(buf, t, k, &f, &ta, &tb);
        if (rc < 0)
            return rc;
        k = feed_jtok_next(t, n, k + 1);
    }
    bool is_snap = snap_ctx && (f.have & BNF_LUID);
    if (!is_snap)
        sym = (f.have & BNF_S) ? feed_binance__sym(b, f.s.p, f.s.n, false) : -1;
    /* levels need the symbol's scales */
    b->lv_n = 0;
    if (tb >= 0 || ta >= 0) {
        bool is_book = is_snap || ((f.have & BNF_E_TYPE) && bn_str_is(f.e, "depthUpdate", 11));
        if (is_book && sym >= 0) {
            int rc;
            if ((tb >= 0 &&
                 (rc = tok_levels(b, buf, t, n, tb, &b->sym[sym], &f.b_off, &f.b_n)) < 0) ||
                (ta >= 0 &&
                 (rc = tok_levels(b, buf, t, n, ta, &b->sym[sym], &f.a_off, &f.a_n)) < 0)) {
                m->type = is_snap ? BN_MSG_SNAPSHOT : BN_MSG_DEPTH;
                m->sym = sym;
                m->u = f.u;
                return rc;
            }
        }
        if (tb >= 0 && t[tb].type == JSMN_ARRAY)
            f.have |= BNF_BLV;
        if (ta >= 0 && t[ta].type == JSMN_ARRAY)
            f.have |= BNF_ALV;
    }
    return feed_binance__finish(b, &f, sym, snap_ctx, false, m);
}

/* ---------------------------------------------------------------- emission */

/* One side's levels: proto (kind, side, seq, times, flags) with each level's price and size,
 * written straight into the output buffer. proto is stamped already, so this is feed_emit()
 * without its per-event checks (feed_emit itself where the buffer is full: it flushes). */
static void bn_emit_side(feed_handler_t *h, tg_event_t *proto, const int64_t *lv, uint32_t n)
{
    feed_out_t *o = &h->out;
    for (uint32_t i = 0; i < n; i++) {
        proto->price = lv[2 * i];
        proto->size = lv[2 * i + 1];
        if (o->n < o->cap)
            o->ev[o->n++] = *proto;
        else
            feed_emit(h, proto);
    }
}

/* Levels of one message. ps/ss: the scales the values were decoded at, or -1 for the
 * instrument's current ones (a message decoded in this frame). */
static void bn_emit_levels(feed_bn_t *b, const bn_sym_t *y, const int64_t *bid, uint32_t nb,
                           const int64_t *ask, uint32_t na, uint64_t seq, int64_t ts_exch,
                           int64_t ts_recv, int64_t ts_mono, uint16_t flags, int ps, int ss)
{
    feed_handler_t *h = b->h;
    tg_event_t ev = feed_event(TG_EV_LEVEL, y->instr, TG_SIDE_BID, 0, 0, seq, 0, ts_exch, ts_recv,
                               ts_mono, flags);
    if (ps >= 0) {
        ev.flags |= TG_EVF_SCALED;
        ev.px_scale = (unsigned)ps;
        ev.sz_scale = (unsigned)ss;
    }
    feed_stamp(h, &ev);
    bn_emit_side(h, &ev, bid, nb);
    ev.side = TG_SIDE_ASK;
    bn_emit_side(h, &ev, ask, na);
    feed_count_events(h, TG_EV_LEVEL, nb + na);
    feed_end_message(h, y->instr, ts_exch, ts_recv, ts_mono);
}

/* ---------------------------------------------------------------- sync */

static void bn_request_snapshot(feed_bn_t *b, int s, int64_t now)
{
    feed_handler_t *h = b->h;
    bn_sym_t *y = &b->sym[s];
    y->want_snap = false;
    y->snap_req_mono = now;
    if (!h->rest_get)
        return;
    char path[128];
    snprintf(path, sizeof(path), "%s?symbol=%s&limit=1000", b->route, y->upper);
    if (h->rest_get(h->tctx, path, ((uint64_t)b->gen << 32) | (uint32_t)s) < 0)
        y->want_snap = true; /* retried on the tick */
}

static void bn_gap(feed_bn_t *b, int s, uint64_t got, int64_t ts_exch, int64_t ts_recv,
                   int64_t ts_mono)
{
    bn_sym_t *y = &b->sym[s];
    feed_handler_t *h = b->h;
    feed_emit_make(h, TG_EV_GAP, y->instr, 0, 0, 0, y->last_u, got, ts_exch, ts_recv, ts_mono,
                   TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    TG_STAT_INC(h->stats->resyncs);
    y->state = BN_ST_WAIT;
    bn_request_snapshot(b, s, ts_mono);
}

enum { BN_APPLIED = 0, BN_STALE = 1, BN_BROKEN = 2 };

/* Apply one diff to a SYNC or LIVE symbol. On BN_BROKEN the caller decides what to do with
 * the diff (buffer it), after bn_gap() was emitted here. */
static int bn_apply(feed_bn_t *b, int s, uint64_t U, uint64_t u, uint64_t pu, const int64_t *bid,
                    uint32_t nb, const int64_t *ask, uint32_t na, int64_t ts_ms, int64_t ts_recv,
                    int64_t ts_mono, int ps, int ss)
{
    bn_sym_t *y = &b->sym[s];
    uint64_t L = y->last_u;
    int64_t ts_exch = ts_ms * 1000000;
    bool ok;
    if (y->state == BN_ST_LIVE) {
        if (u <= L) {
            TG_STAT_INC(b->h->stats->stale_dropped);
            return BN_STALE;
        }
        ok = b->futures ? pu == L : U == L + 1;
    } else { /* SYNC: first diff after the snapshot */
        if (b->futures ? u < L : u <= L) {
            TG_STAT_INC(b->h->stats->stale_dropped);
            return BN_STALE;
        }
        ok = b->futures ? (U <= L && L <= u) : (U <= L + 1 && L + 1 <= u);
    }
    if (!ok) {
        bn_gap(b, s, b->futures ? pu : U, ts_exch, ts_recv, ts_mono);
        return BN_BROKEN;
    }
    bn_emit_levels(b, y, bid, nb, ask, na, u, ts_exch, ts_recv, ts_mono, 0, ps, ss);
    y->state = BN_ST_LIVE;
    y->last_u = u;
    return BN_APPLIED;
}

static void bn_on_depth(feed_bn_t *b, const bn_msg_t *m, int64_t ts_recv, int64_t ts_mono)
{
    bn_sym_t *y = &b->sym[m->sym];
    if (y->state == BN_ST_WAIT) {
        feed_binance__buf_push(b, m->sym, m, ts_recv, ts_mono);
        return;
    }
    if (bn_apply(b, m->sym, m->U, m->u, m->pu, m->bid, m->n_bid, m->ask, m->n_ask, m->ts_ms,
                 ts_recv, ts_mono, -1, -1) == BN_BROKEN)
        feed_binance__buf_push(b, m->sym, m, ts_recv, ts_mono);
}

static void bn_on_snapshot(feed_bn_t *b, const bn_msg_t *m, int64_t ts_recv, int64_t ts_mono,
                           uint16_t rest_flag)
{
    int s = m->sym;
    bn_sym_t *y = &b->sym[s];
    feed_handler_t *h = b->h;
    uint64_t L = m->u;
    if (y->state == BN_ST_LIVE) {
        TG_STAT_INC(h->stats->unhandled);
        return; /* our book is continuous; an extra snapshot adds nothing */
    }
    TG_STAT_INC(h->stats->handled);
    /* the first buffered diff newer than the snapshot must bridge it, and no diff newer than
       it may have been evicted (feed_binance_buf.c): else the chain from L on has a hole */
    bool old = b->futures ? y->evicted_u >= L : y->evicted_u > L;
    for (uint32_t i = 0; i < b->bd_n && !old; i++) {
        const bn_bufdiff_t *d = &b->bd[i];
        if (d->sym != s || (b->futures ? d->u < L : d->u <= L))
            continue;
        old = b->futures ? d->U > L : d->U > L + 1;
        break;
    }
    if (old) {
        feed_log_frame(b->h, &b->log_rl, ts_mono, FEED_LOG_WARN,
                       "snapshot older than buffered diffs, retrying", 0, y->upper,
                       strlen(y->upper));
        TG_STAT_INC(h->stats->resyncs);
        /* the first retry at once (a newer snapshot bridges what is buffered); then backing
           off (bn_retry_ns), so that a symbol whose snapshots keep coming too late cannot
           take the venue's REST budget and slots from every other book */
        if (y->snap_refused++ == 0) {
            bn_request_snapshot(b, s, ts_mono);
        } else {
            y->want_snap = true;
            y->snap_req_mono = ts_mono;
        }
        return;
    }
    int64_t ts_exch = m->ts_ms * 1000000;
    uint16_t fl = TG_EVF_SNAPSHOT | rest_flag;
    feed_emit_make(h, TG_EV_BOOK_CLEAR, y->instr, 0, 0, 0, L, 0, ts_exch, ts_recv, ts_mono, fl);
    TG_STAT_INC(h->stats->snapshots);
    bn_emit_levels(b, y, m->bid, m->n_bid, m->ask, m->n_ask, L, ts_exch, ts_recv, ts_mono, fl, -1,
                   -1);
    y->state = BN_ST_SYNC;
    y->last_u = L;
    y->want_snap = false;
    y->evicted_u = 0;
    y->snap_refused = 0;
    /* replay this symbol's buffered diffs in order */
    bool any = false;
    for (uint32_t i = 0; i < b->bd_n; i++) {
        bn_bufdiff_t *d = &b->bd[i];
        if (d->sym != s)
            continue;
        const int64_t *lv = b->bl + 2 * (size_t)d->off;
        int r = bn_apply(b, s, d->U, d->u, d->pu, lv, d->n_bid, lv + 2 * (size_t)d->n_bid, d->n_ask,
                         d->ts_ms, d->ts_recv, d->ts_mono, d->px_scale, d->sz_scale);
        if (r == BN_BROKEN)
            break; /* this one and the rest stay buffered */
        feed_binance__buf_take(b, i);
        any = true;
    }
    if (any)
        feed_binance__buf_compact(b);
}

/* ---------------------------------------------------------------- handler */

static void bn_count_error(feed_bn_t *b, int rc, const bn_msg_t *m, const char *buf, size_t len,
                           int64_t ts_recv, int64_t ts_mono)
{
    feed_stats_t *st = b->h->stats;
    const char *what = feed_count_error(st, rc);
    feed_log_frame(b->h, &b->log_rl, ts_mono, FEED_LOG_WARN, what, rc, buf, len);
    if (m->sym < 0)
        return;
    bn_sym_t *y = &b->sym[m->sym];
    /* a book message we could not read: the book can no longer be trusted */
    if (m->type == BN_MSG_DEPTH && y->state != BN_ST_WAIT) {
        bn_gap(b, m->sym, m->u, 0, ts_recv, ts_mono);
    } else if (m->type == BN_MSG_SNAPSHOT && y->state != BN_ST_LIVE) {
        TG_STAT_INC(st->resyncs);
        bn_request_snapshot(b, m->sym, ts_mono);
    }
}

static void bn_dispatch(feed_bn_t *b, const bn_msg_t *m, const char *buf, size_t len,
                        int64_t ts_recv, int64_t ts_mono, uint16_t rest_flag)
{
    feed_handler_t *h = b->h;
    switch (m->type) {
    case BN_MSG_DEPTH:
        TG_STAT_INC(h->stats->handled);
        bn_on_depth(b, m, ts_recv, ts_mono);
        break;
    case BN_MSG_SNAPSHOT:
        bn_on_snapshot(b, m, ts_recv, ts_mono, rest_flag);
        break;
    case BN_MSG_TRADE: {
        feed_binance__bf_trade(b, m->sym, m->trade_id, m->agg, ts_mono);
        if (!m->market) {
            TG_STAT_INC(h->stats->unhandled);
            break;
        }
        TG_STAT_INC(h->stats->handled);
        const bn_sym_t *y = &b->sym[m->sym];
        int64_t ts = m->ts_ms * 1000000;
        feed_emit_make(h, TG_EV_TRADE, y->instr, m->side, m->px, m->qty, m->trade_id, m->trade_id,
                       ts, ts_recv, ts_mono, TG_EVF_LAST);
        break;
    }
    case BN_MSG_VENUE_ERR:
        feed_venue_error(h, buf, len); /* err_venue, logged, kept for /health */
        break;
    default:
        TG_STAT_INC(h->stats->unhandled);
        break;
    }
}

static int bn_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                       int64_t ts_mono)
{
    feed_bn_t *b = h->vstate;
    bn_msg_t m;
    if (b->path == FEED_BN_PATH_AUTO && feed_binance__scan(b, buf, len, &m) == 0) {
        TG_STAT_INC(h->stats->fast_path);
    } else {
        int rc = feed_binance__parse(b, buf, len, -1, &m);
        if (rc == TG_ERESCALE)
            return rc; /* a scale grew: feed_frame() parses the frame again, nothing changed */
        TG_STAT_INC(h->stats->slow_path);
        if (rc < 0) {
            bn_count_error(b, rc, &m, buf, len, ts_recv, ts_mono);
            return rc;
        }
    }
    bn_dispatch(b, &m, buf, len, ts_recv, ts_mono, TG_EVF_REST);
    /* a venue error is counted in err_venue: an error frame, as in bybit/bitget (fuzz_venue) */
    return m.type == BN_MSG_VENUE_ERR ? TG_EPROTO : 0;
}

static int bn_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    feed_bn_t *b = h->vstate;
    uint32_t s = (uint32_t)tag;
    if ((uint32_t)(tag >> 32) != b->gen || (s >= b->n_sym && !(s & BN_BF_TAG)))
        return 0;      /* answer to a request of a previous connection */
    if (s & BN_BF_TAG) /* a trade-history page (feed_binance_backfill.c) */
        return (s & ~BN_BF_TAG) < b->n_sym
                   ? feed_binance__bf_rest(b, s & ~BN_BF_TAG, status, body, len, ts_recv, ts_mono)
                   : 0;
    bn_msg_t m;
    int rc = 0;
    if (status == 200) {
        /* every number first: a scale that grows makes feed_rest() call again */
        rc = feed_binance__parse(b, body, len, (int)s, &m);
        if (rc == TG_ERESCALE)
            return rc;
    }
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    if (status != 200) {
        if (status) {
            feed_venue_error(h, body, len); /* 429/418 rate limits, -1121 bad symbol, ... */
        } else {
            TG_STAT_INC(h->stats->err_venue);
            feed_log_frame(b->h, &b->log_rl, ts_mono, FEED_LOG_ERROR, "REST failed", status, body,
                           len);
        }
        b->sym[s].want_snap = true;
        return TG_EPROTO;
    }
    TG_STAT_INC(h->stats->slow_path);
    if (rc == 0 && m.type != BN_MSG_SNAPSHOT)
        rc = TG_EFIELD;
    if (rc < 0) {
        m.type = BN_MSG_SNAPSHOT;
        m.sym = (int)s;
        bn_count_error(b, rc, &m, body, len, ts_recv, ts_mono);
        return rc;
    }
    bn_dispatch(b, &m, body, len, ts_recv, ts_mono, TG_EVF_REST);
    return 0;
}

static void bn_reset(feed_bn_t *b)
{
    for (uint32_t i = 0; i < b->n_sym; i++) {
        b->sym[i].state = BN_ST_WAIT;
        b->sym[i].last_u = 0;
        b->sym[i].want_snap = false;
        b->sym[i].snap_refused = 0;
    }
    feed_binance__buf_clear(b);
    b->sub_len = b->sub_off = 0;
}

/* Append one subscribe message to the pending list. @return 0 or -ENOMEM. */
static int bn_sub_add(feed_bn_t *b, const char *msg, size_t n)
{
    if (tg_grow(&b->sub, &b->sub_cap, b->sub_len + n + 1, 1, 4096) < 0)
        return -ENOMEM;
    memcpy(b->sub + b->sub_len, msg, n);
    b->sub[b->sub_len + n] = '\n';
    b->sub_len += n + 1;
    return 0;
}

/* Messages the client may send per second, keeping one for the transport's pong (Binance
 * counts PING/PONG frames and JSON control messages against the same limit). */
static uint32_t bn_send_budget(const feed_bn_t *b)
{
    uint32_t lim = b->h->venue->max_sends_per_s;
    return lim > 1 ? lim - 1 : 1;
}

/* Send up to the per-second budget of pending subscribe messages. */
static void bn_sub_flush(feed_bn_t *b)
{
    feed_handler_t *h = b->h;
    for (uint32_t k = bn_send_budget(b); k > 0 && b->sub_off < b->sub_len; k--) {
        const char *m = b->sub + b->sub_off;
        const char *e = memchr(m, '\n', b->sub_len - b->sub_off);
        size_t n = (size_t)(e - m);
        if (feed_send(h, m, n) < 0 && h->send)
            break; /* queue full: retried on the next tick */
        b->sub_off += n + 1;
    }
    if (b->sub_off == b->sub_len)
        b->sub_off = b->sub_len = 0;
}

static int bn_on_open(feed_handler_t *h)
{
    feed_bn_t *b = h->vstate;
    b->gen++;
    bn_reset(b);
    feed_binance__bf_open(b);
    /* {"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade",...],"id":N}, in
     * messages of at most 4 KiB, sent at most max_sends_per_s - 1 per second */
    char msg[4096];
    size_t n = 0;
    uint32_t id = 1;
    int in_msg = 0, rc = 0;
    for (uint32_t i = 0; i < b->n_sym && rc == 0; i++) {
        for (int c = 0; c < 2 && rc == 0; c++) {
            if (c == 0 && !(h->channels & FEED_CH_BOOK))
                continue;
            if (c == 1 && !(h->channels & FEED_CH_TRADES))
                continue;
            const char *suffix = c == 0 ? "@depth@100ms" : (b->futures ? "@aggTrade" : "@trade");
            if (in_msg && n + TG_SYMBOL_MAX + 64 > sizeof(msg)) {
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "],\"id\":%u}", id++);
                rc = bn_sub_add(b, msg, n);
                in_msg = 0;
            }
            if (!in_msg) {
                n = (size_t)snprintf(msg, sizeof(msg), "{\"method\":\"SUBSCRIBE\",\"params\":[");
                in_msg = 1;
            } else {
                msg[n++] = ',';
            }
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\"%s%s\"", b->sym[i].lower, suffix);
        }
    }
    if (in_msg && rc == 0) {
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "],\"id\":%u}", id);
        rc = bn_sub_add(b, msg, n);
    }
    if (rc < 0)
        return rc;
    bn_sub_flush(b);
    if (h->channels & FEED_CH_BOOK)
        for (uint32_t i = 0; i < b->n_sym; i++)
            bn_request_snapshot(b, (int)i, 0);
    return 0;
}

static void bn_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_bn_t *b = h->vstate;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        feed_emit_make(h, TG_EV_STALE, b->sym[i].instr, 0, 0, 0, b->sym[i].last_u, 0, 0, ts_recv,
                       ts_mono, TG_EVF_LAST | TG_EVF_RESYNC);
    }
    bn_reset(b);
}

/* Wait before a due snapshot request: 2 s after a failed request; after the 2nd, 3rd, ...
 * snapshot refused in a row as too old 1, 2, 4, then 8 s. */
static int64_t bn_retry_ns(const bn_sym_t *y)
{
    if (y->snap_refused < 2)
        return 2000000000LL;
    uint32_t k = y->snap_refused - 2;
    return (k < 3 ? 1000000000LL << k : 8000000000LL);
}

static void bn_on_tick(feed_handler_t *h, int64_t now_mono)
{
    feed_bn_t *b = h->vstate;
    if (b->sub_off < b->sub_len)
        bn_sub_flush(b);
    feed_binance__bf_tick(b, now_mono);
    for (uint32_t i = 0; i < b->n_sym; i++)
        if (b->sym[i].want_snap && now_mono - b->sym[i].snap_req_mono >= bn_retry_ns(&b->sym[i]))
            bn_request_snapshot(b, (int)i, now_mono);
}

static void bn_deinit(feed_handler_t *h)
{
    feed_bn_t *b = h->vstate;
    if (!b)
        return;
    free(b->sym);
    free(b->sym_of_instr);
    free(b->lv);
    free(b->tok);
    free(b->bd);
    free(b->bl);
    free(b->sub);
    feed_vstate_free(h);
}

static int bn_init(feed_handler_t *h)
{
    feed_bn_t *b = feed_vstate_new(h, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->h = h;
    b->log_rl.burst = BN_LOG_BURST;
    b->log_rl.period = FEED_LOG_PERIOD_10S;
    b->variant = h->venue->variant;
    b->futures = b->variant == FEED_BN_USDM || b->variant == FEED_BN_COINM;
    b->route = b->variant == FEED_BN_USDM    ? "/fapi/v1/depth"
               : b->variant == FEED_BN_COINM ? "/dapi/v1/depth"
                                             : "/api/v3/depth";
    b->last_sym = -1;
    b->n_sym = h->n_instr;
    b->lv_cap = BN_LV_CAP;
    b->tok_cap = BN_TOK_CAP;
    b->bd_cap = BN_BD_CAP;
    b->bl_cap = BN_BL_CAP;
    b->sym = calloc(b->n_sym ? b->n_sym : 1, sizeof(*b->sym));
    b->sym_of_instr = calloc(TG_INSTR_MAX, sizeof(uint16_t)); /* zero pages: no memset */
    b->lv = malloc(2 * sizeof(int64_t) * b->lv_cap);
    b->tok = malloc(sizeof(jsmntok_t) * b->tok_cap);
    b->bd = malloc(sizeof(bn_bufdiff_t) * b->bd_cap);
    b->bl = malloc(2 * sizeof(int64_t) * b->bl_cap);
    if (!b->sym || !b->sym_of_instr || !b->lv || !b->tok || !b->bd || !b->bl || b->n_sym > 0xfff0)
        goto fail;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || in->id >= TG_INSTR_MAX)
            goto fail;
        bn_sym_t *y = &b->sym[i];
        y->instr = in->id;
        y->len = (uint32_t)strlen(in->symbol);
        for (uint32_t j = 0; j <= y->len; j++) {
            char c = in->symbol[j];
            y->upper[j] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
            y->lower[j] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        b->sym_of_instr[in->id] = (uint16_t)(i + 1);
    }
    return 0;
fail:
    bn_deinit(h);
    return -ENOMEM;
}

void feed_binance_set_path(feed_handler_t *h, int path)
{
    feed_bn_t *b = h->vstate;
    if (b)
        b->path = path;
}

static void bn_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    /* Binance prints 8 decimals on spot and fewer on futures: 8/8 holds them; a value with more
       places raises the instrument's scale (feed_dec). The recordings carry no tick/lot
       metadata. Diff streams carry the whole book: no depth limit. */
    cfg->px_scale = 8;
    cfg->sz_scale = 8;
    cfg->depth_limit = 0;
}

/* Replay: "/api/v3/depth?symbol=BTCUSDT&limit=1000" (fapi, dapi likewise) -> "btcusdt". */
static int bn_rest_key(const char *path, char *key, size_t cap)
{
    static const char *const routes[] = {"/api/v3/depth", "/fapi/v1/depth", "/dapi/v1/depth"};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = feed_rest_key_query(path, routes[i], "symbol", "", key, cap);
        if (rc != -ENOENT)
            return rc;
    }
    return -ENOENT;
}

/* Published limits (docs/venues/binance.md): spot and Binance.US 1024 streams per connection
 * and 5 incoming messages per second; USD-M and COIN-M futures 200 streams and 10 messages per
 * second. Two streams per symbol (depth + trades). */
/* REST limits per IP (feeds/net/feed_rest_pace.h): spot REQUEST_WEIGHT 6000/min, GET
 * /api/v3/depth limit=1000 weighs 50; USD-M futures 2400/min, /fapi/v1/depth limit=1000 weighs
 * 20 (Binance's API docs, "Limits" and "Order Book"). COIN-M and Binance.US: taken as futures
 * and spot. In flight: 8 (no published cap). */
#define BN_REST_LIMITS(var)                                                                        \
    .rest_weight_per_min = ((var) == FEED_BN_USDM || (var) == FEED_BN_COINM) ? 2400 : 6000,        \
    .rest_weight = ((var) == FEED_BN_USDM || (var) == FEED_BN_COINM) ? 20 : 50,                    \
    .rest_max_inflight = 8
#define BN_VENUE(id, url, host, var, syms, sends)                                                  \
    {                                                                                              \
        .name = id, .default_url = url, .rest_host = host, .variant = var,                         \
        .max_symbols_per_conn = syms, .max_sends_per_s = sends, .rest_key = bn_rest_key,           \
        .instr_defaults = bn_instr_defaults, .init = bn_init, .deinit = bn_deinit,                 \
        .on_open = bn_on_open, .on_frame = bn_on_frame, .on_rest = bn_on_rest,                     \
        .on_close = bn_on_close, .on_tick = bn_on_tick, .trade_history = true,                     \
        .trade_ids_seq = true, BN_REST_LIMITS(var),                                                \
    }

const feed_venue_t feed_venue_binance = BN_VENUE("binance", "wss://stream.binance.com:9443/stream",
                                                 "api.binance.com", FEED_BN_SPOT, 512, 5);
const feed_venue_t feed_venue_binance_futures =
    BN_VENUE("binance-futures", "wss://fstream.binance.com/stream", "fapi.binance.com",
             FEED_BN_USDM, 100, 10);
const feed_venue_t feed_venue_binance_delivery =
    BN_VENUE("binance-delivery", "wss://dstream.binance.com/stream", "dapi.binance.com",
             FEED_BN_COINM, 100, 10);
const feed_venue_t feed_venue_binance_us = BN_VENUE(
    "binance-us", "wss://stream.binance.us:9443/stream", "api.binance.us", FEED_BN_US, 512, 5);
