/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory publisher: drains one tg_ring of book_out_t records (the builder's output for
 * the [shm] sink) into a POSIX shared-memory segment that co-located strategies map: every
 * instrument's top-N book in a seqlock slot, and a ring of trades, book-changed and status
 * notices. Layout and protocol: storage/shm/shm_layout.h and docs/shm.md.
 *
 * Lossy but counted, like Redis: the builder drops records when this sink's ring is full
 * (tickgate_book_out_drops_total); readers that fall a ring behind see an overrun and report
 * the hole. Nothing a reader does can slow the writer.
 *
 * Lifecycle: store_shm_create() (main: creates the segment, which readers can map from then
 * on), store_shm_start(), ..., store_shm_stop() (drains the ring, marks the segment CLOSED,
 * wakes every reader), store_shm_destroy() (unmaps; removes the name when cfg.unlink).
 *
 * Thread: main for the lifecycle calls; the writer runs on its own thread (writer:shm);
 * store_shm_stats() is for any thread.
 */
#ifndef STORE_SHM_H
#define STORE_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/book_out.h"
#include "book/tg_hist.h"
#include "book/tg_instr.h"
#include "book/tg_log.h"
#include "book/tg_ring.h"
#include "book/tg_stat.h"

/** Publisher settings. Strings are copied by store_shm_create().  Thread: main. */
typedef struct store_shm_cfg {
    const char *name;          /* POSIX shm name: "/tickgate" (one '/', at the start) */
    uint32_t depth;            /* levels per side held per instrument, 1..20 (20) */
    uint32_t ring_entries;     /* trade/notice ring, power of two, 1024..4194304 (65536) */
    uint32_t mode;             /* permissions of the segment (0640) */
    bool unlink;               /* remove the name at destroy (true) */
    int64_t spin_ns;           /* busy-poll the ring this long before sleeping (10 us) */
    uint32_t batch;            /* records per ring read (256) */
    const tg_instr_reg_t *reg; /* borrowed; complete and immutable at create */
    tg_ring_t *ring;           /* borrowed: the builder's ring for this sink (consumer side);
                                  NULL: synchronous use only (store_shm_push) */
    tg_log_fn log;
    void *log_ud;
} store_shm_cfg_t;

/** Defaults as documented on each field (no ring, no registry).  Thread: any. */
void store_shm_cfg_defaults(store_shm_cfg_t *c);

/** Counters (single writer: writer:shm). Read with TG_STAT_GET from any thread. */
typedef struct store_shm_stats {
    tg_stat_t records;          /* records taken from the ring */
    tg_stat_t trades;           /* trade entries written */
    tg_stat_t books;            /* slot versions written by book records */
    tg_stat_t statuses;         /* state changes written (gap records) */
    tg_stat_t skipped;          /* records of kinds the segment does not hold (candles) */
    tg_stat_t bad_records;      /* unknown instrument or kind (counted and logged once per kind) */
    tg_stat_t batches;          /* batches published (one wake_seq bump each) */
    tg_stat_t wakes;            /* FUTEX_WAKE calls (only when a reader sleeps) */
    tg_stat_t readers_sleeping; /* gauge: 1 when the sleepers flag was set at the last batch */
    tg_hist_t pub_lat;          /* receive (ts_mono) -> visible in the segment, per record */
    tg_hist_t ring_lat; /* builder push (ts_out) -> visible: the hand-off and wake-up alone */
} store_shm_stats_t;

typedef struct store_shm store_shm_t;

/**
 * Create the segment (shm_unlink of a stale one of the same name, shm_open O_EXCL, ftruncate,
 * mmap; directory from the registry; magic last) and the writer (no thread yet).
 * @param out Written only on success.
 * @param err Receives a one-line reason on failure (may be NULL).
 * @return 0; -EINVAL (bad name, depth, ring size, no registry); -ENAMETOOLONG; -E2BIG (more
 *         instruments than the layout holds); -EACCES, -EEXIST, -ENOSPC... from shm_open,
 *         ftruncate or mmap; -ENOMEM.  Thread: main.
 */
int store_shm_create(store_shm_t **out, const store_shm_cfg_t *cfg, char *err, size_t cap);

/** Start the writer:shm thread (a tg_worker). @return 0, -EALREADY, -EINVAL (no ring), or
 *  -errno of pthread_create.  Thread: main. */
int store_shm_start(store_shm_t *p);

/** Stop: the thread drains the ring and exits; this joins it, then marks the segment
 *  CLOSED and wakes every reader. @return 0 (also when not running).  Thread: main. */
int store_shm_stop(store_shm_t *p);

/** Stop if running, unmap, remove the name (cfg.unlink), free; *p becomes NULL. NULL is a
 *  no-op.  Thread: main. */
void store_shm_destroy(store_shm_t **p);

/** Synchronous: publish n records from the caller's thread, then one wake (as the thread
 *  does per batch). For tests and benchmarks; never while the thread runs.
 *  Thread: the owner (the creator, while not started). */
void store_shm_push(store_shm_t *p, const book_out_t *recs, size_t n);

/** Counters for metrics.  Thread: any. */
const store_shm_stats_t *store_shm_stats(const store_shm_t *p);

/** Total bytes of the segment.  Thread: any. */
uint64_t store_shm_size(const store_shm_t *p);

#endif
