/* SPDX-License-Identifier: MIT */
/*
 * Lock-free single-producer single-consumer ring of fixed-size records, plus a waiter that
 * lets an idle consumer sleep on several rings at once without costing a busy producer more
 * than one load of a flag.
 *
 * Records cross threads by value: push copies in, pop copies out (or peek/release gives the
 * consumer a zero-copy view). Capacity is a power of two; indices are free-running uint32_t.
 * The inline hot-path functions live in tg_ring_impl.h, included at the end of this header.
 *
 * Thread: each ring has exactly one producer thread and one consumer thread, fixed at start.
 */
#ifndef TG_RING_H
#define TG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tg_ring tg_ring_t;
typedef struct tg_waiter tg_waiter_t;

/**
 * Create a ring.
 * @param out       Written only on success; free with tg_ring_destroy().
 * @param capacity  Number of records, a power of two >= 2.
 * @param elem_size Record size in bytes, a multiple of 8.
 * @return 0, -EINVAL (bad capacity or size) or -ENOMEM.  Thread: any (before use).
 */
int tg_ring_create(tg_ring_t **out, uint32_t capacity, uint32_t elem_size);

/** Free a ring; sets *r to NULL. NULL or *r == NULL is a no-op.  Thread: any (after use). */
void tg_ring_destroy(tg_ring_t **r);

/** Attach the consumer's waiter (before the threads start): producers wake it after a push
 *  when it sleeps. One waiter may serve many rings of the same consumer.  Thread: any (setup). */
void tg_ring_set_waiter(tg_ring_t *r, tg_waiter_t *w);

/** Busy-poll r for up to spin_ns (a pause between looks) before the consumer sleeps: a futex
 *  sleep/wake pair costs a membarrier, two syscalls and the scheduler's wake-up latency
 *  (docs/latency.md). @return true as soon as a record is there; false after spin_ns (at
 *  once when spin_ns <= 0).  Thread: the consumer. */
bool tg_ring_spin(const tg_ring_t *r, int64_t spin_ns);

/* Hot path (static inline in tg_ring_impl.h):
 *
 *  bool     tg_ring_spsc_push(tg_ring_t *r, const void *rec);
 *      Copy one record in; false if full (nothing written). Producer only. Wait-free.
 *  uint32_t tg_ring_spsc_push_n(tg_ring_t *r, const void *recs, uint32_t n);
 *      Copy up to n records in; returns how many fit (0..n). Producer only. Wait-free.
 *  bool     tg_ring_spsc_pop(tg_ring_t *r, void *rec);
 *      Copy one record out; false if empty. Consumer only. Wait-free.
 *  uint32_t tg_ring_spsc_pop_n(tg_ring_t *r, void *recs, uint32_t max);
 *      Copy up to max records out; returns count. Consumer only. Wait-free.
 *  const void *tg_ring_spsc_peek(tg_ring_t *r, uint32_t *n);
 *      Zero-copy: pointer to the oldest records and how many are contiguous (0 if empty).
 *      Consumer only; finish with tg_ring_spsc_release(r, k) for k <= *n.
 *  void     tg_ring_spsc_release(tg_ring_t *r, uint32_t n);
 *  uint32_t tg_ring_count(const tg_ring_t *r);   approximate depth. Thread: any.
 *  uint32_t tg_ring_capacity(const tg_ring_t *r);
 */

/* Waiter: the consumer's sleep/wake point (futex on Linux).
 *
 * Consumer loop:
 *     for (;;) {
 *         if (drained something) continue;
 *         tg_waiter_prepare(w);            // announce intent to sleep
 *         if (any ring non-empty || stop) { tg_waiter_cancel(w); continue; }
 *         tg_waiter_wait(w, timeout_ns);   // sleeps unless a producer pushed since prepare
 *     }
 * Producers call tg_waiter_wake() (the push functions do it when a waiter is attached); it is
 * one relaxed load when the consumer is awake.
 */
struct tg_waiter;
void tg_waiter_init(tg_waiter_t *w);
void tg_waiter_prepare(tg_waiter_t *w);
void tg_waiter_cancel(tg_waiter_t *w);
/** Sleep until woken or timeout_ns passes (< 0: no timeout). Thread: the consumer. */
void tg_waiter_wait(tg_waiter_t *w, int64_t timeout_ns);
/** Wake the consumer if it sleeps (or is about to). Thread: any. */
void tg_waiter_wake(tg_waiter_t *w);

#include "tg_ring_impl.h"

#endif
