/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL writer: drains one tg_ring of book_out_t (trades, top-N book snapshots, closed
 * candles, gaps) and stores them with binary COPY, one transaction per batch (closed by row
 * count or age). When PostgreSQL is unreachable or slow, batches go to the spill journal
 * (store_spill.h) and are replayed in order, exactly once, when it returns. Duplicates (a
 * batch replayed after an ambiguous commit, a trade seen twice after a feed reconnect) are
 * stored once, through the natural keys of docs/schema.md and INSERT ... ON CONFLICT DO
 * NOTHING. Every wait for the server has a client-side deadline (io_timeout_ms): a server that
 * hangs instead of answering is dropped like a dead one, and while the writer waits its ring
 * keeps draining into the journal (docs/RELIABILITY.md).
 *
 * Policy when neither PostgreSQL nor the journal can take a batch (journal full or disabled):
 * the writer keeps the batch, stops draining its ring (backpressure: the builder's pushes
 * fail and the builder counts them, see store_pg_count_ring_drop()), counts `blocked` and
 * reports it through the log callback; it never drops a row itself.
 *
 * Thread: writer:pg owns the object once store_pg_start() ran; before that (and for the
 * synchronous API: store_pg_push/store_pg_flush without a thread) the creating thread owns it.
 * store_pg_stats() is readable from any thread.
 */
#ifndef STORE_PG_H
#define STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/tg_log.h"
#include "book/book_out.h"
#include "book/tg_hist.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "book/tg_stat.h"

typedef struct store_pg store_pg_t;

/** How duplicates are kept out. */
typedef enum store_pg_dedup {
    /* COPY straight into the tables; if the batch hits a unique key (SQLSTATE 23505), roll it
     * back and redo it through the staging path. Default: costs nothing without duplicates. */
    STORE_PG_DEDUP_OPTIMISTIC = 0,
    /* Always COPY into temporary staging tables, then INSERT ... ON CONFLICT DO NOTHING. */
    STORE_PG_DEDUP_STAGED = 1,
} store_pg_dedup_t;

/** Writer settings; fill with store_pg_cfg_defaults(). Strings are copied by create.
 *  Thread: main. */
typedef struct store_pg_cfg {
    const char *conninfo;         /* libpq conninfo/URI; no password (PGPASSWORD / ~/.pgpass) */
    const char *schema;           /* default "tickgate"; [a-z_][a-z0-9_]* */
    uint32_t batch_rows;          /* close a batch at this many rows; default 10000 */
    uint32_t batch_age_ms;        /* ... or when its first row is this old; default 200 */
    uint32_t io_timeout_ms;       /* client deadline on every wait for the server (connect,
                                     send, each answer): a hung server is dropped after it and
                                     the batch spilled; default 5000 */
    uint32_t commit_timeout_ms;   /* statement_timeout of batch statements (server side); 0
                                     (default): 3/4 of io_timeout_ms, so a merely slow server
                                     answers "timeout" before the client gives up; must be
                                     below io_timeout_ms */
    uint32_t backoff_min_ms;      /* reconnect / retry backoff, doubled with jitter; 100 */
    uint32_t backoff_max_ms;      /* default 5000 */
    uint32_t partitions_ahead;    /* days created ahead of today; default 2 */
    uint32_t stop_timeout_ms;     /* stop: how long to retry a batch nowhere can take; 10000 */
    store_pg_dedup_t dedup;       /* default STORE_PG_DEDUP_OPTIMISTIC */
    const char *spill_dir;        /* journal directory; NULL disables spilling (block instead) */
    uint64_t spill_max_bytes;     /* default 1 GiB */
    uint64_t spill_segment_bytes; /* default 64 MiB */
    int spill_fsync;              /* default 1 */
    uint32_t retention_days;      /* retire day partitions older than this many days before
                                     today (0, default: keep everything); checked at connect
                                     and at every day change */
    int retention_detach;         /* 1: DETACH retired partitions (kept as plain tables for
                                     archiving); 0 (default): DROP them */
    uint32_t book_interval_ms;    /* at most one book snapshot row per instrument per this
                                     many ms (state changes always; the latest skipped state is
                                     stored with the next periodic snapshot); 0 (default): every
                                     snapshot the builder makes */
    const char *instance;         /* gateway name: application_name "tickgate-writer:NAME" and
                                     its row in <schema>.instances; NULL: "tickgate" */
    const char *version;          /* for the instances row; NULL: "" */
    const tg_instr_reg_t *reg;    /* instruments (borrowed; immutable, outlives the writer) */
    tg_ring_t *ring;              /* input ring of book_out_t (borrowed); NULL: sync API only */
    /* Log callback, called on the writer's thread; msg valid only during the call. */
    tg_log_fn log; /* TG_LOG_* levels */
    void *log_ud;
} store_pg_cfg_t;

/** Counters: single writer (writer:pg unless noted), read by any thread. */
typedef struct store_pg_stats {
    tg_stat_t recs_in;            /* records taken from the ring / store_pg_push() */
    tg_stat_t recs_skipped;       /* records not for PostgreSQL (forming candles) */
    tg_stat_t recs_bad;           /* records with an unknown instrument or kind (not stored) */
    tg_stat_t books_thinned;      /* book snapshots not stored: book_interval_ms */
    tg_stat_t partitions_retired; /* day partitions dropped/detached by retention_days */
    tg_stat_t rows_committed;     /* rows inserted (new) */
    tg_stat_t rows_duplicate;     /* rows ignored by the conflict rule */
    tg_stat_t rows_table[4];      /* new rows per table (trades, book_snapshots, candles, gaps) */
    tg_stat_t batches;            /* committed batches (direct and replayed) */
    tg_hist_t commit_lat;         /* wall time of committed batch transactions */
    tg_hist_t e2e_lat;            /* per committed row: now_mono - ts_mono (receive -> committed);
                                     rows replayed from the journal are not counted */
    tg_stat_t dedup_fallbacks;    /* optimistic batches redone through staging */
    tg_stat_t spill_batches;      /* batches written to the journal */
    tg_stat_t spill_rows;
    tg_stat_t spill_bytes;
    tg_stat_t replay_batches; /* journal records committed */
    tg_stat_t replay_rows;
    tg_stat_t spill_pending_records; /* gauge */
    tg_stat_t spill_pending_bytes;   /* gauge */
    tg_stat_t spill_full;            /* appends refused: journal full */
    tg_stat_t spill_corrupt;         /* damaged journal regions skipped (never replayed) */
    tg_stat_t spill_corrupt_bytes;   /* bytes in those regions */
    tg_stat_t spill_torn;            /* torn journal tails cut at open (crash in an append) */
    tg_stat_t spill_torn_bytes;      /* bytes cut */
    tg_stat_t spill_rejected;        /* journal records PostgreSQL refused as bad data */
    tg_stat_t blocked;               /* episodes of holding a batch with nowhere to put it */
    tg_stat_t lost_at_stop;          /* rows given up at stop after stop_timeout_ms (loud) */
    tg_stat_t connects;              /* successful connections */
    tg_stat_t reconnects;            /* connections after the first */
    tg_stat_t connect_failures;
    tg_stat_t timeouts;    /* batches cancelled by commit_timeout_ms */
    tg_stat_t io_timeouts; /* waits given up after io_timeout_ms (hung server: reconnect) */
    tg_stat_t errors;      /* any failed batch attempt */
    tg_stat_t connected;   /* gauge 0/1 */
    tg_stat_t ring_depth;  /* gauge, sampled by the writer */
    tg_stat_t ring_drops;  /* written by the producer (book) through store_pg_count_ring_drop */
} store_pg_stats_t;

/** Defaults (see the fields).  Thread: any. */
void store_pg_cfg_defaults(store_pg_cfg_t *c);

/**
 * Create a writer (no connection yet; opens the journal if spill_dir is set).
 * @param out Written only on success.
 * @return 0; TG_ECONFIG (no conninfo, bad schema name, zero batch size, commit_timeout_ms not
 *         below io_timeout_ms); TG_ESPILL (the
 *         journal could not be opened; the text goes to cfg->log); -ENOMEM.  Thread: main.
 */
int store_pg_create(store_pg_t **out, const store_pg_cfg_t *cfg);

/** Stop if running, close the connection and journal, free; sets *w to NULL.  Thread: main. */
void store_pg_destroy(store_pg_t **w);

/**
 * Connect now, migrate the schema, register the instruments, create today's partitions.
 * Used at start-up to fail fast on bad settings: the error text (libpq's) is in
 * store_pg_errstr(). Every wait is bounded by io_timeout_ms.
 * @return 0; -EACCES (the server answered and refused: authentication failed, no such
 *         database or role: a settings problem); TG_EPG (unreachable, hung, or any other
 *         failure: an outage the writer can wait out); TG_ECONFIG (schema newer than this
 *         build, instrument id collision).  Thread: owner (main, before store_pg_start).
 */
int store_pg_connect(store_pg_t *w);

/**
 * Resume points for trade backfill: out[i] = the highest trade id stored for registry
 * instrument i among the trades of the last max_age_s seconds (0: none); where by_ts[i]
 * (trade ids not consecutive), out_ts[i] = the exchange time (ns, the stored microsecond:
 * at most 1 us before the trade's) of the newest of those trades instead (0: none); read over
 * the connection store_pg_connect() made (store_pg_schema_last_trades).
 * @return instruments with one; -ENOTCONN (not connected: an outage at start); TG_EPG with
 *         the reason in err.  Thread: owner (main, before store_pg_start).
 */
long store_pg_last_trades(store_pg_t *w, const uint8_t *by_ts, uint64_t *out, int64_t *out_ts,
                          uint32_t max_age_s, char *err, size_t errlen);

/** Start the writer:pg thread (a tg_worker). @return 0; -EINVAL (no ring); -EALREADY (already
 *  running); -errno of pthread_create.  Thread: main. */
int store_pg_start(store_pg_t *w);

/**
 * Graceful stop: the thread drains the ring, commits (or spills) the last batch, fsyncs the
 * journal, disconnects, and exits. Idempotent. @return 0, also when not running.
 * Thread: main.
 */
int store_pg_stop(store_pg_t *w);

/**
 * Synchronous API (no thread): add one record to the current batch.
 * @return 1 if the batch is now full (call store_pg_flush), 0, or -ENOMEM.
 * Thread: owner (not while the writer thread runs).
 */
int store_pg_push(store_pg_t *w, const book_out_t *rec);

/**
 * Commit the current batch (or spill it), after replaying the journal first when it has
 * records and the server is up. @return 0 when the batch is committed or spilled; TG_EPG /
 * TG_ESPILL when it is still held (retry later).  Thread: owner.
 */
int store_pg_flush(store_pg_t *w);

/** Replay journal records while the server takes them. @return records replayed, or a
 *  negative code.  Thread: owner. */
int store_pg_replay(store_pg_t *w);

/** Counters.  Thread: any. */
const store_pg_stats_t *store_pg_stats(const store_pg_t *w);

/** Health for any thread: copies why the writer is not connected (the last connection or
 *  batch error, e.g. "no answer from the server within 5000 ms") into reason, "" when it is.
 *  @return 1 connected, 0 not.  Thread: any. */
int store_pg_health(store_pg_t *w, char *reason, size_t cap);

/** Last error text (libpq's when TG_EPG). Stable only in the owner thread or after stop.
 *  Thread: owner. */
const char *store_pg_errstr(const store_pg_t *w);

/** Last error code.  Thread: owner. */
int store_pg_err(const store_pg_t *w);

/** Producer side: count one record the producer could not push (ring full).
 *  Thread: the ring's producer (book) only. */
void store_pg_count_ring_drop(store_pg_t *w);

#endif
