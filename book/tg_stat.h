/* SPDX-License-Identifier: MIT */
/*
 * Counters written by one thread and read by any (metrics). A single writer needs no atomic
 * read-modify-write: a relaxed load plus a relaxed store is exact and costs what a plain add
 * costs, and readers see a torn-free value.
 */
#ifndef TG_STAT_H
#define TG_STAT_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t tg_stat_t;

/** Add n to a counter owned by the calling thread (single writer). */
#define TG_STAT_ADD(c, n)                                                                          \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (uint64_t)(n),  \
                          memory_order_relaxed)
#define TG_STAT_INC(c) TG_STAT_ADD(c, 1)
/** Read a counter from any thread. */
#define TG_STAT_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)
/** Set a gauge (single writer). */
#define TG_STAT_SET(c, v) atomic_store_explicit(&(c), (uint64_t)(v), memory_order_relaxed)

#endif
