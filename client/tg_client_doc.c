/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client: exact decimals, the RESP frames of the subscriber connection, the
 * gateway's JSON documents (storage/redis/
 * store_rds_fmt.c writes them; docs/clients.md lists every field) and the connection URL.
 *
 * Documents are read with jsmn (strict, tokens on the stack: no allocation). Decimals are JSON
 * strings; they are parsed digit by digit into int64 + scale (the number of fractional digits
 * written), never through double. Unknown fields are ignored (a newer gateway may add some);
 * a missing or malformed required field rejects the document with a reason.
 *
 * Thread: any; no globals except constant tables.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "client/tg_client_int.h"

#define TGC_TOKS 384

unsigned tg_client_version(void)
{
    return TG_CLIENT_VERSION;
}

#define TGC_STR2(x) #x
#define TGC_STR(x)  TGC_STR2(x)

const char *tg_client_version_string(void)
{
    return TGC_STR(TG_CLIENT_VERSION_MAJOR) "." TGC_STR(TG_CLIENT_VERSION_MINOR) "." TGC_STR(
        TG_CLIENT_VERSION_PATCH);
}

/* ---- decimals ---------------------------------------------------------------------------- */

int tg_client_dec_parse(const char *s, size_t len, tg_client_dec_t *out)
{
    size_t i = 0;
    bool neg = false, dot = false, digits = false;
    uint64_t v = 0;
    int32_t scale = 0;
    if (!s || !out)
        return -EINVAL;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        char ch = s[i];
        if (ch == '.' && !dot) {
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9')
            return -EINVAL;
        digits = true;
        if (v > (UINT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(ch - '0');
        if (dot && ++scale > 18)
            return -EINVAL;
    }
    if (!digits)
        return -EINVAL;
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return -ERANGE;
    out->v = neg ? (int64_t)(0 - v) : (int64_t)v;
    out->scale = scale;
    return 0;
}

size_t tg_client_dec_text(tg_client_dec_t d, char *buf, size_t cap)
{
    char t[TG_CLIENT_DEC_TEXT_MAX + 8];
    char dg[24];
    size_t nd = 0, n = 0;
    uint64_t u = (uint64_t)d.v;
    if (d.scale < 0 || d.scale > 18 || !buf)
        return 0;
    if (d.v < 0) {
        t[n++] = '-';
        u = 0 - u;
    }
    do {
        dg[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (nd <= (size_t)d.scale) /* at least one digit before the point */
        dg[nd++] = '0';
    for (size_t i = nd; i-- > 0;) {
        t[n++] = dg[i];
        if (i == (size_t)d.scale && d.scale > 0)
            t[n++] = '.';
    }
    if (n + 1 > cap)
        return 0;
    memcpy(buf, t, n);
    buf[n] = '\0';
    return n;
}

static const double tgc_pow10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

double tg_client_dec_to_double(tg_client_dec_t d)
{
    if (d.scale < 0 || d.scale > 18)
        return 0.0;
    return (double)d.v / tgc_pow10[d.scale];
}

int tg_client_dec_cmp(tg_client_dec_t a, tg_client_dec_t b)
{
    /* a.v * 10^(s-a.scale) vs b.v * 10^(s-b.scale) in 128 bits: exact at every scale */
    int32_t s = a.scale > b.scale ? a.scale : b.scale;
    __int128 x = a.v, y = b.v;
    for (int32_t i = a.scale; i < s; i++)
        x *= 10;
    for (int32_t i = b.scale; i < s; i++)
        y *= 10;
    return x < y ? -1 : x > y;
}

const char *tg_client_state_name(tg_client_state_t s)
{
    switch (s) {
    case TG_CLIENT_STATE_VALID:
        return "VALID";
    case TG_CLIENT_STATE_RESYNCING:
        return "RESYNCING";
    case TG_CLIENT_STATE_STALE:
        return "STALE";
    case TG_CLIENT_STATE_FAULT:
        return "FAULT";
    default:
        return "UNKNOWN";
    }
}

/* ---- documents --------------------------------------------------------------------------- */

typedef struct tgc_js {
    const char *js;
    jsmntok_t *t;
    int n;
} tgc_js_t;

static bool tok_is(const tgc_js_t *j, int i, const char *s)
{
    size_t l = strlen(s);
    return (size_t)(j->t[i].end - j->t[i].start) == l && memcmp(j->js + j->t[i].start, s, l) == 0;
}

/* Index after token i's subtree. */
static int tok_skip(const tgc_js_t *j, int i)
{
    int todo = 1;
    while (todo > 0 && i < j->n) {
        todo += j->t[i].type == JSMN_OBJECT ? 2 * j->t[i].size : j->t[i].size;
        todo--;
        i++;
    }
    return i;
}

static int tok_u64(const tgc_js_t *j, int i, uint64_t *out)
{
    const jsmntok_t *t = &j->t[i];
    uint64_t v = 0;
    if (t->type != JSMN_PRIMITIVE || t->end <= t->start)
        return -EINVAL;
    for (int k = t->start; k < t->end; k++) {
        char ch = j->js[k];
        if (ch < '0' || ch > '9' || v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(ch - '0');
    }
    *out = v;
    return 0;
}

static int tok_i64(const tgc_js_t *j, int i, int64_t *out)
{
    const jsmntok_t *t = &j->t[i];
    int k = t->start;
    bool neg = t->type == JSMN_PRIMITIVE && t->end > k && j->js[k] == '-';
    uint64_t v = 0;
    if (t->type != JSMN_PRIMITIVE || t->end <= k + (neg ? 1 : 0))
        return -EINVAL;
    for (k += neg ? 1 : 0; k < t->end; k++) {
        char ch = j->js[k];
        if (ch < '0' || ch > '9' || v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(ch - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return -EINVAL;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int tok_dec(const tgc_js_t *j, int i, tg_client_dec_t *out)
{
    const jsmntok_t *t = &j->t[i];
    if (t->type != JSMN_STRING)
        return -EINVAL;
    return tg_client_dec_parse(j->js + t->start, (size_t)(t->end - t->start), out);
}

static int tok_text(const tgc_js_t *j, int i, char *buf, size_t cap)
{
    const jsmntok_t *t = &j->t[i];
    size_t l = (size_t)(t->end - t->start);
    if (t->type != JSMN_STRING || l + 1 > cap)
        return -EINVAL;
    memcpy(buf, j->js + t->start, l);
    buf[l] = '\0';
    return 0;
}

static int tok_state(const tgc_js_t *j, int i, tg_client_state_t *out)
{
    static const tg_client_state_t all[] = {TG_CLIENT_STATE_VALID, TG_CLIENT_STATE_RESYNCING,
                                            TG_CLIENT_STATE_STALE, TG_CLIENT_STATE_FAULT};
    if (j->t[i].type != JSMN_STRING)
        return -EINVAL;
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        if (tok_is(j, i, tg_client_state_name(all[k]))) {
            *out = all[k];
            return 0;
        }
    *out = TG_CLIENT_STATE_UNKNOWN;
    return 0; /* a newer gateway's state: kept as UNKNOWN (untrusted) */
}

/* [["px","sz"],...] into lv (at most TG_CLIENT_DEPTH_MAX). */
static int tok_levels(const tgc_js_t *j, int i, tg_client_level_t *lv, uint32_t *n)
{
    if (j->t[i].type != JSMN_ARRAY || j->t[i].size > TG_CLIENT_DEPTH_MAX)
        return -EINVAL;
    int cnt = j->t[i].size, k = i + 1;
    for (int l = 0; l < cnt; l++) {
        if (k + 2 >= j->n || j->t[k].type != JSMN_ARRAY || j->t[k].size != 2 ||
            tok_dec(j, k + 1, &lv[l].px) || tok_dec(j, k + 2, &lv[l].sz))
            return -EINVAL;
        k += 3;
    }
    *n = (uint32_t)cnt;
    return 0;
}

/* Field masks: what each document type must carry. */
enum {
    F_SEQ = 1u << 0,
    F_EPOCH = 1u << 1,
    F_STATE = 1u << 2,
    F_GEN = 1u << 3,
    F_BIDS = 1u << 4,
    F_ASKS = 1u << 5,
    F_PRICE = 1u << 6,
    F_SIZE = 1u << 7,
    F_OHLC = 1u << 8,
    F_IVL = 1u << 9,
    F_TIDS = 1u << 10, /* trade_gap: trade_id_last and trade_id_next */
};

static int field(const tgc_js_t *j, int k, int v, tgc_doc_t *d, unsigned *seen)
{
    tg_client_book_t *b = &d->book;
    tg_client_trade_t *t = &d->trade;
    tg_client_candle_t *c = &d->candle;
    tg_client_status_t *s = &d->status;
    int rc = 0;
    if (tok_is(j, k, "seq")) {
        rc = tok_u64(j, v, &d->seq);
        *seen |= F_SEQ;
    } else if (tok_is(j, k, "epoch")) {
        rc = tok_u64(j, v, &d->epoch);
        *seen |= F_EPOCH;
    } else if (tok_is(j, k, "state")) {
        rc = tok_state(j, v, &b->state);
        s->state = b->state;
        *seen |= F_STATE;
    } else if (tok_is(j, k, "generation")) {
        rc = tok_u64(j, v, &b->generation);
        s->generation = b->generation;
        *seen |= F_GEN;
    } else if (tok_is(j, k, "exch_seq")) {
        rc = tok_u64(j, v, &b->exch_seq);
        t->exch_seq = b->exch_seq;
    } else if (tok_is(j, k, "reason")) {
        if (tok_text(j, v, s->reason, sizeof(s->reason)))
            rc = -EINVAL;
        else
            snprintf(b->reason, sizeof(b->reason), "%s", s->reason);
    } else if (tok_is(j, k, "ts_exch")) {
        rc = tok_i64(j, v, &b->ts_exch);
        t->ts_exch = c->ts_exch = s->ts_exch = b->ts_exch;
    } else if (tok_is(j, k, "ts_recv")) {
        rc = tok_i64(j, v, &b->ts_recv);
        t->ts_recv = c->ts_recv = s->ts_recv = b->ts_recv;
    } else if (tok_is(j, k, "depth_bids") || tok_is(j, k, "depth_asks")) {
        uint64_t x = 0;
        rc = tok_u64(j, v, &x);
        if (tok_is(j, k, "depth_bids"))
            b->depth_bids = (uint32_t)x;
        else
            b->depth_asks = (uint32_t)x;
    } else if (tok_is(j, k, "bids")) {
        rc = tok_levels(j, v, b->bids, &b->n_bids);
        *seen |= F_BIDS;
    } else if (tok_is(j, k, "asks")) {
        rc = tok_levels(j, v, b->asks, &b->n_asks);
        *seen |= F_ASKS;
    } else if (tok_is(j, k, "price")) {
        rc = tok_dec(j, v, &t->price);
        *seen |= F_PRICE;
    } else if (tok_is(j, k, "size")) {
        rc = tok_dec(j, v, &t->size);
        *seen |= F_SIZE;
    } else if (tok_is(j, k, "side")) {
        t->side = tok_is(j, v, "buy")    ? TG_CLIENT_SIDE_BUY
                  : tok_is(j, v, "sell") ? TG_CLIENT_SIDE_SELL
                                         : TG_CLIENT_SIDE_UNKNOWN;
    } else if (tok_is(j, k, "trade_id")) {
        rc = tok_u64(j, v, &t->trade_id);
    } else if (tok_is(j, k, "interval")) {
        rc = tok_text(j, v, c->interval, sizeof(c->interval));
        *seen |= F_IVL;
    } else if (tok_is(j, k, "interval_ns")) {
        rc = tok_i64(j, v, &c->interval_ns);
    } else if (tok_is(j, k, "start")) {
        rc = tok_i64(j, v, &c->start);
    } else if (tok_is(j, k, "closed")) {
        c->closed = tok_is(j, v, "true");
    } else if (tok_is(j, k, "open")) {
        rc = tok_dec(j, v, &c->open);
        *seen |= F_OHLC;
    } else if (tok_is(j, k, "high")) {
        rc = tok_dec(j, v, &c->high);
    } else if (tok_is(j, k, "low")) {
        rc = tok_dec(j, v, &c->low);
    } else if (tok_is(j, k, "close")) {
        rc = tok_dec(j, v, &c->close);
    } else if (tok_is(j, k, "volume")) {
        rc = tok_dec(j, v, &c->volume);
    } else if (tok_is(j, k, "buy_volume")) {
        rc = tok_dec(j, v, &c->buy_volume);
    } else if (tok_is(j, k, "sell_volume")) {
        rc = tok_dec(j, v, &c->sell_volume);
    } else if (tok_is(j, k, "vwap")) {
        rc = tok_dec(j, v, &c->vwap);
    } else if (tok_is(j, k, "trades")) {
        rc = tok_u64(j, v, &c->trades);
    } else if (tok_is(j, k, "first_ts")) {
        rc = tok_i64(j, v, &c->first_ts);
    } else if (tok_is(j, k, "last_ts")) {
        rc = tok_i64(j, v, &c->last_ts);
    } else if (tok_is(j, k, "seq_last")) {
        rc = tok_u64(j, v, &s->seq_last);
    } else if (tok_is(j, k, "seq_got")) {
        rc = tok_u64(j, v, &s->seq_got);
    } else if (tok_is(j, k, "trade_id_last")) {
        rc = tok_u64(j, v, &s->seq_last);
        *seen |= F_TIDS;
    } else if (tok_is(j, k, "trade_id_next")) {
        rc = tok_u64(j, v, &s->seq_got);
    }
    return rc;
}

int tgc_doc_parse(const char *js, size_t len, tgc_doc_t *d, const char **why)
{
    jsmntok_t t[TGC_TOKS];
    jsmn_parser p;
    jsmn_init(&p);
    tgc_js_t j = {js, t, jsmn_parse(&p, js, len, t, TGC_TOKS)};
    *why = "not a JSON object";
    if (j.n < 1 || t[0].type != JSMN_OBJECT || (size_t)t[0].end != len)
        return -EINVAL;
    d->type = TGC_DOC_NONE;
    d->seq = d->epoch = 0;
    d->book.n_bids = d->book.n_asks = 0;
    d->book.depth_bids = d->book.depth_asks = 0;
    d->book.reason[0] = d->status.reason[0] = '\0';
    d->book.exch_seq = 0;
    d->book.ts_exch = d->book.ts_recv = 0;
    memset(&d->trade, 0, sizeof(d->trade));
    memset(&d->candle, 0, sizeof(d->candle));
    d->status.seq_last = d->status.seq_got = 0;
    unsigned seen = 0;
    for (int i = 1, k = 0; i < j.n && k < t[0].size; k++) {
        int v = i + 1;
        if (v >= j.n || t[i].type != JSMN_STRING) {
            *why = "malformed object";
            return -EINVAL;
        }
        if (tok_is(&j, i, "type")) {
            d->type = tok_is(&j, v, "book")     ? TGC_DOC_BOOK
                      : tok_is(&j, v, "trade")  ? TGC_DOC_TRADE
                      : tok_is(&j, v, "candle") ? TGC_DOC_CANDLE
                      : tok_is(&j, v, "gap")    ? TGC_DOC_GAP
                      : tok_is(&j, v, "bbo")    ? TGC_DOC_BBO
                      : tok_is(&j, v, "trade_gap") ? TGC_DOC_TRADE_GAP
                                                   : TGC_DOC_NONE;
        } else if (field(&j, i, v, d, &seen)) {
            *why = "bad field value";
            return -EINVAL;
        }
        i = tok_skip(&j, v);
    }
    static const unsigned need[] = {
        [TGC_DOC_BOOK] = F_SEQ | F_EPOCH | F_STATE | F_GEN | F_BIDS | F_ASKS,
        [TGC_DOC_TRADE] = F_SEQ | F_EPOCH | F_PRICE | F_SIZE,
        [TGC_DOC_CANDLE] = F_SEQ | F_EPOCH | F_OHLC | F_IVL,
        [TGC_DOC_GAP] = F_SEQ | F_EPOCH | F_STATE | F_GEN,
        [TGC_DOC_BBO] = F_SEQ | F_EPOCH | F_STATE,
        [TGC_DOC_TRADE_GAP] = F_SEQ | F_EPOCH | F_TIDS,
    };
    if (d->type == TGC_DOC_NONE) {
        *why = "unknown document type";
        return -EINVAL;
    }
    if ((seen & need[d->type]) != need[d->type]) {
        *why = "a required field is missing";
        return -EINVAL;
    }
    d->book.seq = d->seq;
    d->book.epoch = d->epoch;
    *why = "";
    return 0;
}

/* ---- RESP frames ------------------------------------------------------------------------- */

/* "123\r\n" at p (end e): value and bytes used, 0 if incomplete, -1 bad. */
static long tgc_resp_int(const char *p, const char *e, long long *v)
{
    const char *q = p;
    bool neg = false;
    long long x = 0;
    if (q < e && *q == '-') {
        neg = true;
        q++;
    }
    for (; q < e && *q >= '0' && *q <= '9'; q++) {
        if (x > 99999999999999999LL) /* 18 digits: more than any count or length (fuzz) */
            return -1;
        x = x * 10 + (*q - '0');
    }
    if (q + 1 >= e)
        return 0;
    if (q[0] != '\r' || q[1] != '\n')
        return -1;
    *v = neg ? -x : x;
    return (long)(q + 2 - p);
}

/* One frame at p (n bytes): bytes consumed, 0 if incomplete, -1 if not a frame we read. */
long tgc_resp_frame(const char *p, size_t n, tgc_frame_t *f)
{
    const char *q = p, *e = p + n;
    long long cnt = 0, l = 0;
    long k = 0; /* also read when the first byte is not a star (clang: used uninitialized) */
    if (n < 1)
        return 0;
    if (*q == '-' || *q == '+') {
        const char *nl = memchr(q, '\n', n);
        if (!nl)
            return 0;
        f->n = *q == '-' ? -1 : 0;
        f->s[0] = q + 1;
        f->len[0] = (size_t)(nl - q - 1);
        return (long)(nl + 1 - p);
    }
    if (*q++ != '*' || (k = tgc_resp_int(q, e, &cnt)) <= 0)
        return k < 0 || *p != '*' ? -1 : 0;
    q += k;
    if (cnt < 1 || cnt > 4)
        return -1;
    f->n = (int)cnt;
    for (long long i = 0; i < cnt; i++) {
        if (q >= e)
            return 0;
        char t = *q++;
        if ((k = tgc_resp_int(q, e, &l)) <= 0)
            return k;
        q += k;
        if (t == ':') {
            f->s[i] = q - k;
            f->len[i] = (size_t)k - 2;
        } else if (t == '$' && l >= 0) {
            if ((size_t)(e - q) < (size_t)l + 2)
                return 0;
            f->s[i] = q;
            f->len[i] = (size_t)l;
            q += l + 2;
        } else {
            return -1;
        }
    }
    return (long)(q - p);
}

bool tgc_frame_is(const tgc_frame_t *f, int i, const char *s)
{
    size_t l = strlen(s);
    return f->n > i && f->len[i] == l && memcmp(f->s[i], s, l) == 0;
}

/* Append one RESP command "NAME arg" to buf. */
size_t tgc_resp_cmd(char *buf, size_t cap, const char *cmd, const char *arg)
{
    int n = snprintf(buf, cap, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(cmd), cmd, strlen(arg),
                     arg);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- URL --------------------------------------------------------------------------------- */

static int pct_copy(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%' && i + 2 < n) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            ch = (char)strtol(hx, NULL, 16);
            if (!isxdigit((unsigned char)hx[0]) || !isxdigit((unsigned char)hx[1]) || !ch)
                return -EINVAL; /* not two hex digits, or a NUL cutting the name (fuzz) */
            i += 2;
        }
        if (o + 1 >= cap)
            return -EINVAL;
        dst[o++] = ch;
    }
    dst[o] = '\0';
    return 0;
}

int tgc_url_parse(const char *url, tgc_url_t *u)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!url)
        url = "redis://127.0.0.1:6379";
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7, *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || pct_copy(u->path, sizeof(u->path), p, n))
            return -EINVAL;
        if (q && strncmp(q, "?db=", 4) == 0)
            u->db = atoi(q + 4);
        return 0;
    }
    int cluster = strncmp(url, "redis-cluster://", 16) == 0;
    if (!cluster && strncmp(url, "redis://", 8) != 0)
        return -EINVAL;
    const char *p = url + (cluster ? 16 : 8), *at = strrchr(p, '@'), *slash;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (pct_copy(u->user, sizeof(u->user), p, (size_t)(colon - p)) ||
                pct_copy(u->password, sizeof(u->password), colon + 1, (size_t)(at - colon - 1)))
                return -EINVAL;
        } else if (pct_copy(u->password, sizeof(u->password), p, (size_t)(at - p))) {
            return -EINVAL;
        }
        p = at + 1;
    }
    slash = strchr(p, '/');
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    if (cluster) { /* the seed list; a cluster has only db 0 */
        if (hl == 0 || hl >= sizeof(u->seeds) || (slash && slash[1] && strcmp(slash, "/0") != 0))
            return -EINVAL;
        memcpy(u->seeds, p, hl);
        u->seeds[hl] = '\0';
        u->cluster = 1;
        return 0;
    }
    const char *colon = memchr(p, ':', hl);
    if (colon) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end != p + hl || port < 1 || port > 65535)
            return -EINVAL;
        u->port = (int)port;
        hl = (size_t)(colon - p);
    }
    if (hl == 0 || hl >= sizeof(u->host))
        return -EINVAL;
    memcpy(u->host, p, hl);
    u->host[hl] = '\0';
    if (slash && slash[1])
        u->db = atoi(slash + 1);
    return 0;
}
