/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the client benchmarks (bench_client.c, bench_shm.c, bench_streams.c): thread CPU
 * time, medians, the throwaway redis-server's port, a subscribed client. Header-only.
 * Thread: the caller's.
 */
#ifndef CLIENT_BENCH_UTIL_H
#define CLIENT_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tickgate/client.h>

static inline double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/** Median of v[0..n) (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/** TG_TEST_REDIS_PORT (tests/fixtures/services.sh), or 0 with a message (exit 77: skip). */
static inline int bench_redis_port(void)
{
    const char *port = getenv("TG_TEST_REDIS_PORT");
    if (!port) {
        fprintf(stderr, "TG_TEST_REDIS_PORT unset: skipping\n");
        return 0;
    }
    return atoi(port);
}

/** A client of url (prefix NULL: the default one) with one subscription, connected.
 *  @return it; NULL on a failure, with the client's error text ("create" when there was no
 *  client) in why. */
static inline tg_client_t *bench_client_open(const char *url, const char *prefix, const char *venue,
                                             const char *symbol, unsigned kinds, char *why,
                                             size_t cap)
{
    tg_client_cfg_t cfg;
    tg_client_cfg_defaults(&cfg);
    cfg.url = url;
    if (prefix)
        cfg.prefix = prefix;
    tg_client_t *c = NULL;
    if (!tg_client_create(&c, &cfg) && !tg_client_subscribe(c, venue, symbol, kinds, NULL) &&
        !tg_client_connect(c))
        return c;
    snprintf(why, cap, "%s", c ? tg_client_errstr(c) : "create");
    tg_client_destroy(&c);
    return NULL;
}

#endif
