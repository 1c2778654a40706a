/* SPDX-License-Identifier: MIT */
/*
 * Hand-written formatting for the Redis publisher: key/channel names, JSON documents and RESP
 * commands, straight into caller buffers.
 *
 * A small cursor (fmt_w_t) tracks the write position and an overflow flag; every writer checks
 * the remaining room, so a too-small buffer yields 0 instead of a truncated document. Integers
 * are converted with a digit loop, decimals with tg_dec_format (exact; never through double),
 * and venue/symbol strings are JSON-escaped once, when the names are built.
 *
 * Thread: any; no globals, no allocation.
 */
#include "storage/redis/store_rds_fmt.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "book/book_candle.h"
#include "book/book_l2.h"
#include "book/tg_dec.h"

typedef struct fmt_w {
    char *p;
    char *end;
    bool bad;
} fmt_w_t;

static void w_mem(fmt_w_t *w, const char *s, size_t n)
{
    if (w->bad || (size_t)(w->end - w->p) < n) {
        w->bad = true;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

#define W_LIT(w, s) w_mem((w), (s), sizeof(s) - 1)

static void w_str(fmt_w_t *w, const char *s)
{
    w_mem(w, s, strlen(s));
}

static const char fmt_digits2[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "62636465666768697071727374757677787980818283848586878889909192"
                                  "93949596979899";

/* Decimal digits of v (1..20). */
static size_t u64_len(uint64_t v)
{
    size_t n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

/* Write v's digits to out (no NUL), two at a time from the end; returns the length. */
static size_t u64_text(uint64_t v, char *out)
{
    size_t n = u64_len(v), i = n;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        out[--i] = fmt_digits2[d + 1];
        out[--i] = fmt_digits2[d];
    }
    if (v >= 10) {
        out[--i] = fmt_digits2[v * 2 + 1];
        out[--i] = fmt_digits2[v * 2];
    } else {
        out[--i] = (char)('0' + v);
    }
    return n;
}

static void w_u64(fmt_w_t *w, uint64_t v)
{
    char t[24];
    w_mem(w, t, u64_text(v, t));
}

static void w_i64(fmt_w_t *w, int64_t v)
{
    char t[24];
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        t[n++] = '-';
        u = 0 - u; /* exact for INT64_MIN too */
    }
    n += u64_text(u, t + n);
    w_mem(w, t, n);
}

/* A decimal as a JSON string: "61837.63". */
static void w_dec(fmt_w_t *w, int64_t v, int scale)
{
    char t[TG_DEC_STR_MAX + 2];
    t[0] = '"';
    size_t n = tg_dec_format(v, scale, t + 1);
    t[n + 1] = '"';
    w_mem(w, t, n + 2);
}

/* JSON string body with escapes (names only; built once per instrument). */
static void w_json_escaped(fmt_w_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            w_mem(w, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            w_mem(w, e, 6);
        } else {
            w_mem(w, (const char *)&c, 1);
        }
    }
}

static size_t w_done(fmt_w_t *w, char *start)
{
    return w->bad ? 0 : (size_t)(w->p - start);
}

static bool prefix_ok(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n < 1 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* {venue}{sep}{symbol}, or in cluster mode the hash tag {{venue}:{symbol}} (':' whatever sep
 * is, so a key and a channel of one instrument hash the same tag to the same slot). */
static void w_instr(fmt_w_t *w, char sep, const tg_instr_t *in, bool cluster)
{
    if (cluster)
        W_LIT(w, "{");
    w_str(w, in->venue);
    w_mem(w, cluster ? ":" : &sep, 1);
    w_str(w, in->symbol);
    if (cluster)
        W_LIT(w, "}");
}

/* {prefix}{sep}{kind}{sep}{venue}{sep}{symbol} (cluster: {prefix}{sep}{kind}{sep}{tag}) */
static uint16_t name4(char *buf, const char *prefix, char sep, const char *kind,
                      const tg_instr_t *in, bool cluster)
{
    fmt_w_t w = {buf, buf + STORE_RDS_NAME_MAX - 1, false};
    w_str(&w, prefix);
    w_mem(&w, &sep, 1);
    w_str(&w, kind);
    w_mem(&w, &sep, 1);
    w_instr(&w, sep, in, cluster);
    if (w.bad)
        return 0;
    *w.p = '\0';
    return (uint16_t)(w.p - buf);
}

int store_rds_fmt_names(store_rds_names_t *n, const char *prefix, const tg_instr_t *in)
{
    return store_rds_fmt_names_ex(n, prefix, in, false);
}

int store_rds_fmt_names_ex(store_rds_names_t *n, const char *prefix, const tg_instr_t *in,
                           bool cluster)
{
    if (!n || !prefix || !in || !prefix_ok(prefix))
        return -EINVAL;
    /* a tag must be one and not empty: no brace in the venue or symbol */
    if (cluster && (strpbrk(in->venue, "{}") || strpbrk(in->symbol, "{}")))
        return -EINVAL;
    memset(n, 0, sizeof(*n));
    n->in = in;
    n->cluster = cluster;
    n->key_book_len = name4(n->key_book, prefix, ':', "book", in, cluster);
    n->key_bbo_len = name4(n->key_bbo, prefix, ':', "bbo", in, cluster);
    n->key_trade_len = name4(n->key_trade, prefix, ':', "trade", in, cluster);
    n->ch_book_len = name4(n->ch_book, prefix, '.', "book", in, cluster);
    n->ch_trades_len = name4(n->ch_trades, prefix, '.', "trades", in, cluster);
    n->st_book_len = name4(n->st_book, prefix, ':', "stream:book", in, cluster);
    n->st_trades_len = name4(n->st_trades, prefix, ':', "stream:trades", in, cluster);
    fmt_w_t w = {n->ident, n->ident + sizeof(n->ident) - 1, false};
    W_LIT(&w, "\"venue\":\"");
    w_json_escaped(&w, in->venue);
    W_LIT(&w, "\",\"symbol\":\"");
    w_json_escaped(&w, in->symbol);
    W_LIT(&w, "\"");
    if (w.bad || !n->key_book_len || !n->key_bbo_len || !n->key_trade_len || !n->ch_book_len ||
        !n->ch_trades_len || !n->st_book_len || !n->st_trades_len)
        return -ENAMETOOLONG;
    *w.p = '\0';
    n->ident_len = (uint16_t)(w.p - n->ident);
    size_t pl = strlen(prefix);
    memcpy(n->candle_key_head, prefix, pl);
    memcpy(n->candle_key_head + pl, ":candle:", 9);
    n->candle_key_head_len = (uint16_t)(pl + 8);
    memcpy(n->candle_ch_head, prefix, pl);
    memcpy(n->candle_ch_head + pl, ".candles.", 10);
    n->candle_ch_head_len = (uint16_t)(pl + 9);
    memcpy(n->candle_st_head, prefix, pl);
    memcpy(n->candle_st_head + pl, ":stream:candles:", 17);
    n->candle_st_head_len = (uint16_t)(pl + 16);
    return 0;
}

size_t store_rds_fmt_interval(int64_t ns, char *buf)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } units[] = {
        {86400LL * 1000000000LL, "d"},
        {3600LL * 1000000000LL, "h"},
        {60LL * 1000000000LL, "m"},
        {1000000000LL, "s"},
        {1000000LL, "ms"},
        {1000LL, "us"},
        {1, "ns"},
    };
    if (ns <= 0) {
        memcpy(buf, "0ns", 4);
        return 3;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ns % units[i].ns == 0) {
            size_t n = u64_text((uint64_t)(ns / units[i].ns), buf);
            size_t ul = strlen(units[i].unit);
            memcpy(buf + n, units[i].unit, ul + 1);
            return n + ul;
        }
    }
    return 0; /* not reached: every positive value is a multiple of 1 ns */
}

static size_t candle_name(const store_rds_names_t *n, int64_t interval_ns, char *buf,
                          const char *head, size_t head_len, char sep)
{
    char ivl[24];
    size_t il = store_rds_fmt_interval(interval_ns, ivl);
    fmt_w_t w = {buf, buf + STORE_RDS_NAME_MAX - 1, false};
    w_mem(&w, head, head_len);
    w_mem(&w, ivl, il);
    w_mem(&w, &sep, 1);
    w_instr(&w, sep, n->in, n->cluster);
    if (w.bad)
        return 0;
    *w.p = '\0';
    return (size_t)(w.p - buf);
}

size_t store_rds_fmt_candle_key(const store_rds_names_t *n, int64_t interval_ns, char *buf)
{
    return candle_name(n, interval_ns, buf, n->candle_key_head, n->candle_key_head_len, ':');
}

size_t store_rds_fmt_candle_channel(const store_rds_names_t *n, int64_t interval_ns, char *buf)
{
    return candle_name(n, interval_ns, buf, n->candle_ch_head, n->candle_ch_head_len, '.');
}

size_t store_rds_fmt_candle_stream(const store_rds_names_t *n, int64_t interval_ns, char *buf)
{
    return candle_name(n, interval_ns, buf, n->candle_st_head, n->candle_st_head_len, ':');
}

/* names[v], or other when v has no name. */
static const char *name_of(const char *const *names, size_t n, unsigned v, const char *other)
{
    return v < n && names[v] ? names[v] : other;
}

const char *store_rds_fmt_state(unsigned state)
{
    static const char *const names[] = {
        [BOOK_STATE_RESYNCING] = "RESYNCING",
        [BOOK_STATE_VALID] = "VALID",
        [BOOK_STATE_STALE] = "STALE",
        [BOOK_STATE_FAULT] = "FAULT",
    };
    return name_of(names, sizeof(names) / sizeof(names[0]), state, "UNKNOWN");
}

/* {"type":"<type>",<ident>,"seq":N,"epoch":N */
static void w_head(fmt_w_t *w, const char *type, const store_rds_names_t *n,
                   const store_rds_meta_t *m)
{
    W_LIT(w, "{\"type\":\"");
    w_str(w, type);
    W_LIT(w, "\",");
    w_mem(w, n->ident, n->ident_len);
    W_LIT(w, ",\"seq\":");
    w_u64(w, m->seq);
    W_LIT(w, ",\"epoch\":");
    w_u64(w, m->epoch);
}

static void w_times(fmt_w_t *w, const store_rds_meta_t *m)
{
    W_LIT(w, ",\"ts_exch\":");
    w_i64(w, m->ts_exch);
    W_LIT(w, ",\"ts_recv\":");
    w_i64(w, m->ts_recv);
}

/* A JSON document of this type into buf: its head written (w_head). */
static fmt_w_t w_doc(char *buf, size_t cap, const char *type, const store_rds_names_t *n,
                     const store_rds_meta_t *m)
{
    fmt_w_t w = {buf, buf + cap, false};
    w_head(&w, type, n, m);
    return w;
}

/* Close the document w_doc() began at buf. @return its length, 0 if it did not fit. */
static size_t w_end(fmt_w_t *w, char *buf)
{
    W_LIT(w, "}");
    return w_done(w, buf);
}

static inline int m_px(const store_rds_meta_t *m, const tg_instr_t *in)
{
    return m->scaled ? m->px_scale : in->px_scale;
}
static inline int m_sz(const store_rds_meta_t *m, const tg_instr_t *in)
{
    return m->scaled ? m->sz_scale : in->sz_scale;
}

static void w_level(fmt_w_t *w, const tg_level_t *l, int ps, int ss)
{
    W_LIT(w, "[");
    w_dec(w, l->price, ps);
    W_LIT(w, ",");
    w_dec(w, l->size, ss);
    W_LIT(w, "]");
}

static void w_levels(fmt_w_t *w, const tg_level_t *lv, unsigned n, int ps, int ss)
{
    W_LIT(w, "[");
    if (n > BOOK_OUT_DEPTH_MAX)
        n = BOOK_OUT_DEPTH_MAX;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            W_LIT(w, ",");
        w_level(w, &lv[i], ps, ss);
    }
    W_LIT(w, "]");
}

static const char *reason_name(unsigned r)
{
    static const char *const names[] = {
        [BOOK_OUT_R_CHANGE] = "change",
        [BOOK_OUT_R_INTERVAL] = "interval",
        [BOOK_OUT_R_STATE] = "state",
    };
    return name_of(names, sizeof(names) / sizeof(names[0]), r, "other");
}

static void w_book_state(fmt_w_t *w, const book_out_book_t *b)
{
    W_LIT(w, ",\"state\":\"");
    w_str(w, store_rds_fmt_state(b->state));
    W_LIT(w, "\",\"generation\":");
    w_u64(w, b->generation);
    W_LIT(w, ",\"exch_seq\":");
    w_u64(w, b->seq);
}

size_t store_rds_fmt_book(char *buf, size_t cap, const store_rds_names_t *n,
                          const store_rds_meta_t *m, const book_out_book_t *b)
{
    fmt_w_t w = w_doc(buf, cap, "book", n, m);
    w_book_state(&w, b);
    W_LIT(&w, ",\"reason\":\"");
    w_str(&w, reason_name(b->reason));
    W_LIT(&w, "\"");
    w_times(&w, m);
    W_LIT(&w, ",\"depth_bids\":");
    w_u64(&w, b->depth_bids);
    W_LIT(&w, ",\"depth_asks\":");
    w_u64(&w, b->depth_asks);
    W_LIT(&w, ",\"bids\":");
    w_levels(&w, b->bids, b->n_bids, m_px(m, n->in), m_sz(m, n->in));
    W_LIT(&w, ",\"asks\":");
    w_levels(&w, b->asks, b->n_asks, m_px(m, n->in), m_sz(m, n->in));
    return w_end(&w, buf);
}

size_t store_rds_fmt_bbo(char *buf, size_t cap, const store_rds_names_t *n,
                         const store_rds_meta_t *m, const book_out_book_t *b)
{
    fmt_w_t w = w_doc(buf, cap, "bbo", n, m);
    w_book_state(&w, b);
    w_times(&w, m);
    W_LIT(&w, ",\"bid\":");
    if (b->n_bids)
        w_level(&w, &b->bids[0], m_px(m, n->in), m_sz(m, n->in));
    else
        W_LIT(&w, "null");
    W_LIT(&w, ",\"ask\":");
    if (b->n_asks)
        w_level(&w, &b->asks[0], m_px(m, n->in), m_sz(m, n->in));
    else
        W_LIT(&w, "null");
    return w_end(&w, buf);
}

size_t store_rds_fmt_trade(char *buf, size_t cap, const store_rds_names_t *n,
                           const store_rds_meta_t *m, const book_out_trade_t *t)
{
    fmt_w_t w = w_doc(buf, cap, "trade", n, m);
    W_LIT(&w, ",\"price\":");
    w_dec(&w, t->price, m_px(m, n->in));
    W_LIT(&w, ",\"size\":");
    w_dec(&w, t->size, m_sz(m, n->in));
    W_LIT(&w, ",\"side\":");
    if (t->side == TG_SIDE_BUY)
        W_LIT(&w, "\"buy\"");
    else if (t->side == TG_SIDE_SELL)
        W_LIT(&w, "\"sell\"");
    else
        W_LIT(&w, "null");
    W_LIT(&w, ",\"trade_id\":");
    w_u64(&w, t->trade_id);
    W_LIT(&w, ",\"exch_seq\":");
    w_u64(&w, t->seq);
    w_times(&w, m);
    return w_end(&w, buf);
}

size_t store_rds_fmt_candle(char *buf, size_t cap, const store_rds_names_t *n,
                            const store_rds_meta_t *m, const book_out_candle_t *c)
{
    const int ps = m_px(m, n->in), ss = m_sz(m, n->in);
    char ivl[24];
    size_t il = store_rds_fmt_interval(c->interval_ns, ivl);
    fmt_w_t w = w_doc(buf, cap, "candle", n, m);
    W_LIT(&w, ",\"interval\":\"");
    w_mem(&w, ivl, il);
    W_LIT(&w, "\",\"interval_ns\":");
    w_i64(&w, c->interval_ns);
    W_LIT(&w, ",\"start\":");
    w_i64(&w, c->start_ns);
    if (c->closed)
        W_LIT(&w, ",\"closed\":true");
    else
        W_LIT(&w, ",\"closed\":false");
    for (size_t i = 0; i < BOOK_CANDLE_N_DEC; i++) {
        const book_candle_field_t *f = &book_candle_dec[i];
        W_LIT(&w, ",\"");
        w_str(&w, f->name);
        W_LIT(&w, "\":");
        w_dec(&w, book_candle_field_get(c, f), f->px ? ps : ss);
    }
    W_LIT(&w, ",\"trades\":");
    w_u64(&w, c->trades);
    W_LIT(&w, ",\"first_ts\":");
    w_i64(&w, c->first_ts);
    W_LIT(&w, ",\"last_ts\":");
    w_i64(&w, c->last_ts);
    w_times(&w, m);
    return w_end(&w, buf);
}

static const char *gap_reason(unsigned r)
{
    static const char *const names[] = {
        [BOOK_GAP_SEQUENCE] = "sequence",  [BOOK_GAP_CHECKSUM] = "checksum",
        [BOOK_GAP_CROSSED] = "crossed",    [BOOK_GAP_RECONNECT] = "reconnect",
        [BOOK_GAP_STALE] = "stale",        [BOOK_GAP_RESYNCED] = "resynced",
        [BOOK_GAP_BADEVENT] = "bad_event", [BOOK_GAP_FAULT] = "fault",
    };
    return name_of(names, sizeof(names) / sizeof(names[0]), r, "other");
}

size_t store_rds_fmt_gap(char *buf, size_t cap, const store_rds_names_t *n,
                         const store_rds_meta_t *m, const book_out_gap_t *g)
{
    const bool by_time = g->reason == BOOK_GAP_TRADES_TIME;
    const bool trades = g->reason == BOOK_GAP_TRADES || by_time;
    fmt_w_t w = w_doc(buf, cap, trades ? "trade_gap" : "gap", n, m);
    if (by_time) { /* ids unknown (not consecutive): the hole's exchange times, inclusive */
        W_LIT(&w, ",\"reason\":\"trades\",\"trade_id_last\":0,\"trade_id_next\":0,"
                  "\"lost_from_ts\":");
        w_u64(&w, g->seq_last);
        W_LIT(&w, ",\"lost_to_ts\":");
    } else if (trades) { /* on the trades channel: the ids around the hole */
        W_LIT(&w, ",\"reason\":\"trades\",\"trade_id_last\":");
        w_u64(&w, g->seq_last);
        W_LIT(&w, ",\"trade_id_next\":");
    } else {
        W_LIT(&w, ",\"state\":\"");
        w_str(&w, store_rds_fmt_state(g->state));
        W_LIT(&w, "\",\"generation\":");
        w_u64(&w, g->generation);
        W_LIT(&w, ",\"reason\":\"");
        w_str(&w, gap_reason(g->reason));
        W_LIT(&w, "\",\"seq_last\":");
        w_u64(&w, g->seq_last);
        W_LIT(&w, ",\"seq_got\":");
    }
    w_u64(&w, g->seq_got);
    w_times(&w, m);
    return w_end(&w, buf);
}

/* $<len>\r\n<bytes>\r\n */
static void w_bulk(fmt_w_t *w, const char *s, size_t n)
{
    W_LIT(w, "$");
    w_u64(w, n);
    W_LIT(w, "\r\n");
    w_mem(w, s, n);
    W_LIT(w, "\r\n");
}

size_t store_rds_fmt_resp_set(char *buf, size_t cap, const char *key, size_t klen, const char *val,
                              size_t vlen, int64_t ttl_ms)
{
    fmt_w_t w = {buf, buf + cap, false};
    if (ttl_ms > 0) {
        char t[24];
        size_t tl = u64_text((uint64_t)ttl_ms, t);
        W_LIT(&w, "*5\r\n$3\r\nSET\r\n");
        w_bulk(&w, key, klen);
        w_bulk(&w, val, vlen);
        W_LIT(&w, "$2\r\nPX\r\n");
        w_bulk(&w, t, tl);
    } else {
        W_LIT(&w, "*3\r\n$3\r\nSET\r\n");
        w_bulk(&w, key, klen);
        w_bulk(&w, val, vlen);
    }
    return w_done(&w, buf);
}

size_t store_rds_fmt_resp_publish(char *buf, size_t cap, const char *ch, size_t chlen,
                                  const char *msg, size_t mlen)
{
    return store_rds_fmt_resp_publish_ex(buf, cap, ch, chlen, msg, mlen, false);
}

size_t store_rds_fmt_resp_publish_ex(char *buf, size_t cap, const char *ch, size_t chlen,
                                     const char *msg, size_t mlen, bool sharded)
{
    fmt_w_t w = {buf, buf + cap, false};
    if (sharded)
        W_LIT(&w, "*3\r\n$8\r\nSPUBLISH\r\n");
    else
        W_LIT(&w, "*3\r\n$7\r\nPUBLISH\r\n");
    w_bulk(&w, ch, chlen);
    w_bulk(&w, msg, mlen);
    return w_done(&w, buf);
}

size_t store_rds_fmt_resp_xadd(char *buf, size_t cap, const char *key, size_t klen, uint32_t maxlen,
                               uint64_t id_ms, uint64_t seq, const char *doc, size_t dlen)
{
    fmt_w_t w = {buf, buf + cap, false};
    char id[48], sq[24], ml[24];
    size_t sl = u64_text(seq, sq);
    size_t il = u64_text(id_ms, id);
    id[il++] = '-';
    memcpy(id + il, sq, sl);
    il += sl;
    if (maxlen) {
        size_t mll = u64_text(maxlen, ml);
        W_LIT(&w, "*10\r\n$4\r\nXADD\r\n");
        w_bulk(&w, key, klen);
        W_LIT(&w, "$6\r\nMAXLEN\r\n$1\r\n~\r\n");
        w_bulk(&w, ml, mll);
    } else {
        W_LIT(&w, "*7\r\n$4\r\nXADD\r\n");
        w_bulk(&w, key, klen);
    }
    w_bulk(&w, id, il);
    W_LIT(&w, "$3\r\nseq\r\n");
    w_bulk(&w, sq, sl);
    W_LIT(&w, "$3\r\ndoc\r\n");
    w_bulk(&w, doc, dlen);
    return w_done(&w, buf);
}

/* ---- one call: a whole RESP command carrying one JSON document ---- */

size_t store_rds_fmt_cmd(char *buf, size_t cap, const store_rds_cmd_t *c, store_rds_doc_t kind,
                         const store_rds_names_t *n, const store_rds_meta_t *m, const void *rec,
                         store_rds_span_t *doc)
{
    fmt_w_t w = {buf, buf + cap, false};
    char t[24];
    size_t tl = 0;
    bool px = !c->publish && c->ttl_ms > 0;
    if (px)
        tl = u64_text((uint64_t)c->ttl_ms, t);
    if (c->publish && n->cluster)
        W_LIT(&w, "*3\r\n$8\r\nSPUBLISH\r\n");
    else if (c->publish)
        W_LIT(&w, "*3\r\n$7\r\nPUBLISH\r\n");
    else if (px)
        W_LIT(&w, "*5\r\n$3\r\nSET\r\n");
    else
        W_LIT(&w, "*3\r\n$3\r\nSET\r\n");
    w_bulk(&w, c->name, c->name_len);
    if (w.bad)
        return 0;
    /* The document goes after room for its "$<len>\r\n" header (the length is known only
     * once it is written), then moves down next to the header actually needed. */
    size_t head = (size_t)(w.p - buf);
    size_t hmax = 3 + u64_len(cap);
    size_t tail = 2 + (px ? sizeof("$2\r\nPX\r\n") - 1 + 1 + u64_len(tl) + 2 + tl + 2 : 0);
    if (cap < head + hmax + tail)
        return 0;
    char *d = buf + head + hmax;
    size_t dcap = cap - head - hmax - tail, dl = 0;
    switch (kind) {
    case STORE_RDS_DOC_BOOK:
        dl = store_rds_fmt_book(d, dcap, n, m, rec);
        break;
    case STORE_RDS_DOC_BBO:
        dl = store_rds_fmt_bbo(d, dcap, n, m, rec);
        break;
    case STORE_RDS_DOC_TRADE:
        dl = store_rds_fmt_trade(d, dcap, n, m, rec);
        break;
    case STORE_RDS_DOC_CANDLE:
        dl = store_rds_fmt_candle(d, dcap, n, m, rec);
        break;
    case STORE_RDS_DOC_GAP:
        dl = store_rds_fmt_gap(d, dcap, n, m, rec);
        break;
    }
    if (!dl)
        return 0;
    W_LIT(&w, "$");
    w_u64(&w, dl);
    W_LIT(&w, "\r\n");
    size_t off = (size_t)(w.p - buf); /* <= head + hmax: the header fits its room */
    memmove(buf + off, d, dl);
    w.p = buf + off + dl;
    W_LIT(&w, "\r\n");
    if (px) {
        W_LIT(&w, "$2\r\nPX\r\n");
        w_bulk(&w, t, tl);
    }
    size_t len = w_done(&w, buf);
    if (len && doc) {
        doc->off = off;
        doc->len = dl;
    }
    return len;
}
