/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the jsmn-based venue parsers (feed_kraken.c, feed_okex.c,
 * feed_bitstamp.c, feed_bitmex.c): a per-handler token array that grows only when a frame
 * bigger than any before arrives (bounded; no allocation per message in steady state), token
 * navigation (tokens are in document order, so a subtree is a contiguous range), and a
 * rate limiter for log lines.
 *
 * Include after `#define JSMN_STATIC` + `#define JSMN_STRICT` + `#include <jsmn.h>` (the venue
 * file owns its static copy of jsmn), or alone (then this header does exactly that). Strict
 * mode matters: non-strict jsmn accepts `{"a"}` or bare words, and the key/value walk below
 * would then read a neighbour's token as a value.
 * Thread: feed:<venue> (one feed_jtok_t per handler).
 */
#ifndef FEED_JTOK_H
#define FEED_JTOK_H

#ifndef JSMN_H
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"

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

/** Tokenize buf. @return number of tokens (> 0) or TG_EJSON (malformed, empty, or bigger than
 *  max_cap tokens). Grows the array (doubling, up to max_cap) on JSMN_ERROR_NOMEM. */
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
        if (j->t[0].end < 0) {
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

/** Log rate limiter: at most `burst` lines per second of monotonic time. */
typedef struct feed_ratelim {
    int64_t window; /* start of the current 1 s window (mono ns) */
    uint32_t used, burst;
    uint64_t suppressed; /* lines dropped since the last one let through */
} feed_ratelim_t;

/** May a line be logged now? On true, *dropped receives the number suppressed before it. */
static inline bool feed_ratelim_ok(feed_ratelim_t *r, int64_t now_mono, uint64_t *dropped)
{
    if (now_mono - r->window >= 1000000000 || now_mono < r->window) {
        r->window = now_mono;
        r->used = 0;
    }
    if (r->used >= r->burst) {
        r->suppressed++;
        return false;
    }
    r->used++;
    *dropped = r->suppressed;
    r->suppressed = 0;
    return true;
}

#endif
