/* SPDX-License-Identifier: MIT */
/*
 * Resync requests from the builder back to the feeds. The builder finds faults a feed cannot
 * see (checksum mismatch after a whole message, a crossed book); it bumps the instrument's
 * request counter. The feed thread that owns the instrument compares the counter with the
 * last value it acted on (on its ~1 s tick) and resyncs (new snapshot / reconnect).
 * A counter, not a flag: requests are never lost, duplicates collapse.
 *
 * Thread: book (tg_resync_request), feed:<venue> (tg_resync_get), any (reads for metrics).
 */
#ifndef TG_RESYNC_H
#define TG_RESYNC_H

#include <stdatomic.h>
#include <stdint.h>

#include "tg_instr.h"

typedef struct tg_resync {
    _Atomic uint32_t req[TG_INSTR_MAX];
} tg_resync_t;

/** Ask the feed of instrument id to resync it.  Thread: book. */
static inline void tg_resync_request(tg_resync_t *r, uint32_t id)
{
    if (id < TG_INSTR_MAX)
        /* Relaxed: a counter with no data attached; the feed rereads the book state from the
           venue, not from us. */
        atomic_fetch_add_explicit(&r->req[id], 1, memory_order_relaxed);
}

/** Current request count of instrument id (compare with the last one handled).
 *  Thread: feed:<venue> or any. */
static inline uint32_t tg_resync_get(const tg_resync_t *r, uint32_t id)
{
    return id < TG_INSTR_MAX ? atomic_load_explicit(&r->req[id], memory_order_relaxed) : 0;
}

#endif
