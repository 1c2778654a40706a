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

    /* Two batches: `cur` fills from the ring while `out` is committed (or held after a
     * failure), so encoding overlaps the server's work on the previous batch. */
    pg_batch_t bat[2];
    pg_batch_t *cur, *out;

    int64_t known[KNOWN_MAX]; /* days whose partitions exist */
    uint32_t nknown;
    int64_t ahead_day; /* today when the partitions ahead were last ensured */

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
/** While a commit waits for the server, move ring records into w->cur (never flushes; no-op
 *  without a running thread or while a batch is held). @return records taken. */
uint32_t store_pg__overlap(store_pg_t *w);

/* store_pg_copy.c: the COPY/commit path. */
/** Commit a batch in one transaction (partitions first; optimistic COPY or staged insert). */
fail_class_t store_pg__commit(store_pg_t *w, const batch_view_t *v);

#endif
