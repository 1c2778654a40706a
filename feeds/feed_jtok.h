/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the jsmn-based venue parsers (feed_kraken.c, feed_okex.c,
 * feed_bitstamp.c, feed_bitmex.c): a per-handler token array that grows only when a frame
 * bigger than any before arrives (bounded; no allocation per message in steady state), token
 * navigation (tokens are in document order, so a subtree is a contiguous range), scalar
 * decoding, and the venues' rate-limited "near '<token>'" log line (feed_ratelim_t, feed.h).
 *
 * Include after `#define JSMN_STATIC` + `#define JSMN_PARENT_LINKS` + `#define JSMN_STRICT` +
 * `#include <jsmn.h>` (the venue file owns its static copy of jsmn), or alone (then this header
 * does exactly that). Strict mode matters: non-strict jsmn accepts `{"a"}` or bare words, and the
 * key/value walk below would then read a neighbour's token as a value. Thread: feed:<venue> (one
 * feed_jtok_t per handler).
 */
#ifndef FEED_JTOK_H
#define FEED_JTOK_H

#ifndef JSMN_H
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>
#endif
#ifndef JSMN_PARENT_LINKS
#error "feeds/feed_jtok.h: jsmn must be included with JSMN_PARENT_LINKS (feed_jtok_wellformed)"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"
#include "feeds/feed.h"

/** Token array of one handler. */
typedef struct feed_jtok {
    jsmntok_t *t;
    int cap, max_cap; /* current and largest allowed number of tokens */
    int n;            /* tokens of the last parse */
} feed_jtok_t;

static inline int feed_jtok_init(feed_jtok_t *j, int cap, int max_cap)
{
    j->t = calloc((size_t)cap, sizeof(jsmntok_t));
    if (!j->t)
        return -ENOMEM;
    j->cap = cap;
    j->max_cap = max_cap;
    j->n = 0;
    return 0;
}

static inline void feed_jtok_deinit(feed_jtok_t *j)
{
    free(j->t);
    j->t = NULL;
    j->cap = j->n = 0;
}

/** Is the token tree of a jsmn parse (n > 0 tokens) one well-formed JSON value? Even strict
 *  jsmn accepts a key without its value (`{"a","b":1}`, `{"a":}`), a key inside an array
 *  (`["a":1]`), two keys in a row and several top-level values; the walkers here and in the
 *  handlers assume every object member is a key string with exactly one value and one root, and
 *  would read a neighbour's token (or past the count) as a value. So, from each token's parent:
 *  one root (token 0: only it has none); an object's children are strings of size 1 (a key and
 *  its value); a scalar elsewhere has size 0. One pass without branches (a stack walk by
 *  sizes cost the venue parsers 11 % of their throughput; docs/RELIABILITY.md "Fuzzing",
 *  docs/BENCHMARKS.md "Well-formed token trees"). */
static inline bool feed_jtok_wellformed(const jsmntok_t *t, int n)
{
    if (n < 1 || t[0].parent != -1)
        return false;
    if (t[0].type != JSMN_OBJECT && t[0].type != JSMN_ARRAY)
        return n == 1 && t[0].size == 0;
    unsigned bad = 0;
    for (int i = 1; i < n; i++) {
        int p = t[i].parent;
        unsigned up = (unsigned)p < (unsigned)i; /* an earlier token: not a second root */
        bad |= up ^ 1u;
        p &= -(int)up;
        unsigned inobj = t[p].type == JSMN_OBJECT, str = t[i].type == JSMN_STRING;
        unsigned scalar = str | (t[i].type == JSMN_PRIMITIVE);
        bad |= inobj & ((str ^ 1u) | (t[i].size != 1));
        bad |= (inobj ^ 1u) & scalar & (t[i].size != 0);
    }
    return !bad;
}

/** Tokenize buf. @return number of tokens (> 0) or TG_EJSON (malformed: see
 *  feed_jtok_wellformed; empty, or bigger than max_cap tokens). Grows the array (doubling, up to
 *  max_cap) on JSMN_ERROR_NOMEM. */
static inline int feed_jtok_parse(feed_jtok_t *j, const char *buf, size_t len)
{
    for (;;) {
        jsmn_parser p;
        jsmn_init(&p);
        int r = jsmn_parse(&p, buf, len, j->t, (unsigned)j->cap);
        if (r == JSMN_ERROR_NOMEM && j->cap < j->max_cap) {
            int nc = j->cap * 2 > j->max_cap ? j->max_cap : j->cap * 2;
            jsmntok_t *nt = realloc(j->t, (size_t)nc * sizeof(jsmntok_t));
            if (!nt)
                return TG_EJSON;
            j->t = nt;
            j->cap = nc;
            continue;
        }
        if (r <= 0) {
            j->n = 0;
            return TG_EJSON;
        }
        /* jsmn (non-strict) accepts an unterminated top-level value: the root must close */
        if (j->t[0].end < 0 || !feed_jtok_wellformed(j->t, r)) {
            j->n = 0;
            return TG_EJSON;
        }
        j->n = r;
        return r;
    }
}

/** Length of token t. */
static inline size_t feed_jtok_len(const jsmntok_t *t)
{
    return (size_t)(t->end - t->start);
}

/** Is token t a string (or primitive) equal to lit? */
static inline bool feed_jtok_eq(const char *js, const jsmntok_t *t, const char *lit)
{
    size_t n = strlen(lit);
    return (t->type == JSMN_STRING || t->type == JSMN_PRIMITIVE) && feed_jtok_len(t) == n &&
           memcmp(js + t->start, lit, n) == 0;
}

/** Index of the first token after the subtree rooted at i (n = number of tokens). */
static inline int feed_jtok_next(const jsmntok_t *t, int n, int i)
{
    int end = t[i].end;
    int k = i + 1;
    while (k < n && t[k].start < end)
        k++;
    return k;
}

/** Value index of key in the object at obj, or -1. */
static inline int feed_jtok_get(const char *js, const jsmntok_t *t, int n, int obj, const char *key)
{
    if (obj < 0 || obj >= n || t[obj].type != JSMN_OBJECT)
        return -1;
    int k = obj + 1;
    for (int m = 0; m < t[obj].size && k + 1 < n; m++) {
        if (t[k].type != JSMN_STRING || t[k].size != 1)
            return -1; /* not a key with a value: malformed object */
        if (feed_jtok_eq(js, &t[k], key))
            return k + 1;
        k = feed_jtok_next(t, n, k + 1);
    }
    return -1;
}

/** Value indexes of keys[0..nk) in the object at obj into idx[0..nk), each as feed_jtok_get()
 *  finds it (-1: absent or after a malformed member), in one pass over the members. */
static inline void feed_jtok_getv(const char *js, const jsmntok_t *t, int n, int obj,
                                  const char *const *keys, int *idx, int nk)
{
    for (int i = 0; i < nk; i++)
        idx[i] = -1;
    if (obj < 0 || obj >= n || t[obj].type != JSMN_OBJECT)
        return;
    int k = obj + 1;
    for (int m = 0; m < t[obj].size && k + 1 < n; m++) {
        if (t[k].type != JSMN_STRING || t[k].size != 1)
            return; /* not a key with a value: malformed object */
        for (int i = 0; i < nk; i++)
            if (idx[i] < 0 && feed_jtok_eq(js, &t[k], keys[i]))
                idx[i] = k + 1;
        k = feed_jtok_next(t, n, k + 1);
    }
}

/** Parse a JSON integer primitive (optionally a string of digits) into int64. @return 0 or
 *  TG_EFIELD (not an integer / out of range). */
static inline int feed_jtok_i64(const char *js, const jsmntok_t *t, int64_t *out)
{
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return TG_EFIELD;
    const char *p = js + t->start, *e = js + t->end;
    bool neg = false;
    if (p < e && *p == '-') {
        neg = true;
        p++;
    }
    if (p == e || e - p > 19)
        return TG_EFIELD;
    uint64_t v = 0;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9')
            return TG_EFIELD;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return TG_EFIELD;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/** A time in milliseconds since the epoch (a JSON integer, or a string of digits) as ns in
 *  *ns. @return 0 or TG_EFIELD (not an integer, negative, or past what int64 ns hold). */
static inline int feed_jtok_ms(const char *js, const jsmntok_t *t, int64_t *ns)
{
    int64_t ms;
    if (feed_jtok_i64(js, t, &ms) < 0 || ms < 0 || ms > INT64_MAX / 1000000)
        return TG_EFIELD;
    *ns = ms * 1000000;
    return 0;
}

/** feed_jtok_ms() of a JSON number only (a string is TG_EFIELD). */
static inline int feed_jtok_ms_num(const char *js, const jsmntok_t *t, int64_t *ns)
{
    return t->type == JSMN_PRIMITIVE ? feed_jtok_ms(js, t, ns) : TG_EFIELD;
}

/** The text of tokens p and z decoded at instr's scales as a price (*px) and a size (*sz).
 *  @return 0, TG_ERESCALE or feed_dec()'s error (the price's first). */
static inline int feed_jtok_dec_pxsz(feed_handler_t *h, uint32_t instr, const char *js,
                                     const jsmntok_t *p, const jsmntok_t *z, int64_t *px,
                                     int64_t *sz)
{
    int rc = feed_dec_px(h, instr, js + p->start, feed_jtok_len(p), px);
    if (rc < 0)
        return rc;
    return feed_dec_sz(h, instr, js + z->start, feed_jtok_len(z), sz);
}

/** Is token t a string equal to lit (primitives never match)? */
static inline bool feed_jtok_str_is(const char *js, const jsmntok_t *t, const char *lit)
{
    size_t n = strlen(lit);
    return t->type == JSMN_STRING && feed_jtok_len(t) == n && memcmp(js + t->start, lit, n) == 0;
}

/** A side given as one of two words: token t (a string) equal to a gives sa, equal to b gives
 *  sb, in *side. @return 0, or TG_EFIELD (anything else; *side unchanged). */
static inline int feed_jtok_side(const char *js, const jsmntok_t *t, const char *a, uint8_t sa,
                                 const char *b, uint8_t sb, uint8_t *side)
{
    if (feed_jtok_str_is(js, t, a))
        *side = sa;
    else if (feed_jtok_str_is(js, t, b))
        *side = sb;
    else
        return TG_EFIELD;
    return 0;
}

/** Parse an unsigned JSON integer primitive of 1..19 digits. @return 0 or TG_EFIELD. */
static inline int feed_jtok_u64(const char *js, const jsmntok_t *t, uint64_t *v)
{
    if (t->type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    size_t n = feed_jtok_len(t);
    if (n == 0 || n > 19)
        return TG_EFIELD;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)js[t->start + i] - '0';
        if (d > 9)
            return TG_EFIELD;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/** Rate-limited (rl) log line "<venue>: what[ near '<first 120 bytes of t>'] (N similar lines
 *  suppressed)" (cold paths). t may be NULL. Nothing is counted when h has no log callback. */
static inline void feed_jtok_log(feed_handler_t *h, feed_ratelim_t *rl, int64_t now, int level,
                                 const char *what, const char *js, const jsmntok_t *t)
{
    uint64_t dropped;
    if (!h->log || !feed_ratelim_ok(rl, now, &dropped))
        return;
    int n = t ? (int)feed_jtok_len(t) : 0;
    if (n > 120)
        n = 120;
    feed_logf(h, level, "%s: %s%s%.*s%s (%llu similar lines suppressed)", h->venue->name, what,
              t ? " near '" : "", n, t ? js + t->start : "", t ? "'" : "",
              (unsigned long long)dropped);
}

/** A message of a table venue dropped for rc: unless rc is TG_ERESCALE (the frame is parsed
 *  again) it is counted (feed_count_error) and logged (WARN "what near '<t>'", through the
 *  spec's limiter, feed_vrl). @return rc. */
static inline int feed_jtok_drop(feed_handler_t *h, int64_t now, int rc, const char *what,
                                 const char *js, const jsmntok_t *t)
{
    if (rc == TG_ERESCALE)
        return rc;
    feed_count_error(h->stats, rc);
    feed_jtok_log(h, feed_vrl(h), now, FEED_LOG_WARN, what, js, t);
    return rc;
}

/** Tokenize a received frame whose root must be of type root (JSMN_UNDEFINED: any). A frame
 *  that does not tokenize or has another root is counted err_json, logged (rl) "malformed JSON"
 *  with its first 120 bytes, and rejected. @return number of tokens or TG_EJSON. */
static inline int feed_jtok_frame(feed_handler_t *h, feed_jtok_t *j, feed_ratelim_t *rl,
                                  const char *buf, size_t len, int64_t ts_mono, jsmntype_t root)
{
    int n = feed_jtok_parse(j, buf, len);
    if (n < 0 || (root != JSMN_UNDEFINED && j->t[0].type != root)) {
        TG_STAT_INC(h->stats->err_json);
        jsmntok_t whole = {.type = JSMN_STRING, .start = 0, .end = (int)(len < 120 ? len : 120)};
        feed_jtok_log(h, rl, ts_mono, FEED_LOG_WARN, "malformed JSON", buf, &whole);
        return TG_EJSON;
    }
    return n;
}

/** Tokenize a received frame into a table venue's token array (feed_vspec_t jt and rl) with
 *  feed_jtok_frame() (root type root; a bad frame is counted err_json and logged) and grow
 *  the state's scratch blocks (FEED_VSCRATCH) to the tokens (no memory:
 *  counted err_json). @return number of tokens, TG_EJSON or -ENOMEM.  Thread: feed:<venue>. */
int feed_vframe(feed_handler_t *h, const char *buf, size_t len, int64_t ts_mono, jsmntype_t root);

/** feed_vframe() of a venue that answers its text ping with the bare word `pong`: such a frame
 *  is counted unhandled and not tokenized. @return 0 (pong), the number of tokens, TG_EJSON
 *  or -ENOMEM (counted).  Thread: feed:<venue>. */
int feed_vframe_pong(feed_handler_t *h, const char *buf, size_t len, int64_t ts_mono,
                     jsmntype_t root);

/** The same counting and logging nothing (the caller settles the frame or REST answer): a
 *  text that does not tokenize or has another root than root (JSMN_UNDEFINED: any) is
 *  TG_EJSON. @return number of tokens, TG_EJSON or -ENOMEM. */
int feed_vparse(feed_handler_t *h, const char *buf, size_t len, jsmntype_t root);

/* feed_vparser_t.flags */
#define FEED_VP_COUNT 0x1u /* tokenize with feed_vframe (bad JSON counted and logged there), */
#define FEED_VP_PONG                                                                               \
    0x2u                  /* with feed_vframe_pong (the text "pong" is unhandled, implies COUNT),  \
                           */
                          /* else with feed_vparse (the settling counts bad JSON) */
#define FEED_VP_SLOW 0x4u /* count every tokenized frame in slow_path */

/** A table venue's frame parser (feed_venue_t.parser): fn gets the frame's n tokens t (the
 *  spec's token array) with a root of type root (JSMN_UNDEFINED: any).  Thread: any (const). */
typedef struct feed_vparser {
    int (*fn)(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
              int64_t ts_recv, int64_t ts_mono);
    jsmntype_t root;
    unsigned flags; /* FEED_VP_* */
} feed_vparser_t;

/** Tokenize a frame as h->venue->parser says and hand the tokens to its fn (a feed_parse_fn).
 *  @return fn's result; 0 for a pong (FEED_VP_PONG, counted unhandled); TG_EJSON (counted
 *  with FEED_VP_COUNT) or -ENOMEM.  Thread: feed:<venue>. */
int feed_vparser_run(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                     int64_t ts_mono);

/** Scratch block p of *cap elements of el bytes, grown if needed to j->cap / per + 1 elements
 *  (one per `per` tokens). No allocation once big enough. @return the block (moved or not), or
 *  NULL when realloc failed (p then stays valid, owned by the caller, *cap unchanged). */
static inline void *feed_jtok_scratch(void *p, size_t *cap, const feed_jtok_t *j, size_t per,
                                      size_t el)
{
    size_t want = (size_t)j->cap / per + 1;
    if (want <= *cap)
        return p;
    void *np = realloc(p, want * el);
    if (np)
        *cap = want;
    return np;
}

#endif
