/* SPDX-License-Identifier: MIT */
/*
 * Producer-side overflow of a connection's event ring (feed_conn.c): an elastic FIFO that
 * holds, in order, the events a full ring cannot take, so a small ring can absorb a snapshot
 * burst while the builder is slow. It exists only during a burst: the buffer is mapped
 * (mmap, not malloc, so that its pages go back to the kernel on release whatever the
 * allocator's thresholds) when the ring first refuses an event, grows on demand (doubling,
 * from FEED_OVF_FIRST events) up to `max` events, and is unmapped once it has stayed empty
 * for a while (feed_ovf_idle()).
 *
 * Order: feed_ovf_push() first moves what the overflow holds into the ring, and puts new
 * events into the ring only when the overflow is empty; otherwise they go behind the held
 * ones. No event overtakes an older one.
 *
 * Usage (the ring's producer thread only):
 *     feed_ovf_init(&o, max, &stats);
 *     n_taken = feed_ovf_push(&o, ring, ev, n);   // < n: ring and overflow are full
 *     feed_ovf_drain(&o, ring);                   // from a timer while feed_ovf_held(&o)
 *     feed_ovf_idle(&o, now_ns, linger_ns);       // from a timer: unmap when drained
 *     feed_ovf_free(&o);
 *
 * Thread: the ring's producer for everything; the stats are readable from any thread.
 */
#ifndef FEED_OVF_H
#define FEED_OVF_H

#include <stdbool.h>
#include <stdint.h>

#include "book/tg_event.h"
#include "book/tg_ring.h"
#include "book/tg_stat.h"

#define FEED_OVF_FIRST 4096u /* events of the first mapping (256 KiB) */

/** Gauges and counter of one overflow (single writer: the producer). */
typedef struct feed_ovf_stats {
    tg_stat_t events;   /* gauge: events held now */
    tg_stat_t bytes;    /* gauge: bytes mapped now (0 outside an episode) */
    tg_stat_t episodes; /* counter: mappings made (one per burst) */
} feed_ovf_stats_t;

typedef struct feed_ovf {
    tg_event_t *buf;  /* mapped; NULL outside an episode */
    uint32_t cap;     /* events buf holds (0 when unmapped) */
    uint32_t head;    /* oldest held event: buf[head]; the FIFO wraps at cap */
    uint32_t n;       /* events held */
    uint32_t max;     /* most events held; 0: no overflow (a full ring refuses at once) */
    uint32_t peak;    /* most events held in the current episode */
    int64_t empty_ns; /* feed_ovf_idle() clock when the overflow was first seen empty; 0: not */
    feed_ovf_stats_t *st;
} feed_ovf_t;

/** Set up an empty overflow of at most max events (nothing mapped). st: its stats (may be
 *  NULL).  Thread: the producer (or before it starts). */
void feed_ovf_init(feed_ovf_t *o, uint32_t max, feed_ovf_stats_t *st);

/** Move held events into r, oldest first, as far as r has room.
 *  @return events still held.  Thread: the producer. */
uint32_t feed_ovf_drain(feed_ovf_t *o, tg_ring_t *r);

/** Push ev[0..n) behind everything held: drain first, then into r while the overflow is
 *  empty, the rest into the overflow (mapping or growing it) up to max.
 *  @return events taken (0..n); fewer than n only when r and the overflow are full (or a
 *  mapping failed). The caller keeps ev[taken..n).  Thread: the producer. */
uint32_t feed_ovf_push(feed_ovf_t *o, tg_ring_t *r, const tg_event_t *ev, uint32_t n);

/** Events held.  Thread: the producer. */
static inline uint32_t feed_ovf_held(const feed_ovf_t *o)
{
    return o->n;
}

/** Throw away what the overflow holds (a resync follows). @return events discarded.
 *  Thread: the producer. */
uint32_t feed_ovf_discard(feed_ovf_t *o);

/** Episode end: unmap the buffer once it has been empty for linger_ns (0: at once) by the
 *  clock now_ns (monotonic). peak receives the episode's largest fill when it ended.
 *  @return true when the buffer was unmapped by this call.  Thread: the producer. */
bool feed_ovf_idle(feed_ovf_t *o, int64_t now_ns, int64_t linger_ns, uint32_t *peak);

/** Unmap (events held are lost).  Thread: the producer, or after it stopped. */
void feed_ovf_free(feed_ovf_t *o);

#endif
