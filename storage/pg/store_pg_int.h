/* SPDX-License-Identifier: MIT */
/*
 * Internal to the PostgreSQL writer; not a public header. Three files by role, called only
 * downwards: store_pg.c (lifecycle and loop) -> store_pg_copy.c (COPY/commit) ->
 * store_pg_batch.c (encoding, batch, ring -> batch); store_pg.c also calls the batch. The
 * writer object, the batch view shared by live batches and journal records, and the
 * cross-file helpers (store_pg__ prefix).
 * Thread: writer:pg (the object's owner) for everything here.
 */
#ifndef STORE_PG_INT_H
#define STORE_PG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "book/tg_worker.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_enc.h"
#include "storage/pg/store_pg_io.h"
#include "storage/pg/store_pg_schema.h"
#include "storage/pg/store_spill.h"

#define DAYS_MAX   512 /* distinct days per batch (a batch closes early at 500) */
#define KNOWN_MAX  1024
#define REC_FORMAT 1u

typedef enum fail_class {
    PGF_OK = 0,
    PGF_CONN,      /* connection lost: reconnect */
    PGF_TRANSIENT, /* timeout, lock, serialization, resources: retry later */
    PGF_DUP,       /* unique violation in the optimistic path */
    PGF_PARTITION, /* no partition for a row: create and retry */
    PGF_DATA,      /* the server refuses the data itself */
    PGF_HUNG,      /* no answer within io_timeout_ms: drop the connection, like PGF_CONN */
} fail_class_t;

typedef struct tab_view {
    const uint8_t *p;
    size_t len;
    uint32_t rows;
} tab_view_t;

typedef struct batch_view {
    tab_view_t t[STORE_PG_T_COUNT];
    const int64_t *days;
    uint32_t ndays;
    uint32_t rows;
} batch_view_t;

/** One batch of encoded rows. */
typedef struct pg_batch {
    store_pg_buf_t tb[STORE_PG_T_COUNT];
    uint32_t trows[STORE_PG_T_COUNT];
    uint32_t rows;
    int64_t t0;    /* mono ns of the batch's first row */
    int64_t *mono; /* ts_mono per row */
    int64_t days[DAYS_MAX];
    uint32_t ndays;
    int64_t last_day;
} pg_batch_t;

struct store_pg {
    store_pg_cfg_t cfg;
    char *conninfo, *spill_dir;
    char schema[STORE_PG_SCHEMA_NAME_MAX + 1];
    PGconn *conn;
    int err;
    char errstr[256];
    store_spill_t *spill;
    int64_t *ids; /* registry id -> database instrument id (0: unknown) */
    uint32_t nids;
    char instance[64]; /* cfg.instance copied ("tickgate" when NULL) */
    char version[32];
    /* book_interval_ms: per registry id, ns of the last stored book snapshot, and whether a
     * snapshot was thinned since (then the next periodic one is stored even if it repeats). */
    int64_t *book_last;
    uint8_t *book_dirty;

    /* Two batches: `cur` fills from the ring while `out` is committed (or held after a
     * failure), so encoding overlaps the server's work on the previous batch. */
    pg_batch_t bat[2];
    pg_batch_t *cur, *out;

    int64_t known[KNOWN_MAX]; /* days whose partitions exist */
    uint32_t nknown;
    int64_t ahead_day; /* today when the partitions ahead were last ensured */

    store_pg_io_t io; /* deadlines and idle hook of w->conn (store_pg_io.h) */
    int64_t stop_at;  /* mono ns: stop requested + stop_timeout_ms (0: not stopping) */
    int64_t cutoff;   /* mono ns: after this no wait for the server during stop */

    /* /health text: written by the owner on state changes, read by any thread. */
    pthread_mutex_t hmu;
    char hreason[256]; /* "" while healthy */

    bool held; /* the batch could go nowhere; retry at next_try */
    bool sync; /* no thread: ignore backoff timers */
    bool ever_connected;
    int64_t next_try; /* mono ns */
    uint32_t backoff_ms;
    uint64_t rng;

    tg_worker_t wk; /* the "writer:pg" thread; wk.owner: the thread that owns w now */
    tg_waiter_t waiter;
    store_pg_stats_t st;
};

/* store_pg_batch.c: errors, known partitions, encoding, the batch, ring -> batch. */
void store_pg__set_err(store_pg_t *w, int err, const char *what, const char *text);
bool store_pg__known_day(const store_pg_t *w, int64_t d);
void store_pg__add_known(store_pg_t *w, int64_t d);
/** Empty a batch. */
void store_pg__batch_clear(pg_batch_t *b);
/** Encode one record into w->cur. @return 1 row added, 0 skipped, -ENOMEM. */
int store_pg__encode(store_pg_t *w, const book_out_t *r);
bool store_pg__batch_full(const store_pg_t *w);
/** View of a batch. */
void store_pg__batch_view(const pg_batch_t *b, batch_view_t *v);
/** Receive -> committed latency of every row of a batch into the histogram. */
void store_pg__account_latency(store_pg_t *w, const pg_batch_t *b);
/** Move records from the ring into w->cur until it is full (*full = true) or the ring is
 *  empty. @return records taken. */
uint32_t store_pg__take(store_pg_t *w, bool *full);
/** Append a batch to the journal. @return 0; -ENOSPC (full or no journal); < 0 I/O error. */
int store_pg__spill(store_pg_t *w, const batch_view_t *v);
/** True once a stop was requested and its time for the server is over (stop_timeout_ms / 2
 *  after the request): from then on everything goes to the journal.  Sets stop_at/cutoff. */
bool store_pg__past_cutoff(store_pg_t *w);
/** The connection's idle hook (store_pg_io.h), while the writer waits for the server: move
 *  ring records into w->cur, and when it is full while the ring is half full, append it to
 *  the journal so the builder is never held up by a slow server (no-op without a running thread, or
 * while a batch is held).
 *  @return > 0 records moved, 0 nothing, -1 give up the wait (stop and past the cutoff). */
int store_pg__overlap(void *w);

/* store_pg_copy.c: the COPY/commit path. */
/** Commit a batch in one transaction (partitions first; optimistic COPY or staged insert). */
fail_class_t store_pg__commit(store_pg_t *w, const batch_view_t *v);

#endif
