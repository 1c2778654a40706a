/* SPDX-License-Identifier: MIT */
/*
 * Binance fast path: a single-pass scanner for the frame layouts Binance actually sends
 * (combined-stream wrapper or bare object; flat data objects whose values are strings,
 * unsigned integers, booleans or [["px","sz"],...] level arrays). No tokenizer: keys are
 * dispatched as they are read and level prices/sizes are decoded straight into the handler's
 * scratch array.
 *
 * It accepts only what it fully understands: no whitespace, no escapes, only known keys, each
 * at most once, integers of at most 19 digits, exact `true`/`false`, nothing after the closing
 * brace, every decimal accepted by tg_dec at the instrument's *current* scale (a value that
 * needs more places is left to the generic parser, which raises the scale through feed_dec:
 * the scanner itself never changes any state). Anything else returns 1 and the generic jsmn
 * parser (feed_binance.c) decides, so errors are always counted by one parser. The fields it fills
 * go through the same feed_binance__finish() as the generic parser's.
 *
 * Thread: feed:<venue>.
 */
#include "feeds/venues/feed_binance.h"

#include <string.h>

#include "book/tg_dec.h"
#include "feeds/feed_digits.h"

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef struct scan {
    const char *p, *e;
} scan_t;

/* 8 bytes at once: flag bytes equal to '"', '\\' or NUL (the lowest flag is exact) */
static inline uint64_t sc_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((q - ones) & ~q & high) | ((b - ones) & ~b & high) | ((x - ones) & ~x & high);
}

/* string body after the opening quote; p ends after the closing quote */
static inline int sc_str(scan_t *s, bn_str_t *out)
{
    const char *q = s->p;
    while (s->e - q >= 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        uint64_t m = sc_special8(x);
        if (m) {
            q += __builtin_ctzll(m) >> 3;
            goto found;
        }
        q += 8;
    }
    while (q < s->e && *q != '"' && *q != '\\' && *q != 0)
        q++;
    if (q >= s->e)
        return -1;
found:
    if (*q != '"')
        return -1;
    out->p = s->p;
    out->n = (uint32_t)(q - s->p);
    s->p = q + 1;
    return 0;
}

/* a string value: its opening quote at p, then as sc_str() */
static inline int sc_qstr(scan_t *s, bn_str_t *out)
{
    if (*s->p != '"')
        return -1;
    s->p++;
    return sc_str(s, out);
}

static inline int sc_bool(scan_t *s, bool *v)
{
    size_t left = (size_t)(s->e - s->p);
    if (left >= 5 && memcmp(s->p, "true", 4) == 0 && (s->p[4] == ',' || s->p[4] == '}')) {
        *v = true;
        s->p += 4;
        return 0;
    }
    if (left >= 6 && memcmp(s->p, "false", 5) == 0 && (s->p[5] == ',' || s->p[5] == '}')) {
        *v = false;
        s->p += 5;
        return 0;
    }
    return -1;
}

/* unsigned integer of 1..19 digits followed by ',' or '}' (not consumed). Where 16 bytes are
 * left, the first 16 digits are read 8 at a time (Binance's ids and times have 10..13). */
static inline int sc_u64(scan_t *s, uint64_t *v)
{
    const char *q = s->p;
    uint64_t x = 0;
    if (LIKELY(s->e - q >= 16)) {
        uint64_t w, nd;
        memcpy(&w, q, 8);
        nd = feed_digits_nondigit8(w);
        if (LIKELY(!nd)) {
            x = feed_digits_eight(w);
            memcpy(&w, q + 8, 8);
            nd = feed_digits_nondigit8(w);
            if (LIKELY(nd)) {
                unsigned n = (unsigned)__builtin_ctzll(nd) >> 3;
                if (n)
                    x = x * (uint64_t)tg_dec_pow10[n] + feed_digits_eight(w << (8 * (8 - n)));
                q += 8 + n;
                goto end;
            }
            x = x * 100000000u + feed_digits_eight(w);
            q += 16; /* 16 digits so far: the rest one at a time (at most 3 more) */
        } else {
            unsigned n = (unsigned)__builtin_ctzll(nd) >> 3;
            if (n == 0)
                return -1;
            x = feed_digits_eight(w << (8 * (8 - n)));
            q += n;
            goto end;
        }
    }
    while (q < s->e && (unsigned)(*q - '0') <= 9) {
        x = x * 10 + (uint64_t)(*q - '0');
        q++;
    }
end:;
    size_t n = (size_t)(q - s->p);
    if (n == 0 || n > 19 || q >= s->e || (*q != ',' && *q != '}'))
        return -1;
    s->p = q;
    *v = x;
    return 0;
}

/* The value of a field the handler does not keep: checked as its type, then skipped. */
static inline int sc_skip_qstr(scan_t *s)
{
    bn_str_t unused;
    return sc_qstr(s, &unused);
}

static inline int sc_skip_u64(scan_t *s)
{
    uint64_t unused;
    return sc_u64(s, &unused);
}

static inline int sc_skip_bool(scan_t *s)
{
    bool unused;
    return sc_bool(s, &unused);
}

/* A quoted decimal's body starting at a: decode it and set *qe to its closing quote.
 * The plain form (digits, optional '.', digits) is decoded inline, 8 digits at a time where
 * 8 bytes are left before e; anything else up to the quote goes to tg_dec_parse_unsigned(),
 * so the value is always exactly tg_dec's. */
static inline int sc_dec_q(const char *a, const char *e, int scale, int64_t *out, const char **qe)
{
    const char *p = a;
    uint64_t v = 0, x, nd = 0;
    if (LIKELY(e - a >= 8)) {
        memcpy(&x, a, 8);
        nd = feed_digits_nondigit8(x);
    }
    if (LIKELY(nd)) { /* fewer than 8 integer digits, all in x */
        unsigned n = (unsigned)__builtin_ctzll(nd) >> 3;
        if (n)
            v = feed_digits_eight(x << (8 * (8 - n))); /* leading bytes 0: digits '0' */
        p = a + n;
    } else {
        while (p < e && (unsigned)(*p - '0') <= 9)
            v = v * 10 + (uint64_t)(*p++ - '0');
    }
    size_t nint = (size_t)(p - a);
    unsigned room = (unsigned)scale;
    if (LIKELY(nint > 0 && nint <= (size_t)(18 - scale))) {
        if (p < e && *p == '.') {
            const char *f = ++p;
            while (room >= 8 && e - p >= 8) {
                memcpy(&x, p, 8);
                if (feed_digits_nondigit8(x))
                    break;
                v = v * 100000000u + feed_digits_eight(x);
                room -= 8;
                p += 8;
            }
            while (room == 0 && e - p >= 8 && memcmp(p, "00000000", 8) == 0)
                p += 8;
            while (p < e && (unsigned)(*p - '0') <= 9) {
                if (!tg_dec_frac_digit(&v, &room, (unsigned char)*p))
                    goto general;
                p++;
            }
            if (UNLIKELY(p == f))
                goto general;
        }
        if (LIKELY(p < e && *p == '"')) {
            *out = (int64_t)(v * (uint64_t)tg_dec_pow10[room]);
            *qe = p;
            return 0;
        }
    }
general:
    p = a;
    while (p < e && *p != '"' && *p != '\\')
        p++;
    if (p >= e || *p != '"')
        return -1;
    *qe = p;
    return tg_dec_parse_unsigned(a, (size_t)(p - a), scale, out) == 0 ? 0 : -1;
}

int feed_binance__dec_fast(const char *p, uint32_t n, int scale, int64_t *out)
{
    const char *qe;
    /* p[n] is the string's closing quote (bn_str_t of the scanner) */
    return sc_dec_q(p, p + n + 1, scale, out, &qe) == 0 && qe == p + n ? 0 : -1;
}

/* [["px","sz"],...] decoded into b->lv */
static int sc_levels(feed_bn_t *b, scan_t *s, const bn_sym_t *y, uint32_t *off, uint32_t *cnt)
{
    const char *p = s->p, *e = s->e;
    if (p >= e || *p != '[')
        return -1;
    p++;
    *off = b->lv_n;
    uint32_t n = 0;
    if (p < e && *p == ']') {
        s->p = p + 1;
        *cnt = 0;
        return 0;
    }
    const int ps = feed_px_scale(b->h, y->instr), ss = feed_sz_scale(b->h, y->instr);
    int64_t *d = b->lv + 2 * (size_t)b->lv_n;
    uint32_t room = b->lv_cap - b->lv_n;
    for (;;) {
        if (UNLIKELY(n == room || e - p < 8 || p[0] != '[' || p[1] != '"'))
            return -1;
        const char *q;
        if (UNLIKELY(sc_dec_q(p + 2, e, ps, &d[0], &q) != 0))
            return -1;
        if (UNLIKELY(e - q < 4 || q[1] != ',' || q[2] != '"'))
            return -1;
        if (UNLIKELY(sc_dec_q(q + 3, e, ss, &d[1], &q) != 0))
            return -1;
        if (UNLIKELY(e - q < 3 || q[1] != ']'))
            return -1;
        d += 2;
        n++;
        p = q + 2;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']') {
            p++;
            break;
        }
        return -1;
    }
    b->lv_n += n;
    *cnt = n;
    s->p = p;
    return 0;
}

#define SET(bit)                                                                                   \
    do {                                                                                           \
        if (f->have & (bit))                                                                       \
            return -1;                                                                             \
        f->have |= (bit);                                                                          \
    } while (0)

/* The symbol of "s" (f->s), looked up once per frame and only when needed (*cur: -2 = not
 * yet): a frame nobody needs the symbol of (bookTicker) costs no look-up. */
static inline int sc_cur(feed_bn_t *b, const bn_fields_t *f, int *cur)
{
    if (*cur == -2)
        *cur = feed_binance__sym(b, f->s.p, f->s.n, false);
    return *cur;
}

/* A level array ("a"/"b" or "asks"/"bids") into the asks (ask) or bids of the symbol the
 * object is about: the snapshot's in a snapshot, else that of "s" when read; every
 * level array of one frame must be of the same symbol (*lv_sym). */
static int sc_side(feed_bn_t *b, scan_t *s, bn_fields_t *f, bool ask, int *cur, int snap_ctx,
                   int snap_sym, int *lv_sym)
{
    int ls = (snap_ctx && (f->have & BNF_LUID)) ? snap_sym
             : (f->have & BNF_S)                ? sc_cur(b, f, cur)
             : snap_ctx                         ? snap_sym
                                                : -1;
    if (ls < 0 || (*lv_sym >= 0 && *lv_sym != ls))
        return -1;
    *lv_sym = ls;
    if (ask) {
        SET(BNF_ALV);
        return sc_levels(b, s, &b->sym[ls], &f->a_off, &f->a_n);
    }
    SET(BNF_BLV);
    return sc_levels(b, s, &b->sym[ls], &f->b_off, &f->b_n);
}

/* The data object, from just after its '{' to just after its '}'. *cur: as sc_cur(). */
static int sc_object(feed_bn_t *b, scan_t *s, bn_fields_t *f, int snap_ctx, int snap_sym,
                     int *lv_sym, int *cur)
{
    if (s->p < s->e && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        const char *p = s->p;
        if (UNLIKELY(s->e - p < 4 || p[0] != '"'))
            return -1;
        const char *k = p + 1;
        size_t kn;
        uint32_t w;
        memcpy(&w, p, 4);
        if (LIKELY((w & 0xffff00ffu) == 0x3a220022u)) { /* "k": one letter, 4 bytes at once */
            kn = 1;
            s->p = p + 4;
        } else {
            const char *q = k;
            while (q < s->e && *q != '"' && q - k < 13)
                q++;
            if (UNLIKELY(q + 1 >= s->e || q[0] != '"' || q[1] != ':'))
                return -1;
            kn = (size_t)(q - k);
            s->p = q + 2;
        }
        if (UNLIKELY(s->p >= s->e))
            return -1;
        char v = *s->p;
        int rc = 0;
        if (kn == 1) {
            switch (k[0]) {
            case 'e':
                SET(BNF_E_TYPE);
                rc = sc_qstr(s, &f->e);
                break;
            case 'E':
                SET(BNF_E_TIME);
                rc = sc_u64(s, &f->E);
                break;
            case 'T':
                SET(BNF_T);
                rc = sc_u64(s, &f->T);
                break;
            case 'U':
                SET(BNF_UU);
                rc = sc_u64(s, &f->U);
                break;
            case 'u':
                SET(BNF_U);
                rc = sc_u64(s, &f->u);
                break;
            case 't':
                SET(BNF_TID);
                rc = sc_u64(s, &f->t);
                break;
            case 's':
                SET(BNF_S);
                rc = sc_qstr(s, &f->s);
                break;
            case 'p':
                SET(BNF_P);
                rc = sc_qstr(s, &f->p);
                break;
            case 'q':
                SET(BNF_Q);
                rc = sc_qstr(s, &f->q);
                break;
            case 'X':
                SET(BNF_X);
                rc = sc_qstr(s, &f->x);
                break;
            case 'm':
                SET(BNF_M);
                rc = sc_bool(s, &f->m);
                break;
            case 'M':
                rc = sc_skip_bool(s);
                break;
            case 'f':
            case 'l':
                rc = sc_skip_u64(s);
                break;
            case 'B':
            case 'A':
                rc = sc_skip_qstr(s);
                break;
            case 'a':
            case 'b': {
                bool ask = k[0] == 'a';
                if (v == '"') {
                    rc = sc_skip_qstr(s);
                } else if (v == '[') {
                    rc = sc_side(b, s, f, ask, cur, snap_ctx, snap_sym, lv_sym);
                } else if (ask) {
                    SET(BNF_AID);
                    rc = sc_u64(s, &f->a);
                } else {
                    rc = sc_skip_u64(s);
                }
                break;
            }
            default:
                return -1;
            }
        } else if (kn == 2 && k[0] == 'p' && k[1] == 'u') {
            SET(BNF_PU);
            rc = sc_u64(s, &f->pu);
        } else if ((kn == 2 && k[0] == 'p' && k[1] == 's') ||
                   (kn == 4 && memcmp(k, "pair", 4) == 0) ||
                   (kn == 6 && memcmp(k, "symbol", 6) == 0)) {
            /* COIN-M: "ps" (pair) in diffs and book tickers, "symbol"/"pair" in REST bodies */
            rc = sc_skip_qstr(s);
        } else if (kn == 12 && memcmp(k, "lastUpdateId", 12) == 0) {
            SET(BNF_LUID);
            rc = sc_u64(s, &f->luid);
        } else if (kn == 4 && (memcmp(k, "bids", 4) == 0 || memcmp(k, "asks", 4) == 0)) {
            rc = sc_side(b, s, f, k[0] == 'a', cur, snap_ctx, snap_sym, lv_sym);
        } else {
            return -1;
        }
        if (UNLIKELY(rc < 0 || s->p >= s->e))
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        return -1;
    }
}

/* `"k":` (a one-letter key k) next, with a value byte after it: consumed. */
static inline bool sc_key1(scan_t *s, char k)
{
    uint32_t w;
    if (UNLIKELY(s->e - s->p < 5))
        return false;
    memcpy(&w, s->p, 4);
    if (w != (0x3a220022u | (uint32_t)(unsigned char)k << 8))
        return false;
    s->p += 4;
    return true;
}

/* After a value: ',' (consumed) and another member, or (last) the object's '}' (consumed). */
static inline bool sc_then(scan_t *s, bool last)
{
    if (UNLIKELY(s->p >= s->e || *s->p != (last ? '}' : ',')))
        return false;
    s->p++;
    return true;
}

/*
 * A bookTicker's data object as Binance lays it out (2/3 of a spot recording's frames), read
 * in straight-line code instead of the per-key dispatch of sc_object(), whose branch on each
 * key is the one the CPU cannot predict from frame to frame:
 *   spot     {"u":N,"s":"S","b":"P","B":"Q","a":"P","A":"Q"}
 *   futures  {"e":"bookTicker","u":N,"s":"S","b":"P","B":"Q","a":"P","A":"Q","T":N,"E":N}
 * It sets exactly what sc_object() would for the same text (the same value readers, "b"/"B"/
 * "a"/"A" strings skipped); on anything else it returns -1 and the caller gives the object to
 * sc_object() from its start, with f cleared. Ends after the object's '}'.
 */
static int sc_ticker(scan_t *s, bn_fields_t *f)
{
    bn_str_t skip;
    bool fut = s->e - s->p > 2 && s->p[1] == 'e';
    uint32_t have = BNF_U | BNF_S;
    if (fut) {
        if (!sc_key1(s, 'e') || sc_qstr(s, &f->e) < 0 || !sc_then(s, false))
            return -1;
        have |= BNF_E_TYPE | BNF_T | BNF_E_TIME;
    }
    if (!sc_key1(s, 'u') || sc_u64(s, &f->u) < 0 || !sc_then(s, false) || !sc_key1(s, 's') ||
        sc_qstr(s, &f->s) < 0 || !sc_then(s, false) || !sc_key1(s, 'b') || sc_qstr(s, &skip) < 0 ||
        !sc_then(s, false) || !sc_key1(s, 'B') || sc_qstr(s, &skip) < 0 || !sc_then(s, false) ||
        !sc_key1(s, 'a') || sc_qstr(s, &skip) < 0 || !sc_then(s, false) || !sc_key1(s, 'A') ||
        sc_qstr(s, &skip) < 0 || !sc_then(s, !fut))
        return -1;
    if (fut && (!sc_key1(s, 'T') || sc_u64(s, &f->T) < 0 || !sc_then(s, false) ||
                !sc_key1(s, 'E') || sc_u64(s, &f->E) < 0 || !sc_then(s, true)))
        return -1;
    f->have = have;
    return 0;
}

int feed_binance__scan(feed_bn_t *b, const char *buf, size_t len, bn_msg_t *m)
{
    scan_t s = {buf, buf + len};
    int snap_ctx = 0, snap_sym = -1, wrapped = 0, lv_sym = -1, cur = -2, ticker = 0;
    bn_fields_t f;
    f.have = 0;
    b->lv_n = 0;
    static const char W[] = "{\"stream\":\"";
    if (len > sizeof(W) && memcmp(buf, W, sizeof(W) - 1) == 0) {
        s.p += sizeof(W) - 1;
        bn_str_t name;
        if (sc_str(&s, &name) < 0)
            return 1;
        static const char D[] = ",\"data\":{";
        static const char G[] = ",\"generated\":true,\"data\":{";
        size_t left = (size_t)(s.e - s.p);
        if (left >= sizeof(D) - 1 && memcmp(s.p, D, sizeof(D) - 1) == 0)
            s.p += sizeof(D) - 1;
        else if (left >= sizeof(G) - 1 && memcmp(s.p, G, sizeof(G) - 1) == 0)
            s.p += sizeof(G) - 1;
        else
            return 1;
        if (name.n > 14 && memcmp(name.p + name.n - 14, "@depthSnapshot", 14) == 0) {
            snap_ctx = 1;
            const char *at = memchr(name.p, '@', name.n);
            snap_sym = feed_binance__sym(b, name.p, (size_t)(at - name.p), true);
        }
        wrapped = 1;
        ticker = !snap_ctx && name.n > 11 && memcmp(name.p + name.n - 11, "@bookTicker", 11) == 0;
    } else if (len >= 2 && buf[0] == '{') {
        s.p++;
        snap_ctx = 1;
        snap_sym = b->n_sym == 1 ? 0 : -1;
    } else {
        return 1;
    }
    const char *obj = s.p;
    if (ticker && sc_ticker(&s, &f) < 0) {
        ticker = 0; /* not the usual layout: the general reader decides, from the start */
        s.p = obj;
        f.have = 0;
    }
    if (!ticker && sc_object(b, &s, &f, snap_ctx, snap_sym, &lv_sym, &cur) < 0)
        return 1;
    if (wrapped) {
        if (s.p >= s.e || *s.p != '}')
            return 1;
        s.p++;
    }
    if (s.p != s.e)
        return 1;
    int is_snap = snap_ctx && (f.have & BNF_LUID);
    /* finish() reads the symbol only for an event ("e") or levels: a bookTicker needs none */
    int sym = is_snap ? snap_sym
              : ((f.have & BNF_S) && (f.have & (BNF_E_TYPE | BNF_ALV | BNF_BLV)))
                  ? sc_cur(b, &f, &cur)
                  : -1;
    if ((f.have & (BNF_ALV | BNF_BLV)) && lv_sym != sym)
        return 1;
    if (!(f.have & BNF_ALV))
        f.a_n = f.a_off = 0;
    if (!(f.have & BNF_BLV))
        f.b_n = f.b_off = 0;
    if (feed_binance__finish(b, &f, sym, snap_ctx, true, m) < 0)
        return 1;
    return 0;
}
