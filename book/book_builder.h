/* SPDX-License-Identifier: MIT */
/*
 * The builder: owns every L2 book and candle set, turns normalized events into output records
 * for the sinks. Two ways to drive it:
 *  - the builder thread (book_builder_start/stop): drains N input rings (tg_event_t) fairly
 *    and pushes book_out_t records into one ring per sink;
 *  - in-process and synchronous (book_builder_apply/tick/flush) from the caller's thread, for
 *    the offline replay, tests and benchmarks; sinks may then be callbacks instead of rings.
 *
 * What it publishes (docs/book.md):
 *  - BOOK_OUT_TRADE for each trade; BOOK_OUT_CANDLE when a candle closes (closed = 1), again
 *    (closed = 1, revision > 0) when late trades revise a bar a clock closed, and,
 *    rate-limited, the forming candle (closed = 0); candles count each trade key once;
 *  - BOOK_OUT_BOOK once per exchange message at most (never per level): on change (rate-limited
 *    per instrument by book_min_gap_ns; the latest state is always published once the gap has
 *    passed), at book_interval_ns, and at once on every state change;
 *  - BOOK_OUT_GAP on every gap, stale, fault (checksum mismatch, crossed book, bad event) and
 *    resync (book valid again).
 * A crossed book or a checksum mismatch after a complete message is a fault: counter, GAP
 * record, state RESYNCING, tg_resync_request(). A book is published with state VALID only
 * after a snapshot that passed every check, and until the next fault.
 *
 * Thread: book (owner; the thread started by book_builder_start, or the caller of the
 * synchronous API, never both at once). book_builder_stats() counters: any.
 */
#ifndef BOOK_BUILDER_H
#define BOOK_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book_candle.h"
#include "book_l2.h"
#include "book_out.h"
#include "tg_log.h"
#include "tg_event.h"
#include "tg_hist.h"
#include "tg_instr.h"
#include "tg_resync.h"
#include "tg_ring.h"
#include "tg_stat.h"

#define BOOK_BUILDER_SINKS_MAX 8
#define BOOK_BUILDER_IN_MAX    64

/* Record classes: what a sink subscribes to (book_sink_cfg_t.kinds; storage/sink.h `takes`). */
#define BOOK_SINK_TRADE          0x01u
#define BOOK_SINK_BOOK_CHANGE    0x02u /* BOOK_OUT_BOOK reason CHANGE */
#define BOOK_SINK_BOOK_INTERVAL  0x04u /* BOOK_OUT_BOOK reason INTERVAL */
#define BOOK_SINK_BOOK_STATE     0x08u /* BOOK_OUT_BOOK reason STATE */
#define BOOK_SINK_CANDLE_CLOSED  0x10u
#define BOOK_SINK_CANDLE_FORMING 0x20u
#define BOOK_SINK_GAP            0x40u
#define BOOK_SINK_ALL            0x7fu /* the live state: every class above */
#define BOOK_SINK_TRADE_GAP                                                                        \
    0x80u /* BOOK_OUT_GAP reason TRADES: for history sinks, named                                  \
             explicitly (not in ALL: live subscribers see their                                    \
             own sequence numbers) */

/** One output sink. Exactly one of ring / fn is set. */
typedef struct book_sink_cfg {
    const char *name; /* for logs ("pg", "redis") */
    tg_ring_t *ring;  /* SPSC ring of book_out_t; the builder is its producer */
    /** Direct callback (synchronous use): return 0, or < 0 = full (treated as a full ring). */
    int (*fn)(void *ctx, const book_out_t *rec);
    void *ctx;
    uint32_t kinds; /* BOOK_SINK_* */
    bool lossless;  /* true: never drop, the builder waits (PostgreSQL). false: book
                       snapshots and forming candles are dropped when full, other records
                       after a bounded wait; every drop is counted (Redis). */
} book_sink_cfg_t;

/** Builder configuration. */
typedef struct book_builder_cfg {
    const tg_instr_reg_t *reg;          /* immutable while the builder runs */
    tg_resync_t *resync;                /* resync requests to the feeds; NULL: counted only */
    tg_ring_t *in[BOOK_BUILDER_IN_MAX]; /* input rings of tg_event_t (thread mode) */
    uint32_t n_in;
    book_sink_cfg_t sinks[BOOK_BUILDER_SINKS_MAX];
    uint32_t n_sinks;
    book_candle_cfg_t candles;
    uint32_t top_n;               /* levels per side in BOOK records, 1..BOOK_OUT_DEPTH_MAX (10) */
    int64_t book_min_gap_ns;      /* on-change snapshots at most this often per instrument (10 ms);
                                     0: every change at once (the gateway's default) */
    int64_t book_interval_ns;     /* periodic snapshots per instrument (1 s); 0: off */
    int64_t forming_min_gap_ns;   /* forming candle updates per instrument and interval (250 ms);
                                     0: once per drain round in which a trade changed it */
    int64_t spin_ns;              /* thread mode: busy-poll this long after the last event before
                                     sleeping on the waiter (10 us); trades CPU for wake-ups */
    int64_t candle_grace_ns;      /* book events and the wall clock close candles only once they
                                     are this far past the end (2 s); trades close at once */
    uint32_t candle_dedup_window; /* trade keys remembered per instrument so candles count a
                                     re-delivered trade once (1024; 24 B each); 0: off */
    uint32_t batch;               /* max events taken from one ring per round (256) */
    bool measure_latency;         /* receive (ts_mono) -> applied histogram (thread mode; true) */
    bool wall_clock_candles;      /* close candles on the wall clock tick too (thread mode; true) */
    tg_log_fn log;                /* cold path; may be NULL */
    void *lctx;
} book_builder_cfg_t;

/** Defaults as documented on each field; no rings, no sinks.  Thread: any. */
void book_builder_cfg_defaults(book_builder_cfg_t *c);

/** Counters. Single writer (book); readers: any (TG_STAT_GET). */
typedef struct book_builder_stats {
    tg_stat_t events, messages; /* events in, exchange messages ended */
    tg_stat_t ev_trade, ev_level, ev_clear, ev_checksum, ev_gap, ev_stale, ev_end;
    tg_stat_t bad_events;      /* unknown instrument/kind/side, bad value */
    tg_stat_t missing_deletes; /* deletes of absent levels (ignored) */
    tg_stat_t gaps;            /* GAP records emitted */
    tg_stat_t trade_gaps;      /* trade GAP records (reason TRADES) among them */
    tg_stat_t checksum_ok, checksum_fail, checksum_skipped; /* skipped: book not valid */
    tg_stat_t crossed;                                      /* crossed books after a message */
    tg_stat_t resyncs;                                      /* resync requests sent to feeds */
    tg_stat_t snapshots;                                    /* books made valid by a snapshot */
    tg_stat_t late_trades;      /* trades after their candle closed, into the current one */
    tg_stat_t dup_trades;       /* re-delivered trades (key seen): not counted in candles,
                                   sent to the lossless sinks only */
    tg_stat_t dedup_unknown;    /* trades too old for the dedup window: not in candles */
    tg_stat_t candle_revisions; /* closed candles emitted again, revised by late trades */
    tg_stat_t books_out, trades_out, candles_closed, candles_forming; /* records produced */
    tg_stat_t books_unchanged; /* on-change snapshot skipped: top-N same */
    tg_stat_t rescales;        /* books moved to larger scales (exactly) */
    tg_stat_t faults;          /* books put in FAULT: a value could not be held exactly */
    tg_stat_t out_drops;       /* records a lossy sink did not get */
    tg_stat_t out_stalls;      /* waits on a full lossless sink */
    tg_stat_t out_stall_ns;    /* time spent in those waits */
    tg_stat_t sleeps;          /* times the thread slept on its waiter */
    tg_stat_t thread_cpu_ns;   /* builder thread CPU time (before each sleep, at exit) */
    tg_hist_t latency; /* receive (ts_mono) -> applied, per exchange message (thread mode) */
    tg_hist_t lat_pop; /* receive -> popped from the feed ring, per message (thread mode) */
    /* receive -> pushed to the sink rings, per record, by BOOK_LAT_* class (thread mode) */
    tg_hist_t lat_out[BOOK_LAT_KINDS];
    /* deliberate delays (docs/latency.md): first deferred change -> published, for on-change
       book snapshots held by book_min_gap_ns and forming candles held by forming_min_gap_ns */
    tg_hist_t book_defer, forming_defer;
    tg_stat_t books_valid; /* gauge: books in state VALID (refreshed by the timers) */
    tg_stat_t books_total; /* gauge: books seen */
    tg_stat_t books_fault; /* gauge: books in state FAULT (refreshed by the timers) */
    tg_stat_t book_levels; /* gauge: levels held by all books, both sides (every 100 ms) */
    tg_stat_t book_bytes;  /* gauge: their memory, book_l2_mem_bytes() summed (every 100 ms) */
    /* exchange time -> receive time per venue id (messages with an exchange time; the two
       clocks differ by the venue's and our offsets, so negative values count as 0) */
    tg_hist_t exch_lat[TG_VENUE_MAX];
} book_builder_stats_t;

typedef struct book_builder book_builder_t;

/** Current price and size scales of instrument id's book, candles and records (the registry's
 *  until a feed sent more places). @return false if the builder has not seen id.
 *  Thread: book, or any after the builder stopped. */
bool book_builder_scales(const book_builder_t *b, uint32_t id, int *px, int *sz);

/**
 * Create a builder. Attaches its waiter to every input ring.
 * @param out Written only on success.
 * @return 0; -EINVAL (no registry, too many rings/sinks, a sink with neither or both of ring
 *         and fn, top_n out of range); -ENOMEM.  Thread: main (before start).
 */
int book_builder_create(book_builder_t **out, const book_builder_cfg_t *cfg);

/** Stop if running, free everything; sets *b to NULL; NULL is a no-op.  Thread: main. */
void book_builder_destroy(book_builder_t **b);

/** Start the builder thread (a tg_worker named "book"). @return 0, -EALREADY if running,
 *  or -errno of pthread_create.  Thread: main. */
int book_builder_start(book_builder_t *b);

/**
 * Stop the builder thread: it drains every input ring to empty, ends open messages, then
 * publishes pending book snapshots and the forming candles (as forming, closed = 0: a candle
 * whose interval has not ended is not final and never goes to PostgreSQL as closed), and
 * exits. Producers must have stopped pushing before. @return 0, also when not running (the
 * tg_worker.h codes).  Thread: main.
 */
int book_builder_stop(book_builder_t *b);

/**
 * Synchronous: apply n events from the caller's thread (one stream, in order), publishing to
 * the sinks as the thread would. Timers (rate-limited and interval snapshots, forming candles)
 * run on the events' ts_mono, so an offline replay is deterministic.  Thread: book (caller).
 */
void book_builder_apply(book_builder_t *b, const tg_event_t *ev, size_t n);

/** Synchronous: run the timers at monotonic time now_mono; now_real > 0 also closes candles
 *  whose end + grace has passed on the wall clock.  Thread: book (caller). */
void book_builder_tick(book_builder_t *b, int64_t now_mono, int64_t now_real);

/** Synchronous: publish every pending on-change snapshot and every forming candle now.
 *  Thread: book (caller). */
void book_builder_flush(book_builder_t *b);

/** The book of an instrument (NULL if no event was seen for it).  Thread: book (caller). */
const book_l2_t *book_builder_book(const book_builder_t *b, uint32_t instr);

/** The candles of an instrument (NULL if no event was seen).  Thread: book (caller). */
const book_candles_t *book_builder_candles(const book_builder_t *b, uint32_t instr);

/** Counters.  Thread: any. */
const book_builder_stats_t *book_builder_stats(const book_builder_t *b);

#endif
