/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram with fixed power-of-two buckets, single writer, any reader. Bucket i
 * counts values <= 1 us * 2^i (i = 0..TG_HIST_BUCKETS-2: 1 us .. ~4.2 s); the last bucket is
 * +Inf. Recording is a clz and two relaxed stores: cheap enough for every message.
 * The gateway renders them as Prometheus histograms (cumulative, in seconds).
 * Thread: one writer (the stage that measures), any reader.
 */
#ifndef TG_HIST_H
#define TG_HIST_H

#include <stdint.h>

#include "tg_stat.h"

#define TG_HIST_BUCKETS 24

typedef struct tg_hist {
    tg_stat_t bucket[TG_HIST_BUCKETS];
    tg_stat_t count;
    tg_stat_t sum_ns;
} tg_hist_t;

/** Upper bound of bucket i in ns (the last one is +Inf: INT64_MAX). */
static inline int64_t tg_hist_bound_ns(int i)
{
    return i >= TG_HIST_BUCKETS - 1 ? INT64_MAX : (int64_t)1000 << i;
}

/** Record one value in ns (negative values count as 0: clocks of different hosts). */
static inline void tg_hist_add(tg_hist_t *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    uint64_t us = ((uint64_t)ns + 999) / 1000; /* ceil: bucket bounds are inclusive */
    int i = us <= 1 ? 0 : 64 - __builtin_clzll(us - 1);
    if (i > TG_HIST_BUCKETS - 1)
        i = TG_HIST_BUCKETS - 1;
    TG_STAT_INC(h->bucket[i]);
    TG_STAT_INC(h->count);
    TG_STAT_ADD(h->sum_ns, ns);
}

/** Approximate quantile q (0..1) in ns: the upper bound of the bucket holding it. */
static inline int64_t tg_hist_quantile_ns(const tg_hist_t *h, double q)
{
    uint64_t n = TG_STAT_GET(h->count), acc = 0;
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
