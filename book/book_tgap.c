/* SPDX-License-Identifier: MIT */
/*
 * Trade gaps of one instrument: the rule is in book_tgap.h.
 * Thread: book.
 */
#include "book/book_tgap.h"

#include <stdlib.h>
#include <string.h>

static void hole_drop(book_tgap_t *g, unsigned i) /* keeps the order (oldest first) */
{
    memmove(&g->holes[i], &g->holes[i + 1], (g->n - i - 1) * sizeof(*g->holes));
    g->n--;
}

static void hole_add(book_tgap_t *g, book_tgap_hole_t h, book_tgap_fn fn, void *ctx)
{
    if (g->n == g->cap && g->cap < BOOK_TGAP_MAX) {
        uint16_t cap = g->cap ? (uint16_t)(g->cap * 2) : 4;
        book_tgap_hole_t *a = realloc(g->holes, cap * sizeof(*a));
        if (a) {
            g->holes = a;
            g->cap = cap;
        }
    }
    if (!g->cap) { /* no memory for even one: report it now rather than forget it */
        fn(ctx, h.last, h.got, h.ts_exch, h.ts_recv);
        return;
    }
    if (g->n == g->cap) { /* full: the two oldest become one covering bound */
        g->holes[0].got = g->holes[1].got;
        g->holes[0].ts_exch = g->holes[1].ts_exch;
        g->holes[0].ts_recv = g->holes[1].ts_recv;
        hole_drop(g, 1);
    }
    g->holes[g->n++] = h;
}

/* A venue whose ids tell no hole: times instead (book_tgap.h). */
static void trade_by_time(book_tgap_t *g, int64_t ts_exch, int64_t ts_recv, book_tgap_fn fn,
                          void *ctx)
{
    int64_t ts = ts_exch ? ts_exch : ts_recv;
    if (g->armed && ts > g->last_ts) { /* not a re-delivered one: the first after the outage */
        g->armed = 0;
        if (!g->rest)
            fn(ctx, 0, 0, 0, 0); /* bounds unknown; at this trade's message */
    }
    if (ts > g->last_ts)
        g->last_ts = ts;
}

void book_tgap_trade(book_tgap_t *g, uint64_t id, int64_t ts_exch, int64_t ts_recv, book_tgap_fn fn,
                     void *ctx)
{
    if (!g->ids) {
        trade_by_time(g, ts_exch, ts_recv, fn, ctx);
        return;
    }
    if (g->armed && id > g->last_tid) { /* the first newer trade after a closed connection */
        g->armed = 0;
        if (g->last_tid && id > g->last_tid + 1) {
            book_tgap_hole_t h = {g->last_tid, id, ts_exch, ts_recv};
            if (g->rest)
                hole_add(g, h, fn, ctx);
            else
                fn(ctx, h.last, h.got, 0, 0); /* now: this trade's message */
        }
    } else { /* an older one (backfilled, re-delivered) may narrow a remembered hole */
        for (unsigned i = 0; i < g->n; i++)
            if (id == g->holes[i].last + 1 && ++g->holes[i].last + 1 == g->holes[i].got)
                hole_drop(g, i--); /* filled */
    }
    if (id > g->last_tid)
        g->last_tid = id;
}

void book_tgap_given_up(book_tgap_t *g, uint64_t last, uint64_t got, book_tgap_fn fn, void *ctx)
{
    int found = 0;
    for (unsigned i = 0; i < g->n; i++)
        if (g->holes[i].last < got && g->holes[i].got > last) {
            fn(ctx, g->holes[i].last, g->holes[i].got, g->holes[i].ts_exch, g->holes[i].ts_recv);
            hole_drop(g, i--);
            found++;
        }
    if (!found)
        fn(ctx, last, got, 0, 0);
}

void book_tgap_finish(book_tgap_t *g, book_tgap_fn fn, void *ctx)
{
    for (unsigned i = 0; i < g->n; i++)
        fn(ctx, g->holes[i].last, g->holes[i].got, g->holes[i].ts_exch, g->holes[i].ts_recv);
    free(g->holes);
    g->holes = NULL;
    g->n = g->cap = 0;
}
