/* SPDX-License-Identifier: MIT */
/*
 * REFERENCE IMPLEMENTATION, not product code: an L2 book as two sorted arrays, linear
 * insert/delete. Deliberately simple (obviously right, slow) so tests can check venue
 * handlers and the real book (book_l2.h) against it, and benchmarks can measure book_l2
 * against it. Header-only. It lives in book/ (the bottom layer) so that both tests/ and
 * tools/ may include it; the gateway, feeds and storage never do.
 * Thread: any (no shared state; each ref_book_t belongs to its caller).
 */
#ifndef BOOK_REF_H
#define BOOK_REF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_event.h"

typedef struct ref_side {
    int64_t *px, *sz;
    size_t n, cap;
} ref_side_t;

typedef struct ref_book {
    ref_side_t bid, ask;
    int have_snapshot;
    uint64_t applied;
} ref_book_t;

static inline void ref_side_set(ref_side_t *s, int desc, int64_t px, int64_t sz)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) { /* first index whose price is not better than px */
        size_t mid = (lo + hi) / 2;
        int better = desc ? s->px[mid] > px : s->px[mid] < px;
        if (better)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = lo < s->n && s->px[lo] == px;
    if (sz == 0) {
        if (found) {
            memmove(s->px + lo, s->px + lo + 1, (s->n - lo - 1) * sizeof(int64_t));
            memmove(s->sz + lo, s->sz + lo + 1, (s->n - lo - 1) * sizeof(int64_t));
            s->n--;
        }
        return;
    }
    if (found) {
        s->sz[lo] = sz;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->px = realloc(s->px, s->cap * sizeof(int64_t));
        s->sz = realloc(s->sz, s->cap * sizeof(int64_t));
    }
    memmove(s->px + lo + 1, s->px + lo, (s->n - lo) * sizeof(int64_t));
    memmove(s->sz + lo + 1, s->sz + lo, (s->n - lo) * sizeof(int64_t));
    s->px[lo] = px;
    s->sz[lo] = sz;
    s->n++;
}

/** Apply one event (BOOK_CLEAR, LEVEL; others ignored). */
static inline void ref_book_apply(ref_book_t *b, const tg_event_t *ev)
{
    if (ev->kind == TG_EV_BOOK_CLEAR) {
        b->bid.n = b->ask.n = 0;
        b->have_snapshot = 1;
    } else if (ev->kind == TG_EV_LEVEL) {
        if (ev->side == TG_SIDE_BID)
            ref_side_set(&b->bid, 1, ev->price, ev->size);
        else if (ev->side == TG_SIDE_ASK)
            ref_side_set(&b->ask, 0, ev->price, ev->size);
        b->applied++;
    }
}

/** Keep at most n levels per side (venues that truncate to the subscribed depth). */
static inline void ref_book_truncate(ref_book_t *b, size_t n)
{
    if (b->bid.n > n)
        b->bid.n = n;
    if (b->ask.n > n)
        b->ask.n = n;
}

static inline void ref_book_free(ref_book_t *b)
{
    free(b->bid.px);
    free(b->bid.sz);
    free(b->ask.px);
    free(b->ask.sz);
    memset(b, 0, sizeof(*b));
}

#endif
