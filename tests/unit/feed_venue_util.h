/* SPDX-License-Identifier: MIT */
/*
 * Test-only helpers shared by the venue handler tests (test_feed_binance.c, test_feed_coinbase.c,
 * test_feed_bybit.c): run a recording (file or in-memory text) through feed_offline into one
 * reference book per instrument, keep every event, count trades; list recordings; mutate
 * frames. Header-only; include from one test file per executable.
 */
#ifndef TEST_FEED_VENUE_UTIL_H
#define TEST_FEED_VENUE_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/rec/feed_offline.h"
#include "tests/fixtures/ref_book.h"

#define FV_MAX_INSTR 64

typedef struct fv_run {
    ref_book_t book[FV_MAX_INSTR];
    long trades[FV_MAX_INSTR], buys[FV_MAX_INSTR], sells[FV_MAX_INSTR];
    int64_t amount[FV_MAX_INSTR];
    long gap_events, stale_events, last_flags, clears;
    tg_event_t *ev; /* every event, when keep_events */
    size_t n_ev, cap_ev;
    int keep_events;
    uint32_t truncate; /* ref_book_truncate after each message (0 = never) */
    feed_offline_t *off;
} fv_run_t;

static inline int fv_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    fv_run_t *r = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        if (e->instr >= FV_MAX_INSTR)
            return -1;
        if (r->keep_events) {
            if (r->n_ev == r->cap_ev) {
                r->cap_ev = r->cap_ev ? r->cap_ev * 2 : 4096;
                r->ev = realloc(r->ev, r->cap_ev * sizeof(tg_event_t));
            }
            r->ev[r->n_ev++] = *e;
        }
        ref_book_apply(&r->book[e->instr], e);
        if (e->kind == TG_EV_TRADE) {
            r->trades[e->instr]++;
            r->amount[e->instr] += e->size;
            if (e->side == TG_SIDE_BUY)
                r->buys[e->instr]++;
            else if (e->side == TG_SIDE_SELL)
                r->sells[e->instr]++;
        } else if (e->kind == TG_EV_GAP) {
            r->gap_events++;
        } else if (e->kind == TG_EV_STALE) {
            r->stale_events++;
        } else if (e->kind == TG_EV_BOOK_CLEAR) {
            r->clears++;
        }
        if (e->flags & TG_EVF_LAST) {
            r->last_flags++;
            if (r->truncate)
                ref_book_truncate(&r->book[e->instr], r->truncate);
        }
    }
    return 0;
}

/** Run a file (path) or an in-memory tgrec (text != NULL). Returns 0 or a negative code. */
static inline int fv_run(fv_run_t *r, const char *path, const char *text, size_t len,
                         void (*tweak)(feed_handler_t *h))
{
    int rc = text ? feed_offline_open_mem(&r->off, text, len, NULL, NULL, 0)
                  : feed_offline_open(&r->off, path, NULL, NULL, 0);
    if (rc < 0)
        return rc;
    if (tweak)
        tweak(&r->off->h);
    return feed_offline_run(r->off, fv_sink, r);
}

static inline void fv_free(fv_run_t *r)
{
    for (int i = 0; i < FV_MAX_INSTR; i++)
        ref_book_free(&r->book[i]);
    free(r->ev);
    feed_offline_close(&r->off);
    memset(r, 0, sizeof(*r));
}

/** Every error counter summed. */
static inline uint64_t fv_errors(const feed_stats_t *s)
{
    return TG_STAT_GET(s->err_json) + TG_STAT_GET(s->err_field) + TG_STAT_GET(s->err_symbol) +
           TG_STAT_GET(s->err_decimal) + TG_STAT_GET(s->err_venue);
}

/** frames == handled + unhandled + errors: every frame accounted for exactly once. */
static inline int fv_accounted(const feed_stats_t *s)
{
    return TG_STAT_GET(s->frames) ==
           TG_STAT_GET(s->handled) + TG_STAT_GET(s->unhandled) + fv_errors(s);
}

/** Recordings of a venue folder: fills paths (malloc'd), returns the count. */
static inline int fv_list(const char *venue, char paths[][512], int max)
{
    const char *root = getenv("TG_RECORDINGS");
    if (!root)
        return 0;
    char dir[256];
    snprintf(dir, sizeof(dir), "%.200s/%.40s", root, venue);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        if (!strstr(de->d_name, ".tgrec"))
            continue;
        snprintf(paths[n++], 512, "%.250s/%.250s", dir, de->d_name);
    }
    closedir(d);
    return n;
}

/** Oracle path for a recording path. */
static inline void fv_oracle_path(const char *rec, char *out, size_t cap)
{
    const char *base = strrchr(rec, '/');
    base = base ? base + 1 : rec;
    const char *root = getenv("TG_PEER_EXPECTED");
    snprintf(out, cap, "%.400s/%.300s.result.json", root ? root : ".", base);
}

/** Load a whole recording as text (decompressed), via the tgrec reader's buffer. */
static inline char *fv_load_text(const char *path, size_t *len)
{
    feed_tgrec_t *r;
    if (feed_tgrec_open(&r, path) < 0)
        return NULL;
    /* rebuild "header + data lines": the reader replaces line ends by NULs */
    size_t cap = r->len + 1, n = 0;
    char *out = malloc(cap + 1);
    for (size_t i = 0; i < r->len; i++)
        out[n++] = r->buf[i] ? r->buf[i] : '\n';
    out[n] = 0;
    *len = n;
    feed_tgrec_close(&r);
    return out;
}

/** xorshift PRNG for reproducible mutations. */
static inline uint64_t fv_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/** Mutate frame (len bytes) into out (cap >= len + 32): byte flip, truncation, deletion,
 *  insertion of a JSON-significant byte, or digit change. Returns the new length. */
static inline size_t fv_mutate(const char *in, size_t len, char *out, uint64_t *seed)
{
    memcpy(out, in, len);
    if (len == 0)
        return 0;
    size_t at = fv_rand(seed) % len;
    static const char sig[] = "\"{}[],:0123456789.-e\\ tfn";
    switch (fv_rand(seed) % 6) {
    case 0: /* flip a bit */
        out[at] = (char)(out[at] ^ (1 << (fv_rand(seed) % 8)));
        return len;
    case 1: /* truncate */
        return at;
    case 2: /* delete a run */
    {
        size_t k = 1 + fv_rand(seed) % 8;
        if (at + k > len)
            k = len - at;
        memmove(out + at, out + at + k, len - at - k);
        return len - k;
    }
    case 3: /* insert a significant byte */
        memmove(out + at + 1, out + at, len - at);
        out[at] = sig[fv_rand(seed) % (sizeof(sig) - 1)];
        return len + 1;
    case 4: /* replace with a significant byte */
        out[at] = sig[fv_rand(seed) % (sizeof(sig) - 1)];
        return len;
    default: /* make a number huge: insert 20 nines before a digit */
        for (size_t i = at; i < len; i++)
            if (out[i] >= '0' && out[i] <= '9') {
                memmove(out + i + 20, out + i, len - i);
                memset(out + i, '9', 20);
                return len + 20;
            }
        return len;
    }
}

/** Captures what a handler sends and requests (replaces the offline driver's counters). */
typedef struct fv_cap {
    char sent[16][2048];
    int n_sent;
    char rest[64][256];
    uint64_t tag[64];
    int n_rest;
    int logs;
} fv_cap_t;

static inline int fv_cap_send(void *tctx, const char *text, size_t len)
{
    fv_cap_t *c = tctx;
    if (c->n_sent < 16 && len < 2048) {
        memcpy(c->sent[c->n_sent], text, len);
        c->sent[c->n_sent][len] = 0;
    }
    c->n_sent++;
    return 0;
}

static inline int fv_cap_rest(void *tctx, const char *path, uint64_t tag)
{
    fv_cap_t *c = tctx;
    if (c->n_rest < 64) {
        snprintf(c->rest[c->n_rest], 256, "%s", path);
        c->tag[c->n_rest] = tag;
    }
    c->n_rest++;
    return 0;
}

static inline void fv_cap_log(void *lctx, int level, const char *msg)
{
    ((fv_cap_t *)lctx)->logs++;
}

/** Point h's transport services at c. */
static inline void fv_capture(feed_handler_t *h, fv_cap_t *c)
{
    memset(c, 0, sizeof(*c));
    h->send = fv_cap_send;
    h->rest_get = fv_cap_rest;
    h->tctx = c;
    h->log = fv_cap_log;
    h->lctx = c;
}

/** Feed up to max frames of a recording, a quarter of them mutated, straight into the handler.
 *  Fills *st with the handler's stats. Returns the number of frames fed. */
static inline size_t fv_fuzz(const char *path, size_t max, uint64_t seed, feed_stats_t *st)
{
    feed_offline_t *o;
    if (feed_offline_open(&o, path, NULL, NULL, 0) < 0)
        return 0;
    fv_run_t *r = calloc(1, sizeof(*r));
    o->h.out.flush = fv_sink;
    o->h.out.ctx = r;
    char *buf = malloc(1 << 21);
    int64_t ts;
    const char *frame;
    size_t len, fed = 0;
    while (fed < max) {
        int rc = feed_tgrec_next(o->rec, &ts, &frame, &len);
        if (rc == 0) {
            feed_tgrec_rewind(o->rec); /* small files: go round again */
            continue;
        }
        if (rc < 0 || len + 32 > (1 << 21))
            continue;
        size_t n = len;
        memcpy(buf, frame, len);
        if (fv_rand(&seed) % 4 == 0)
            n = fv_mutate(frame, len, buf, &seed);
        feed_frame(&o->h, buf, n, ts, ts);
        feed_flush(&o->h);
        fed++;
    }
    memcpy(st, &o->stats, sizeof(*st));
    free(buf);
    fv_free(r);
    free(r);
    feed_offline_close(&o);
    return fed;
}

#endif
