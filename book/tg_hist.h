/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram with log-linear buckets (HDR-style), single writer, any reader.
 *
 * Bucket 0 holds values below 64 ns. Above, every power of two [2^e, 2^(e+1)) ns, e = 6..33,
 * is split into TG_HIST_SUB (16) buckets of equal width 2^(e-4) ns: a bucket is at most 1/16
 * of its lower bound wide, so the upper bound of the bucket holding a value overstates it by
 * at most 6.25 % (100 ns is resolved to 4 ns, 1 ms to 62 us, 10 s to 0.5 s). The last finite
 * bound is 2^34 - 1 ns (17.2 s); the last bucket is +Inf. Recording is a clz, a shift and
 * three relaxed single-writer stores: cheap enough for every message.
 * The gateway renders them as Prometheus histograms (cumulative, in seconds), emitting only
 * the buckets around non-empty ones (gw_metrics.c).
 * Thread: one writer (the stage that measures), any reader.
 */
#ifndef TG_HIST_H
#define TG_HIST_H

#include <stdint.h>

#include "tg_stat.h"

#define TG_HIST_SUB_BITS 4
#define TG_HIST_SUB      (1 << TG_HIST_SUB_BITS) /* buckets per power of two */
#define TG_HIST_E0       6                       /* first split octave: 64 ns */
#define TG_HIST_E1       33                      /* last split octave: 8.6 s .. 17.2 s */
/* bucket 0 (< 64 ns), the split octaves, +Inf */
#define TG_HIST_BUCKETS (1 + (TG_HIST_E1 - TG_HIST_E0 + 1) * TG_HIST_SUB + 1)

typedef struct tg_hist {
    tg_stat_t bucket[TG_HIST_BUCKETS];
    tg_stat_t count;
    tg_stat_t sum_ns;
} tg_hist_t;

/** Bucket index of a value in ns (negative counts as 0).  Thread: any. */
static inline int tg_hist_index(int64_t ns)
{
    if (ns < ((int64_t)1 << TG_HIST_E0))
        return 0;
    int e = 63 - __builtin_clzll((uint64_t)ns);
    if (e > TG_HIST_E1)
        return TG_HIST_BUCKETS - 1;
    int sub = (int)(((uint64_t)ns >> (e - TG_HIST_SUB_BITS)) & (TG_HIST_SUB - 1));
    return 1 + (e - TG_HIST_E0) * TG_HIST_SUB + sub;
}

/** Inclusive upper bound of bucket i in ns (the last one is +Inf: INT64_MAX).  Thread: any. */
static inline int64_t tg_hist_bound_ns(int i)
{
    if (i <= 0)
        return ((int64_t)1 << TG_HIST_E0) - 1;
    if (i >= TG_HIST_BUCKETS - 1)
        return INT64_MAX;
    int e = TG_HIST_E0 + (i - 1) / TG_HIST_SUB, sub = (i - 1) % TG_HIST_SUB;
    return ((int64_t)(TG_HIST_SUB + sub + 1) << (e - TG_HIST_SUB_BITS)) - 1;
}

/** Record one value in ns (negative values count as 0: clocks of different hosts). */
static inline void tg_hist_add(tg_hist_t *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    TG_STAT_INC(h->bucket[tg_hist_index(ns)]);
    TG_STAT_INC(h->count);
    TG_STAT_ADD(h->sum_ns, ns);
}

/** Approximate quantile q (0..1) in ns: the upper bound of the bucket holding it (at most
 *  6.25 % above the true value below 17 s).  Thread: any. */
static inline int64_t tg_hist_quantile_ns(const tg_hist_t *h, double q)
{
    uint64_t n = 0, acc = 0;
    for (int i = 0; i < TG_HIST_BUCKETS; i++) /* the buckets, not count: one consistent sum */
        n += TG_STAT_GET(h->bucket[i]);
    if (n == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)n);
    if (want >= n)
        want = n - 1;
    for (int i = 0; i < TG_HIST_BUCKETS; i++) {
        acc += TG_STAT_GET(h->bucket[i]);
        if (acc > want)
            return tg_hist_bound_ns(i);
    }
    return tg_hist_bound_ns(TG_HIST_BUCKETS - 1);
}

#endif
