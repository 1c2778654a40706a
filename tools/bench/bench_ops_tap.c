/* SPDX-License-Identifier: MIT */
/*
 * What the dashboard's tap costs the book thread (gateway/gw_tap.c): gw_tap_on_record() of a
 * BOOK record (top 10 per side; the seqlock copy) and of a GAP record, against the reference
 * every sink pays for the same record: tg_ring_spsc_push() into a sink ring (then popped, off
 * the clock, so the ring never fills). Prints medians of 15 rounds of 20000 records and the
 * ratios.  `meson test -C build --benchmark bench_ops_tap -v` (use a release build for figures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_ring.h"
#include "gateway/gw_tap.h"

#define ROUNDS 15
#define N      20000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, ROUNDS, sizeof(double), cmp);
    return v[ROUNDS / 2];
}

int main(void)
{
    tg_instr_reg_t *reg;
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    uint32_t id;
    if (tg_instr_reg_create(&reg) || tg_instr_reg_add(reg, "binance", "BTCUSDT", &ic, &id))
        return 1;
    static const char *const syms[] = {"BTCUSDT"};
    gw_tap_feed_t f = {"a", "binance", syms, 1};
    gw_tap_t *tap;
    tg_ring_t *ring;
    if (gw_tap_create(&tap, reg, &f, 1) || tg_ring_create(&ring, 1u << 15, sizeof(book_out_t)))
        return 1;
    static book_out_t bk, gp, sink;
    bk.kind = BOOK_OUT_BOOK;
    bk.instr = id;
    bk.u.book.n_bids = bk.u.book.n_asks = 10;
    for (int i = 0; i < 10; i++)
        bk.u.book.bids[i] = bk.u.book.asks[i] = (tg_level_t){.price = 100 + i, .size = 1};
    gp.kind = BOOK_OUT_GAP;
    gp.instr = id;
    gp.u.gap.reason = BOOK_GAP_RESYNCED;
    double ring_ns[ROUNDS], book_ns[ROUNDS], gap_ns[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < N; i++) {
            bk.u.book.seq = (uint64_t)i;
            tg_ring_spsc_push(ring, &bk);
        }
        double t1 = now_ns();
        while (tg_ring_spsc_pop(ring, &sink))
            ;
        double t2 = now_ns();
        for (int i = 0; i < N; i++) {
            bk.u.book.seq = (uint64_t)i;
            gw_tap_on_record(tap, &bk);
        }
        double t3 = now_ns();
        for (int i = 0; i < N; i++)
            gw_tap_on_record(tap, &gp);
        double t4 = now_ns();
        ring_ns[r] = (t1 - t0) / N;
        book_ns[r] = (t3 - t2) / N;
        gap_ns[r] = (t4 - t3) / N;
    }
    double ref = median(ring_ns), b = median(book_ns), g = median(gap_ns);
    printf("bench_ops_tap: median ns/record over %d rounds of %d\n", ROUNDS, N);
    printf("  reference tg_ring_spsc_push (a sink ring)  %7.1f ns\n", ref);
    printf("  gw_tap_on_record BOOK (seqlock copy)       %7.1f ns  ratio %.2f\n", b, b / ref);
    printf("  gw_tap_on_record GAP (counter + event)     %7.1f ns  ratio %.2f\n", g, g / ref);
    gw_tap_destroy(&tap);
    tg_ring_destroy(&ring);
    tg_instr_reg_destroy(&reg);
    return 0;
}
