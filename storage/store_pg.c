/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL writer (store_pg.h): book_out_t records -> COPY BINARY batches -> PostgreSQL,
 * with a spill journal for outages and duplicate-proof retries.
 *
 * DESIGN
 * Producer: the builder thread pushes book_out_t into one SPSC ring. Consumer: the writer:pg
 * thread, which alone touches the PGconn, the journal and the batch. It encodes each record
 * straight into a per-table buffer of COPY BINARY tuples (numeric from int64 fixed point,
 * store_pg_enc.h), so a batch is four byte strings plus the list of UTC days it touches and
 * the receive stamps of its rows. The same bytes are what a journal record holds:
 *     u32 format=1 | u32 ndays | u32 rows[4] | u32 bytes[4] | i64 days[ndays] | tuples...
 * so replay is the commit path fed from disk.
 *
 * A batch closes at batch_rows rows or batch_age_ms after its first row, then:
 *  - if the journal holds records, the batch is appended to it (order is kept: records are
 *    replayed oldest first, and new batches queue behind them until the journal is empty);
 *  - else if connected and not backing off, it is committed in one transaction: BEGIN; per
 *    table COPY (optimistic) or COPY into a temp staging table + INSERT ... ON CONFLICT DO
 *    NOTHING (staged); COMMIT. An optimistic batch that hits a unique key is rolled back and
 *    redone staged. statement_timeout = commit_timeout_ms bounds every statement, so a lock
 *    or an overloaded server turns into a timeout, not a stall;
 *  - on failure (connection lost, timeout) or when down, the batch is appended to the
 *    journal (fdatasync'd) and the writer backs off (jittered exponential) before it tries
 *    the server again; the journal cursor advances only after the replayed batch committed.
 *  - if the journal is full or disabled, the batch is held: the ring is not drained any more
 *    (backpressure to the builder), `blocked` counts the episode, the log says so.
 * Idempotence: every table has a unique natural key (docs/schema.md), so a batch committed
 * twice (commit acknowledged but the ack lost, crash between commit and journal advance)
 * stores its rows once.
 * Shutdown: store_pg_stop() sets `stop` (release, pairs with the acquire in the loop) and
 * wakes the waiter; the thread drains the ring, commits or spills the last batch, and exits.
 */
#include "store_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "store_pg_enc.h"
#include "store_pg_schema.h"
#include "store_spill.h"

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

    /* current batch */
    store_pg_buf_t tb[STORE_PG_T_COUNT];
    uint32_t trows[STORE_PG_T_COUNT];
    uint32_t rows;
    int64_t t0;    /* mono ns of the batch's first row */
    int64_t *mono; /* ts_mono per row */
    int64_t days[DAYS_MAX];
    uint32_t ndays;
    int64_t last_day;
    store_pg_buf_t rec; /* journal record header scratch */

    int64_t known[KNOWN_MAX]; /* days whose partitions exist */
    uint32_t nknown;
    int64_t ahead_day; /* today when the partitions ahead were last ensured */

    bool held;          /* the batch could go nowhere; retry at next_try */
    bool sync;          /* no thread: ignore backoff timers */
    bool ever_connected;
    int64_t next_try;   /* mono ns */
    uint32_t backoff_ms;
    uint64_t rng;

    pthread_t thr;
    bool started;
    _Atomic int stop;
    tg_waiter_t waiter;
    store_pg_stats_t st;
};

/* ---- small helpers ---- */

static void logf_(store_pg_t *w, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(store_pg_t *w, int level, const char *fmt, ...)
{
    if (!w->cfg.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->cfg.log(w->cfg.log_ud, level, msg);
}

static void set_err(store_pg_t *w, int err, const char *what, const char *text)
{
    w->err = err;
    snprintf(w->errstr, sizeof w->errstr, "%s: %s", what, text ? text : tg_strerror(err));
    size_t l = strlen(w->errstr);
    while (l && (w->errstr[l - 1] == '\n' || w->errstr[l - 1] == ' '))
        w->errstr[--l] = 0;
}

static unsigned hist_bucket(int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    unsigned b = us ? 64u - (unsigned)__builtin_clzll(us) : 0;
    return b < STORE_PG_HIST_N ? b : STORE_PG_HIST_N - 1;
}

static uint32_t jitter(store_pg_t *w, uint32_t ms)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return ms / 2 + (uint32_t)(w->rng % (ms / 2 + 1));
}

static void backoff(store_pg_t *w)
{
    w->next_try = tg_clock_mono_ns() + (int64_t)jitter(w, w->backoff_ms) * TG_NS_PER_MS;
    w->backoff_ms = w->backoff_ms * 2 > w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms
                                                               : w->backoff_ms * 2;
}

static bool may_try(const store_pg_t *w)
{
    return w->sync || tg_clock_mono_ns() >= w->next_try;
}

static bool known_day(const store_pg_t *w, int64_t d)
{
    for (uint32_t i = 0; i < w->nknown; i++)
        if (w->known[i] == d)
            return true;
    return false;
}

static void add_known(store_pg_t *w, int64_t d)
{
    if (known_day(w, d))
        return;
    if (w->nknown == KNOWN_MAX)
        w->nknown = 0;
    w->known[w->nknown++] = d;
}

static void disconnect(store_pg_t *w)
{
    if (w->conn)
        PQfinish(w->conn);
    w->conn = NULL;
    TG_STAT_SET(w->st.connected, 0);
}

/* ---- configuration, lifecycle ---- */

void store_pg_cfg_defaults(store_pg_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->schema = "tickgate";
    c->batch_rows = 10000;
    c->batch_age_ms = 200;
    c->commit_timeout_ms = 5000;
    c->connect_timeout_s = 5;
    c->backoff_min_ms = 100;
    c->backoff_max_ms = 5000;
    c->partitions_ahead = 2;
    c->stop_timeout_ms = 10000;
    c->dedup = STORE_PG_DEDUP_OPTIMISTIC;
    c->spill_max_bytes = 1ull << 30;
    c->spill_segment_bytes = 64ull << 20;
    c->spill_fsync = 1;
}

int store_pg_create(store_pg_t **out, const store_pg_cfg_t *cfg)
{
    if (!out || !cfg || !cfg->conninfo || !cfg->batch_rows || !cfg->batch_age_ms)
        return TG_ECONFIG;
    if (store_pg_schema_check_name(cfg->schema) < 0)
        return TG_ECONFIG;
    store_pg_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    int rc = -ENOMEM;
    w->cfg = *cfg;
    if (!w->cfg.backoff_min_ms)
        w->cfg.backoff_min_ms = 100;
    if (w->cfg.backoff_max_ms < w->cfg.backoff_min_ms)
        w->cfg.backoff_max_ms = w->cfg.backoff_min_ms;
    w->backoff_ms = w->cfg.backoff_min_ms;
    w->rng = (uint64_t)tg_clock_mono_ns() | 1;
    w->sync = true;
    w->last_day = INT64_MIN;
    snprintf(w->schema, sizeof w->schema, "%s", cfg->schema);
    if (!(w->conninfo = strdup(cfg->conninfo)))
        goto fail;
    w->cfg.conninfo = w->conninfo;
    w->cfg.schema = w->schema;
    if (!(w->mono = malloc(((size_t)cfg->batch_rows + 1) * sizeof *w->mono)))
        goto fail;
    if (cfg->reg) {
        w->nids = tg_instr_reg_count(cfg->reg);
        if (!(w->ids = calloc(w->nids ? w->nids : 1, sizeof *w->ids)))
            goto fail;
        for (uint32_t i = 0; i < w->nids; i++) {
            const tg_instr_t *in = tg_instr_reg_get(cfg->reg, i);
            if (in)
                w->ids[i] = store_pg_schema_instr_id(in->venue, in->symbol);
        }
    }
    if (cfg->spill_dir) {
        if (!(w->spill_dir = strdup(cfg->spill_dir)))
            goto fail;
        w->cfg.spill_dir = w->spill_dir;
        store_spill_cfg_t sc;
        store_spill_cfg_defaults(&sc);
        sc.dir = w->spill_dir;
        sc.max_bytes = cfg->spill_max_bytes;
        sc.segment_bytes = cfg->spill_segment_bytes;
        sc.fsync = cfg->spill_fsync;
        char e[256];
        if ((rc = store_spill_open(&w->spill, &sc, e, sizeof e)) < 0) {
            set_err(w, TG_ESPILL, "spill", e);
            logf_(w, STORE_PG_LOG_ERROR, "pg writer: %s", e);
            rc = TG_ESPILL;
            goto fail;
        }
        const store_spill_stats_t *ss = store_spill_stats(w->spill);
        TG_STAT_SET(w->st.spill_pending_records, TG_STAT_GET(ss->pending_records));
        TG_STAT_SET(w->st.spill_pending_bytes, TG_STAT_GET(ss->pending_bytes));
    }
    if (cfg->ring)
        tg_ring_set_waiter(cfg->ring, &w->waiter);
    tg_waiter_init(&w->waiter);
    *out = w;
    return 0;
fail:
    store_pg_destroy(&w);
    return rc;
}

void store_pg_destroy(store_pg_t **wp)
{
    if (!wp || !*wp)
        return;
    store_pg_t *w = *wp;
    store_pg_stop(w);
    disconnect(w);
    store_spill_close(&w->spill);
    for (int t = 0; t < STORE_PG_T_COUNT; t++)
        store_pg_buf_free(&w->tb[t]);
    store_pg_buf_free(&w->rec);
    free(w->mono);
    free(w->ids);
    free(w->conninfo);
    free(w->spill_dir);
    free(w);
    *wp = NULL;
}

const store_pg_stats_t *store_pg_stats(const store_pg_t *w)
{
    return &w->st;
}

const char *store_pg_errstr(const store_pg_t *w)
{
    return w->errstr;
}

int store_pg_err(const store_pg_t *w)
{
    return w->err;
}

void store_pg_count_ring_drop(store_pg_t *w)
{
    TG_STAT_INC(w->st.ring_drops);
}

/* ---- connection ---- */

static void notice_sink(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* lower layers never print; notices (e.g. "already exists") are noise */
}

static int exec_ok(store_pg_t *w, const char *sql, const char *what)
{
    PGresult *r = PQexec(w->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        set_err(w, TG_EPG, what, PQresultErrorMessage(r));
        PQclear(r);
        return TG_EPG;
    }
    PQclear(r);
    return 0;
}

static int ensure_ahead(store_pg_t *w)
{
    int64_t today = store_pg_day_of_ns(tg_clock_realtime_ns());
    char e[256];
    int n = (int)w->cfg.partitions_ahead + 2; /* yesterday .. today + ahead */
    int rc = store_pg_schema_ensure_days(w->conn, w->schema, today - 1, n, e, sizeof e);
    if (rc < 0) {
        set_err(w, rc, "partitions", e);
        return rc;
    }
    for (int64_t d = today - 1; d < today - 1 + n; d++)
        add_known(w, d);
    w->ahead_day = today;
    return 0;
}

int store_pg_connect(store_pg_t *w)
{
    char ct[16], tut[16];
    snprintf(ct, sizeof ct, "%u", w->cfg.connect_timeout_s ? w->cfg.connect_timeout_s : 5);
    /* tcp_user_timeout: a server that stops acknowledging fails the connection instead of
     * hanging the writer (ms; libpq >= 12). Keys after dbname override the conninfo's. */
    snprintf(tut, sizeof tut, "%u", w->cfg.commit_timeout_ms * 2 + 1000);
    const char *keys[] = {"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "dbname", NULL};
    const char *vals[] = {ct, "tickgate-writer", "1", "10", "5", "3", tut, w->conninfo, NULL};
    disconnect(w);
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        set_err(w, -ENOMEM, "connect", NULL);
        return -ENOMEM;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        set_err(w, TG_EPG, "connect", PQerrorMessage(c));
        PQfinish(c);
        TG_STAT_INC(w->st.connect_failures);
        return TG_EPG;
    }
    w->conn = c;
    PQsetNoticeProcessor(c, notice_sink, NULL);
    char sql[1024], e[256];
    int rc;
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning; SET TimeZone = 'UTC';"
             " SET synchronous_commit = on; SET statement_timeout = %u",
             w->cfg.commit_timeout_ms);
    if ((rc = exec_ok(w, sql, "session setup")) < 0)
        goto fail;
    if ((rc = store_pg_schema_migrate(c, w->schema, NULL, e, sizeof e)) < 0) {
        set_err(w, rc, "migrate", e);
        goto fail;
    }
    if (w->cfg.reg) {
        for (uint32_t i = 0; i < w->nids; i++) {
            const tg_instr_t *in = tg_instr_reg_get(w->cfg.reg, i);
            if (!in)
                continue;
            rc = store_pg_schema_put_instr(c, w->schema, w->ids[i], in->venue, in->symbol,
                                           in->px_scale, in->sz_scale, e, sizeof e);
            if (rc < 0) {
                set_err(w, rc, "instruments", e);
                goto fail;
            }
        }
    }
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        const char *tn = store_pg_schema_table(t);
        snprintf(sql, sizeof sql,
                 "CREATE TEMP TABLE IF NOT EXISTS tg_stage_%s (LIKE %s.%s) ON COMMIT DELETE ROWS",
                 tn, w->schema, tn);
        if ((rc = exec_ok(w, sql, "staging tables")) < 0)
            goto fail;
    }
    if ((rc = ensure_ahead(w)) < 0)
        goto fail;
    TG_STAT_INC(w->st.connects);
    if (w->ever_connected)
        TG_STAT_INC(w->st.reconnects);
    w->ever_connected = true;
    TG_STAT_SET(w->st.connected, 1);
    w->backoff_ms = w->cfg.backoff_min_ms;
    w->next_try = 0;
    return 0;
fail:
    TG_STAT_INC(w->st.connect_failures);
    disconnect(w);
    return rc;
}

/* ---- encoding ---- */

static void batch_clear(store_pg_t *w)
{
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        w->tb[t].len = 0;
        w->trows[t] = 0;
    }
    w->rows = 0;
    w->ndays = 0;
    w->last_day = INT64_MIN;
}

static void note_day(store_pg_t *w, int64_t ns)
{
    int64_t d = store_pg_day_of_ns(ns);
    if (d == w->last_day)
        return;
    w->last_day = d;
    for (uint32_t i = 0; i < w->ndays; i++)
        if (w->days[i] == d)
            return;
    w->days[w->ndays++] = d;
}

/* Encode one record. @return 1 row added, 0 skipped, -ENOMEM. */
static int encode(store_pg_t *w, const book_out_t *r)
{
    TG_STAT_INC(w->st.recs_in);
    if (r->kind == BOOK_OUT_CANDLE && !r->u.candle.closed) {
        TG_STAT_INC(w->st.recs_skipped);
        return 0;
    }
    const tg_instr_t *in = w->cfg.reg ? tg_instr_reg_get(w->cfg.reg, r->instr) : NULL;
    if (!in || r->instr >= w->nids || r->kind < BOOK_OUT_TRADE || r->kind > BOOK_OUT_GAP) {
        TG_STAT_INC(w->st.recs_bad);
        return 0;
    }
    int64_t id = w->ids[r->instr];
    int px = in->px_scale, sz = in->sz_scale;
    int64_t ts = r->ts_exch ? r->ts_exch : r->ts_recv;
    int t = r->kind - 1;
    store_pg_buf_t *b = &w->tb[t];
    size_t need = r->kind == BOOK_OUT_BOOK ? 4096 : 512;
    if (store_pg_buf_reserve(b, need) < 0)
        return -ENOMEM;
    switch (r->kind) {
    case BOOK_OUT_TRADE: {
        const book_out_trade_t *x = &r->u.trade;
        store_pg_put_i16(b, 8);
        store_pg_put_f_i64(b, id);
        store_pg_put_f_ts(b, ts);
        store_pg_put_f_ts(b, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->trade_id);
        store_pg_put_f_i64(b, (int64_t)x->seq);
        store_pg_put_f_i16(b, (int16_t)x->side);
        store_pg_put_f_numeric(b, x->price, px);
        store_pg_put_f_numeric(b, x->size, sz);
        break;
    }
    case BOOK_OUT_BOOK: {
        const book_out_book_t *x = &r->u.book;
        size_t nb = x->n_bids > BOOK_OUT_DEPTH_MAX ? BOOK_OUT_DEPTH_MAX : x->n_bids;
        size_t na = x->n_asks > BOOK_OUT_DEPTH_MAX ? BOOK_OUT_DEPTH_MAX : x->n_asks;
        store_pg_put_i16(b, 13);
        store_pg_put_f_i64(b, id);
        store_pg_put_f_ts(b, ts);
        store_pg_put_f_ts(b, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->seq);
        store_pg_put_f_i64(b, (int64_t)x->generation);
        store_pg_put_f_i16(b, x->state);
        store_pg_put_f_i16(b, x->reason);
        store_pg_put_f_i32(b, (int32_t)x->depth_bids);
        store_pg_put_f_i32(b, (int32_t)x->depth_asks);
        store_pg_put_f_numeric_array(b, &x->bids[0].price, 2, nb, px);
        store_pg_put_f_numeric_array(b, &x->bids[0].size, 2, nb, sz);
        store_pg_put_f_numeric_array(b, &x->asks[0].price, 2, na, px);
        store_pg_put_f_numeric_array(b, &x->asks[0].size, 2, na, sz);
        break;
    }
    case BOOK_OUT_CANDLE: {
        const book_out_candle_t *x = &r->u.candle;
        ts = x->start_ns;
        store_pg_put_i16(b, 16);
        store_pg_put_f_i64(b, id);
        store_pg_put_f_interval(b, x->interval_ns);
        store_pg_put_f_ts(b, x->start_ns);
        store_pg_put_f_numeric(b, x->open, px);
        store_pg_put_f_numeric(b, x->high, px);
        store_pg_put_f_numeric(b, x->low, px);
        store_pg_put_f_numeric(b, x->close, px);
        store_pg_put_f_numeric(b, x->volume, sz);
        store_pg_put_f_numeric(b, x->buy_volume, sz);
        store_pg_put_f_numeric(b, x->sell_volume, sz);
        store_pg_put_f_numeric128(b, x->notional, px + sz);
        store_pg_put_f_numeric(b, x->vwap, px);
        store_pg_put_f_i32(b, (int32_t)x->trades);
        if (x->trades) {
            store_pg_put_f_ts(b, x->first_ts);
            store_pg_put_f_ts(b, x->last_ts);
        } else {
            store_pg_put_f_null(b);
            store_pg_put_f_null(b);
        }
        store_pg_put_f_ts(b, r->ts_recv);
        break;
    }
    default: { /* BOOK_OUT_GAP */
        const book_out_gap_t *x = &r->u.gap;
        store_pg_put_i16(b, 8);
        store_pg_put_f_i64(b, id);
        store_pg_put_f_ts(b, ts);
        store_pg_put_f_ts(b, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->seq_last);
        store_pg_put_f_i64(b, (int64_t)x->seq_got);
        store_pg_put_f_i64(b, (int64_t)x->generation);
        store_pg_put_f_i16(b, x->state);
        store_pg_put_f_i16(b, x->reason);
        break;
    }
    }
    note_day(w, ts);
    if (w->rows == 0)
        w->t0 = tg_clock_mono_ns();
    w->mono[w->rows++] = r->ts_mono;
    w->trows[t]++;
    return 1;
}

static bool batch_full(const store_pg_t *w)
{
    return w->rows >= w->cfg.batch_rows || w->ndays >= DAYS_MAX - 12;
}

int store_pg_push(store_pg_t *w, const book_out_t *rec)
{
    int rc = encode(w, rec);
    if (rc < 0)
        return rc;
    return batch_full(w) ? 1 : 0;
}

static void batch_view_cur(const store_pg_t *w, batch_view_t *v)
{
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        v->t[t].p = w->tb[t].p;
        v->t[t].len = w->tb[t].len;
        v->t[t].rows = w->trows[t];
    }
    v->days = w->days;
    v->ndays = w->ndays;
    v->rows = w->rows;
}

/* ---- commit ---- */

static fail_class_t classify(store_pg_t *w, PGresult *r, const char *what)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    set_err(w, TG_EPG, what, r ? PQresultErrorMessage(r) : PQerrorMessage(w->conn));
    if (PQstatus(w->conn) == CONNECTION_BAD || !st)
        return PGF_CONN;
    if (!strcmp(st, "23505"))
        return PGF_DUP;
    if (!strcmp(st, "23514") && strstr(w->errstr, "partition"))
        return PGF_PARTITION;
    if (!strcmp(st, "57014") || !strcmp(st, "55P03") || !strncmp(st, "40", 2) ||
        !strncmp(st, "53", 2) || !strncmp(st, "57", 2) || !strncmp(st, "08", 2) ||
        !strncmp(st, "58", 2) || !strncmp(st, "XX", 2))
        return PGF_TRANSIENT;
    return PGF_DATA;
}

static fail_class_t exec_cmd(store_pg_t *w, const char *sql, int64_t *tuples)
{
    PGresult *r = PQexec(w->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fail_class_t f = classify(w, r, sql);
        PQclear(r);
        return f;
    }
    if (tuples)
        *tuples = atoll(PQcmdTuples(r));
    PQclear(r);
    return PGF_OK;
}

static fail_class_t copy_in(store_pg_t *w, const char *target, const tab_view_t *tv,
                            int64_t *tuples)
{
    char sql[160];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN (FORMAT binary)", target);
    PGresult *r = PQexec(w->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        fail_class_t f = classify(w, r, "COPY");
        PQclear(r);
        return f;
    }
    PQclear(r);
    int ok = PQputCopyData(w->conn, (const char *)store_pg_copy_header,
                           sizeof store_pg_copy_header) == 1;
    for (size_t off = 0; ok && off < tv->len;) { /* int-sized chunks */
        size_t n = tv->len - off > (1u << 30) ? (1u << 30) : tv->len - off;
        ok = PQputCopyData(w->conn, (const char *)tv->p + off, (int)n) == 1;
        off += n;
    }
    ok = ok && PQputCopyData(w->conn, (const char *)store_pg_copy_trailer,
                             sizeof store_pg_copy_trailer) == 1;
    if (PQputCopyEnd(w->conn, ok ? NULL : "client error") != 1)
        ok = 0;
    fail_class_t f = PGF_OK;
    while ((r = PQgetResult(w->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (f == PGF_OK)
                f = classify(w, r, "COPY");
        } else if (tuples) {
            *tuples = atoll(PQcmdTuples(r));
        }
        PQclear(r);
    }
    if (f == PGF_OK && !ok)
        f = classify(w, NULL, "COPY send");
    return f;
}

/* One transaction. inserted[] gets the new rows per table. */
static fail_class_t attempt(store_pg_t *w, const batch_view_t *v, bool staged, int64_t *inserted)
{
    fail_class_t f = exec_cmd(w, "BEGIN", NULL);
    for (int t = 0; f == PGF_OK && t < STORE_PG_T_COUNT; t++) {
        inserted[t] = 0;
        if (!v->t[t].rows)
            continue;
        const char *tn = store_pg_schema_table(t);
        char target[128];
        if (!staged) {
            snprintf(target, sizeof target, "%s.%s", w->schema, tn);
            f = copy_in(w, target, &v->t[t], &inserted[t]);
        } else {
            snprintf(target, sizeof target, "tg_stage_%s", tn);
            f = copy_in(w, target, &v->t[t], NULL);
            if (f == PGF_OK) {
                char sql[256];
                snprintf(sql, sizeof sql,
                         "INSERT INTO %s.%s SELECT * FROM tg_stage_%s ON CONFLICT DO NOTHING",
                         w->schema, tn, tn);
                f = exec_cmd(w, sql, &inserted[t]);
            }
        }
    }
    if (f == PGF_OK)
        f = exec_cmd(w, "COMMIT", NULL);
    if (f != PGF_OK && w->conn && PQstatus(w->conn) == CONNECTION_OK &&
        PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(w->conn, "ROLLBACK");
        PQclear(r);
    }
    if (f != PGF_OK && PQstatus(w->conn) == CONNECTION_BAD)
        f = PGF_CONN;
    return f;
}

static fail_class_t ensure_days(store_pg_t *w, const batch_view_t *v)
{
    for (uint32_t i = 0; i < v->ndays; i++) {
        if (known_day(w, v->days[i]))
            continue;
        char e[256];
        if (store_pg_schema_ensure_days(w->conn, w->schema, v->days[i], 1, e, sizeof e) < 0) {
            set_err(w, TG_EPG, "partition", e);
            return PQstatus(w->conn) == CONNECTION_BAD ? PGF_CONN : PGF_TRANSIENT;
        }
        add_known(w, v->days[i]);
    }
    return PGF_OK;
}

static fail_class_t commit_batch(store_pg_t *w, const batch_view_t *v)
{
    int64_t t0 = tg_clock_mono_ns(), ins[STORE_PG_T_COUNT] = {0};
    fail_class_t f = ensure_days(w, v);
    bool staged = w->cfg.dedup == STORE_PG_DEDUP_STAGED;
    for (int tries = 0; f == PGF_OK && tries < 3; tries++) {
        f = attempt(w, v, staged, ins);
        if (f == PGF_DUP && !staged) {
            TG_STAT_INC(w->st.dedup_fallbacks);
            staged = true;
            f = PGF_OK;
            continue;
        }
        if (f == PGF_PARTITION) {
            w->nknown = 0;
            f = ensure_days(w, v);
            continue;
        }
        break;
    }
    if (f == PGF_DUP || f == PGF_PARTITION)
        f = PGF_DATA;
    if (f != PGF_OK) {
        TG_STAT_INC(w->st.errors);
        if (f == PGF_TRANSIENT && strstr(w->errstr, "statement timeout"))
            TG_STAT_INC(w->st.timeouts);
        return f;
    }
    int64_t dt = tg_clock_mono_ns() - t0, total = 0;
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        total += ins[t];
        TG_STAT_ADD(w->st.rows_table[t], ins[t]);
    }
    TG_STAT_ADD(w->st.rows_committed, total);
    TG_STAT_ADD(w->st.rows_duplicate, (int64_t)v->rows - total);
    TG_STAT_INC(w->st.batches);
    TG_STAT_ADD(w->st.commit_ns_sum, dt);
    TG_STAT_INC(w->st.commit_hist[hist_bucket(dt)]);
    w->backoff_ms = w->cfg.backoff_min_ms;
    return PGF_OK;
}

/* After a failed attempt: reconnect or back off. */
static void after_failure(store_pg_t *w, fail_class_t f, const char *what)
{
    logf_(w, STORE_PG_LOG_WARN, "pg writer: %s failed: %s", what, w->errstr);
    if (f == PGF_CONN)
        disconnect(w);
    backoff(w);
}

/* ---- journal ---- */

static int spill_batch(store_pg_t *w, const batch_view_t *v)
{
    if (!w->spill)
        return -ENOSPC;
    uint32_t hdr[2 + 2 * STORE_PG_T_COUNT];
    hdr[0] = REC_FORMAT;
    hdr[1] = v->ndays;
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        hdr[2 + t] = v->t[t].rows;
        hdr[2 + STORE_PG_T_COUNT + t] = (uint32_t)v->t[t].len;
    }
    struct iovec iov[2 + STORE_PG_T_COUNT];
    iov[0] = (struct iovec){hdr, sizeof hdr};
    iov[1] = (struct iovec){(void *)v->days, v->ndays * sizeof *v->days};
    for (int t = 0; t < STORE_PG_T_COUNT; t++)
        iov[2 + t] = (struct iovec){(void *)v->t[t].p, v->t[t].len};
    int rc = store_spill_append(w->spill, iov, 2 + STORE_PG_T_COUNT);
    const store_spill_stats_t *ss = store_spill_stats(w->spill);
    TG_STAT_SET(w->st.spill_pending_records, TG_STAT_GET(ss->pending_records));
    TG_STAT_SET(w->st.spill_pending_bytes, TG_STAT_GET(ss->pending_bytes));
    if (rc < 0) {
        if (rc == -ENOSPC)
            TG_STAT_INC(w->st.spill_full);
        set_err(w, TG_ESPILL, "spill append", tg_strerror(rc));
        return rc;
    }
    size_t bytes = sizeof hdr + iov[1].iov_len;
    for (int t = 0; t < STORE_PG_T_COUNT; t++)
        bytes += v->t[t].len;
    TG_STAT_INC(w->st.spill_batches);
    TG_STAT_ADD(w->st.spill_rows, v->rows);
    TG_STAT_ADD(w->st.spill_bytes, bytes);
    return 0;
}

static int parse_record(const uint8_t *p, size_t len, batch_view_t *v)
{
    uint32_t hdr[2 + 2 * STORE_PG_T_COUNT];
    if (len < sizeof hdr)
        return -EINVAL;
    memcpy(hdr, p, sizeof hdr);
    if (hdr[0] != REC_FORMAT || hdr[1] > DAYS_MAX)
        return -EINVAL;
    size_t off = sizeof hdr + hdr[1] * sizeof(int64_t);
    if (off > len || ((uintptr_t)(p + sizeof hdr) & 7))
        return -EINVAL;
    v->days = (const int64_t *)(const void *)(p + sizeof hdr);
    v->ndays = hdr[1];
    v->rows = 0;
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        v->t[t].rows = hdr[2 + t];
        v->t[t].len = hdr[2 + STORE_PG_T_COUNT + t];
        if (v->t[t].len > len - off)
            return -EINVAL;
        v->t[t].p = p + off;
        off += v->t[t].len;
        v->rows += v->t[t].rows;
    }
    return off == len ? 0 : -EINVAL;
}

static void reject_record(store_pg_t *w, const uint8_t *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/rejected.bin", w->spill_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        uint32_t n = (uint32_t)len;
        if (write(fd, &n, 4) != 4 || write(fd, p, len) != (ssize_t)len)
            logf_(w, STORE_PG_LOG_ERROR, "pg writer: cannot save rejected record to %s", path);
        fsync(fd);
        close(fd);
    }
    TG_STAT_INC(w->st.spill_rejected);
    logf_(w, STORE_PG_LOG_ERROR, "pg writer: journal record refused by PostgreSQL (%s); saved to %s",
          w->errstr, path);
}

/* Replay one journal record. @return 1 replayed/skipped, 0 empty, <0 failure (backing off). */
static int replay_one(store_pg_t *w)
{
    const uint8_t *p;
    size_t len;
    int rc = store_spill_peek(w->spill, &p, &len);
    const store_spill_stats_t *ss = store_spill_stats(w->spill);
    TG_STAT_SET(w->st.spill_corrupt, TG_STAT_GET(ss->corrupt));
    if (rc == -ENOENT)
        return 0;
    if (rc == TG_ESPILL) {
        set_err(w, TG_ESPILL, "journal", "damaged record detected and skipped (not replayed)");
        logf_(w, STORE_PG_LOG_ERROR, "pg writer: %s", w->errstr);
        return 1;
    }
    if (rc < 0) {
        set_err(w, TG_ESPILL, "journal read", tg_strerror(rc));
        backoff(w);
        return rc;
    }
    batch_view_t v;
    fail_class_t f = PGF_DATA;
    if (parse_record(p, len, &v) < 0)
        set_err(w, TG_ESPILL, "journal", "record with a valid crc but a bad layout");
    else
        f = commit_batch(w, &v);
    if (f == PGF_OK || f == PGF_DATA) {
        if (f == PGF_DATA)
            reject_record(w, p, len);
        else {
            TG_STAT_INC(w->st.replay_batches);
            TG_STAT_ADD(w->st.replay_rows, v.rows);
        }
        rc = store_spill_advance(w->spill);
        TG_STAT_SET(w->st.spill_pending_records, TG_STAT_GET(ss->pending_records));
        TG_STAT_SET(w->st.spill_pending_bytes, TG_STAT_GET(ss->pending_bytes));
        return rc < 0 ? rc : 1;
    }
    after_failure(w, f, "journal replay");
    return -1;
}

int store_pg_replay(store_pg_t *w)
{
    int n = 0;
    while (w->spill && w->conn && store_spill_pending(w->spill)) {
        int rc = replay_one(w);
        if (rc <= 0)
            return n ? n : rc;
        n++;
    }
    /* let the journal drop its consumed segment */
    if (w->spill && !store_spill_pending(w->spill)) {
        const uint8_t *p;
        size_t len;
        store_spill_peek(w->spill, &p, &len);
    }
    return n;
}

/* ---- batch flush ---- */

static void account_latency(store_pg_t *w)
{
    int64_t now = tg_clock_mono_ns(), sum = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->rows; i++) {
        if (!w->mono[i])
            continue;
        int64_t d = now - w->mono[i];
        sum += d;
        n++;
        TG_STAT_INC(w->st.e2e_hist[hist_bucket(d)]);
    }
    TG_STAT_ADD(w->st.e2e_ns_sum, sum);
    TG_STAT_ADD(w->st.e2e_count, n);
}

int store_pg_flush(store_pg_t *w)
{
    if (!w->conn && may_try(w) && store_pg_connect(w) < 0) {
        logf_(w, STORE_PG_LOG_WARN, "pg writer: %s", w->errstr);
        backoff(w);
    }
    if (w->conn && may_try(w))
        store_pg_replay(w);
    if (!w->rows)
        return 0;
    batch_view_t v;
    batch_view_cur(w, &v);
    bool journal_busy = w->spill && store_spill_pending(w->spill);
    if (w->conn && !journal_busy && may_try(w)) {
        fail_class_t f = commit_batch(w, &v);
        if (f == PGF_OK) {
            account_latency(w);
            batch_clear(w);
            w->held = false;
            return 0;
        }
        after_failure(w, f, "batch");
    }
    if (spill_batch(w, &v) == 0) {
        batch_clear(w);
        w->held = false;
        return 0;
    }
    if (!w->held) {
        TG_STAT_INC(w->st.blocked);
        logf_(w, STORE_PG_LOG_ERROR,
              "pg writer: batch of %u rows held (%s); not draining the ring until it is stored",
              w->rows, w->spill ? "journal full" : "server down, no journal");
    }
    w->held = true;
    if (w->next_try <= tg_clock_mono_ns())
        backoff(w);
    return w->err ? w->err : TG_EPG;
}

/* ---- thread ---- */

static uint32_t drain(store_pg_t *w)
{
    tg_ring_t *ring = w->cfg.ring;
    uint32_t done = 0;
    while (!w->held) {
        uint32_t n;
        const book_out_t *p = tg_ring_spsc_peek(ring, &n);
        if (!n)
            break;
        uint32_t k = 0;
        int full = 0;
        while (k < n && !full) {
            full = store_pg_push(w, &p[k]);
            if (full < 0) { /* out of memory: keep the record, flush what we have */
                full = 1;
                break;
            }
            k++;
        }
        tg_ring_spsc_release(ring, k);
        done += k;
        if (full)
            store_pg_flush(w);
    }
    TG_STAT_SET(w->st.ring_depth, tg_ring_count(ring));
    return done;
}

static void *writer_main(void *arg)
{
    store_pg_t *w = arg;
    int64_t stop_at = 0;
    for (;;) {
        /* A1: pairs with R1 in store_pg_stop(). */
        int stop = atomic_load_explicit(&w->stop, memory_order_acquire);
        int64_t now = tg_clock_mono_ns();
        bool worked = false;
        if (stop && !stop_at)
            stop_at = now + (int64_t)w->cfg.stop_timeout_ms * TG_NS_PER_MS;
        if (!w->conn && now >= w->next_try) {
            if (store_pg_connect(w) < 0) {
                logf_(w, STORE_PG_LOG_WARN, "pg writer: %s", w->errstr);
                backoff(w);
            } else {
                logf_(w, STORE_PG_LOG_INFO, "pg writer: connected");
            }
        }
        if (w->conn && now >= w->next_try) {
            if (store_pg_day_of_ns(tg_clock_realtime_ns()) != w->ahead_day && ensure_ahead(w) < 0)
                after_failure(w, PQstatus(w->conn) == CONNECTION_BAD ? PGF_CONN : PGF_TRANSIENT,
                              "partitions ahead");
            else if (w->spill && store_spill_pending(w->spill) && replay_one(w) > 0)
                worked = true;
        }
        if (w->held && tg_clock_mono_ns() >= w->next_try)
            store_pg_flush(w);
        worked |= drain(w) > 0;
        now = tg_clock_mono_ns();
        bool ring_empty = tg_ring_count(w->cfg.ring) == 0;
        if (!w->held && w->rows &&
            (now - w->t0 >= (int64_t)w->cfg.batch_age_ms * TG_NS_PER_MS || (stop && ring_empty)))
            store_pg_flush(w);
        if (stop && ring_empty && !w->rows)
            break;
        if (stop && now >= stop_at) {
            uint64_t lost = w->rows + tg_ring_count(w->cfg.ring);
            TG_STAT_ADD(w->st.lost_at_stop, lost);
            logf_(w, STORE_PG_LOG_ERROR,
                  "pg writer: stop: %llu rows could be neither committed nor spilled: %s",
                  (unsigned long long)lost, w->errstr);
            break;
        }
        if (worked)
            continue;
        int64_t wait = 100 * TG_NS_PER_MS;
        if (w->rows && !w->held) {
            int64_t due = w->t0 + (int64_t)w->cfg.batch_age_ms * TG_NS_PER_MS - now;
            wait = due < wait ? due : wait;
        }
        if ((w->held || !w->conn) && w->next_try - now < wait)
            wait = w->next_try - now;
        if (wait <= 0)
            continue;
        tg_waiter_prepare(&w->waiter);
        if ((!w->held && tg_ring_count(w->cfg.ring)) ||
            atomic_load_explicit(&w->stop, memory_order_acquire) != stop) {
            tg_waiter_cancel(&w->waiter);
            continue;
        }
        tg_waiter_wait(&w->waiter, wait);
    }
    disconnect(w);
    return NULL;
}

int store_pg_start(store_pg_t *w)
{
    if (!w || !w->cfg.ring || w->started)
        return -EINVAL;
    w->sync = false;
    int rc = pthread_create(&w->thr, NULL, writer_main, w);
    if (rc)
        return -rc;
    w->started = true;
    return 0;
}

int store_pg_stop(store_pg_t *w)
{
    if (!w || !w->started)
        return 0;
    /* R1: publishes the stop request; pairs with A1 in writer_main(). */
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    tg_waiter_wake(&w->waiter);
    pthread_join(w->thr, NULL);
    w->started = false;
    w->sync = true;
    return 0;
}
