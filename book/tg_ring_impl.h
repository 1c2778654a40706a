/* SPDX-License-Identifier: MIT */
/*
 * Do not include directly: include tg_ring.h. Inline hot path of the SPSC ring.
 *
 * INVARIANTS
 *  - capacity is a power of two (2 .. 2^31); slot of index i is i & mask.
 *  - head and tail are free-running uint32_t counters that wrap; they are only ever compared
 *    through the unsigned difference tail - head, which is the exact fill level
 *    (0 .. capacity) because the producer never lets it exceed capacity.
 *  - the producer owns tail (only it writes it) and keeps a cached copy of head
 *    (head_cache, refreshed only when the cached value says the ring is full); the consumer
 *    owns head and keeps tail_cache the same way. Each half sits on its own 64-byte line with
 *    read-only copies of what its thread needs (mask, record size, slot base), so in steady
 *    state each thread touches the other's line only when its cache runs out.
 *  - slots [head, tail) belong to the consumer, [tail, head + capacity) to the producer.
 *
 * ORDERING (every release names its acquire partner)
 *  R1 (producer stores tail) pairs with A1 (consumer loads tail): slot contents written
 *     before R1 are visible to the consumer reads after A1.
 *  R2 (consumer stores head) pairs with A2 (producer loads head): the consumer's reads of a
 *     slot happen before the producer overwrites it.
 *  The waiter's flag protocol is described at the top of tg_ring.c (W1/W2 and the
 *  asymmetric barrier); on the producer side it is one relaxed load of waiter->sleeping.
 */
#ifndef TG_RING_IMPL_H
#define TG_RING_IMPL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** Sleep/wake point of one consumer. Embed it where it does not share a cache line with
 *  hot data (it is padded to 64 bytes; align it to 64 for best results).
 *  Thread: fields written by the consumer (prepare/cancel/wait) and by wakers (any). */
struct tg_waiter {
    /* private */
    _Atomic uint32_t sleeping; /* 1 between prepare and wake/cancel; producers load it */
    _Atomic uint32_t seq;      /* futex word, bumped by every effective wake */
    uint32_t seq_seen;         /* consumer only: seq read by prepare */
    uint32_t pad_[13];
};

/** SPSC ring. Allocated by tg_ring_create() with its slots, 64-byte aligned.
 *  Thread: producer half written by the producer, consumer half by the consumer. */
struct tg_ring {
    /* private: producer line */
    alignas(64) _Atomic uint32_t tail; /* producer writes (R1); consumer reads (A1) */
    uint32_t head_cache;               /* producer's copy of head */
    uint32_t p_mask;                   /* read-only copies for the producer */
    uint32_t p_esz;
    unsigned char *p_slots;
    struct tg_waiter *waiter; /* read-only after tg_ring_set_waiter() */

    /* private: consumer line */
    alignas(64) _Atomic uint32_t head; /* consumer writes (R2); producer reads (A2) */
    uint32_t tail_cache;               /* consumer's copy of tail */
    uint32_t c_mask;                   /* read-only copies for the consumer */
    uint32_t c_esz;
    unsigned char *c_slots;

    /* read-only: third line, for tg_ring_count()/tg_ring_capacity() and destroy */
    alignas(64) uint32_t capacity;
    uint32_t elem_size;
    unsigned char *slots;
};

/* Internal (tg_ring.c): slow half of a wake once the flag was seen set. */
void tg_waiter__wake_slow(struct tg_waiter *w);

/* Copy one record; 64-byte records (tg_event_t) get a fixed-size copy the compiler inlines
 * (measured: push+pop 8.8 ns instead of 10.5 ns through the memcpy call). */
static inline void tg_ring__copy(void *dst, const void *src, uint32_t esz)
{
    if (esz == 64)
        memcpy(dst, src, 64);
    else
        memcpy(dst, src, esz);
}

/* Runs of records: one memcpy call. Measured faster than a loop of inlined 64-byte copies
 * (1.2 vs 1.7 ns per event for runs of 64): libc's large-copy path wins there. */
static inline void tg_ring__copy_n(void *dst, const void *src, uint32_t n, uint32_t esz)
{
    memcpy(dst, src, (size_t)n * esz);
}

/* After publishing: wake the consumer if it announced it sleeps. A busy consumer costs one
 * relaxed load here. The compiler barrier keeps the load after R1 in program order; the
 * hardware store->load order is enforced by the consumer's membarrier() in
 * tg_waiter_prepare() (see tg_ring.c), so the producer needs no fence instruction. */
static inline void tg_ring__notify(tg_ring_t *r)
{
    struct tg_waiter *w = r->waiter;
    if (w) {
        atomic_signal_fence(memory_order_seq_cst);
        /* Relaxed: a hint; the wake slow path re-reads it with an acquire exchange (W2). */
        if (atomic_load_explicit(&w->sleeping, memory_order_relaxed))
            tg_waiter__wake_slow(w);
    }
}

/** Copy one record in. @return false if full (nothing written).
 *  Safe with at most one concurrent consumer. Thread: the producer. Wait-free. */
static inline bool tg_ring_spsc_push(tg_ring_t *r, const void *rec)
{
    /* Relaxed: only the producer writes tail. */
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail - r->head_cache > r->p_mask) {
        /* A2: pairs with R2 in pop/pop_n/release; the consumer is done with the slot. */
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - r->head_cache > r->p_mask)
            return false;
    }
    tg_ring__copy(r->p_slots + (size_t)(tail & r->p_mask) * r->p_esz, rec, r->p_esz);
    /* R1: publishes the slot contents; pairs with A1 in pop/pop_n/peek. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    tg_ring__notify(r);
    return true;
}

/** Copy up to n records in (recs holds n contiguous records). @return how many fit (0..n),
 *  always the first ones. Safe with at most one concurrent consumer. Thread: the producer.
 *  Wait-free. */
static inline uint32_t tg_ring_spsc_push_n(tg_ring_t *r, const void *recs, uint32_t n)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); /* own index */
    uint32_t cap = r->p_mask + 1;
    uint32_t room = cap - (tail - r->head_cache);
    if (room < n) {
        /* A2: pairs with R2. */
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        room = cap - (tail - r->head_cache);
        if (n > room)
            n = room;
        if (n == 0)
            return 0;
    }
    uint32_t esz = r->p_esz;
    uint32_t off = tail & r->p_mask;
    uint32_t first = cap - off < n ? cap - off : n;
    tg_ring__copy_n(r->p_slots + (size_t)off * esz, recs, first, esz);
    if (first < n)
        tg_ring__copy_n(r->p_slots, (const unsigned char *)recs + (size_t)first * esz, n - first,
                        esz);
    /* R1: publishes the n slots; pairs with A1. */
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    tg_ring__notify(r);
    return n;
}

/* Consumer: number of readable records, refreshing tail_cache (A1) only when it shows fewer
 * than `want`. */
static inline uint32_t tg_ring__avail(tg_ring_t *r, uint32_t head, uint32_t want)
{
    uint32_t avail = r->tail_cache - head;
    if (avail < want) {
        /* A1: pairs with R1 in push/push_n; slot reads below see the producer's writes. */
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        avail = r->tail_cache - head;
    }
    return avail;
}

/** Copy one record out. @return false if empty. Safe with at most one concurrent producer.
 *  Thread: the consumer. Wait-free. */
static inline bool tg_ring_spsc_pop(tg_ring_t *r, void *rec)
{
    /* Relaxed: only the consumer writes head. */
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (tg_ring__avail(r, head, 1) == 0)
        return false;
    tg_ring__copy(rec, r->c_slots + (size_t)(head & r->c_mask) * r->c_esz, r->c_esz);
    /* R2: the slot was fully copied out before the producer may reuse it; pairs with A2. */
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/** Copy up to max records out into recs. @return count (0 if empty). Safe with at most one
 *  concurrent producer. Thread: the consumer. Wait-free. */
static inline uint32_t tg_ring_spsc_pop_n(tg_ring_t *r, void *recs, uint32_t max)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* own index */
    uint32_t n = tg_ring__avail(r, head, max);
    if (n > max)
        n = max;
    if (n == 0)
        return 0;
    uint32_t esz = r->c_esz;
    uint32_t cap = r->c_mask + 1;
    uint32_t off = head & r->c_mask;
    uint32_t first = cap - off < n ? cap - off : n;
    tg_ring__copy_n(recs, r->c_slots + (size_t)off * esz, first, esz);
    if (first < n)
        tg_ring__copy_n((unsigned char *)recs + (size_t)first * esz, r->c_slots, n - first, esz);
    /* R2: pairs with A2. */
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

/** Zero-copy read: pointer to the oldest record and, in *n, how many records follow it
 *  contiguously (up to the end of the slot array); NULL and *n = 0 if empty. The records stay
 *  valid until tg_ring_spsc_release(). Thread: the consumer. Wait-free. */
static inline const void *tg_ring_spsc_peek(tg_ring_t *r, uint32_t *n)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* own index */
    uint32_t cap = r->c_mask + 1;
    uint32_t off = head & r->c_mask;
    uint32_t avail = tg_ring__avail(r, head, cap - off);
    if (avail == 0) {
        *n = 0;
        return NULL;
    }
    *n = avail < cap - off ? avail : cap - off;
    return r->c_slots + (size_t)off * r->c_esz;
}

/** Hand back the first k records of the last peek (k <= the *n it returned).
 *  Thread: the consumer. Wait-free. */
static inline void tg_ring_spsc_release(tg_ring_t *r, uint32_t k)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* own index */
    /* R2: the consumer finished reading the k slots; pairs with A2. */
    atomic_store_explicit(&r->head, head + k, memory_order_release);
}

/** Approximate number of records in the ring (exact from the producer or the consumer when
 *  the other side is idle).  Thread: any. */
static inline uint32_t tg_ring_count(const tg_ring_t *r)
{
    /* Relaxed: a gauge. Two unsynchronised loads may see a tail older than head (difference
     * "negative") or a depth momentarily beyond capacity: clamp both. */
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t n = tail - head;
    if (n > r->capacity)
        return (int32_t)n < 0 ? 0 : r->capacity;
    return n;
}

/** Capacity in records.  Thread: any. */
static inline uint32_t tg_ring_capacity(const tg_ring_t *r)
{
    return r->capacity;
}

#endif
