/* SPDX-License-Identifier: MIT */
/* Clock helpers: nanosecond realtime (wall) and monotonic stamps.  Thread: any. */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

#include <stdint.h>
#include <time.h>

#define TG_NS_PER_SEC 1000000000LL
#define TG_NS_PER_MS  1000000LL
#define TG_NS_PER_US  1000LL

/** Wall-clock time in ns since the Unix epoch (CLOCK_REALTIME). */
static inline int64_t tg_clock_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * TG_NS_PER_SEC + ts.tv_nsec;
}

/** Monotonic time in ns (CLOCK_MONOTONIC): for latency, never for event time. */
static inline int64_t tg_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * TG_NS_PER_SEC + ts.tv_nsec;
}

#endif
