/* SPDX-License-Identifier: MIT */
/*
 * What every benchmark shares (tools/bench, tools/replay, client and test benchmarks may
 * include it; it includes nothing of tests/): clocks in seconds and the median of a sample.
 * Header-only.
 */
#ifndef TOOLS_BENCH_BENCH_STAT_H
#define TOOLS_BENCH_BENCH_STAT_H

#include <stdlib.h>
#include <time.h>

/* Wall time (CLOCK_MONOTONIC), seconds. */
static inline double tb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread, seconds: on a shared machine wall time mostly measures the
 * scheduler. */
static inline double tb_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int tb_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort v[0..n) ascending. */
static inline void tb_sort(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), tb_cmp_d);
}

/* The median of v[0..n) (sorts v): the middle value, or the mean of the two middle ones. */
static inline double tb_median(double *v, int n)
{
    tb_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
