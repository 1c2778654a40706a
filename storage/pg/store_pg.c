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
 * There are two batches: `cur` fills from the ring; when it closes it becomes `out` and is
 * committed, and while the writer waits for the server's answer (after each COPY's end,
 * after INSERT/COMMIT) it keeps moving ring records into the new `cur`, so client encoding
 * overlaps the server's work and the builder is not stalled by the commit round trips.
 * A batch closes at batch_rows rows or batch_age_ms after its first row, then:
 *  - if the journal holds records, the batch is appended to it (order is kept: records are
 *    replayed oldest first, and new batches queue behind them until the journal is empty);
 *  - else if connected and not backing off, it is committed in one transaction: BEGIN; per
 *    table COPY (optimistic) or COPY into a temp staging table + INSERT ... ON CONFLICT DO
 *    NOTHING (staged); COMMIT. An optimistic batch that hits a unique key is rolled back and
 *    redone staged. statement_timeout = commit_timeout_ms bounds every statement, so a lock
 *    or an overloaded server turns into a timeout, not a stall; and every wait for the
 *    server (connect, send, each answer) has a client-side deadline, io_timeout_ms
 *    (store_pg_io.h), so a server that hangs instead of answering is dropped (PGF_HUNG) and
 *    the batch spilled. While the writer waits, the connection's idle hook
 *    (store_pg__overlap) keeps moving ring records into `cur`, and appends `cur` to the
 *    journal when it is full and the ring half full: a slow server never stalls the builder;
 *  - on failure (connection lost, timeout) or when down, the batch is appended to the
 *    journal (fdatasync'd) and the writer backs off (jittered exponential) before it tries
 *    the server again; the journal cursor advances only after the replayed batch committed.
 *  - if the journal is full or disabled, the batch is held: the ring is not drained any more
 *    (backpressure to the builder), `blocked` counts the episode, the log says so.
 * Idempotence: every table has a unique natural key (docs/schema.md), so a batch committed
 * twice (commit acknowledged but the ack lost, crash between commit and journal advance)
 * stores its rows once.
 * Shutdown: store_pg_stop() stops the worker (tg_worker.h: the stop flag's release WK_R1
 * pairs with the loop's acquire WK_A1) and wakes the waiter; the thread drains the ring,
 * commits or spills the last batch, and exits. The server gets the first half of
 * stop_timeout_ms (store_pg__past_cutoff); after that no wait for it starts or goes on, and
 * everything left goes to the journal, so stop is bounded whatever the server does.
 * /health: the writer copies its last connection error under hmu (store_pg_health()). The thread is
 * a tg_worker named "writer:pg"; connect/push/flush/replay assert (debug builds) that the caller
 * owns the writer. Files by role, called only downwards: this file (lifecycle and loop) ->
 * store_pg_copy.c (COPY/commit) -> store_pg_batch.c (encoding, the batch, ring -> batch).
 */
#include "storage/pg/store_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "book/tg_rng.h"
#include "storage/pg/store_pg_int.h"

/* ---- small helpers ---- */

static uint32_t jitter(store_pg_t *w, uint32_t ms)
{
    return ms / 2 + (uint32_t)(tg_rng_xorshift64(&w->rng) % (ms / 2 + 1));
}

static void backoff(store_pg_t *w)
{
    w->next_try = tg_clock_mono_ns() + (int64_t)jitter(w, w->backoff_ms) * TG_NS_PER_MS;
    w->backoff_ms =
        w->backoff_ms * 2 > w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms : w->backoff_ms * 2;
}

static bool may_try(const store_pg_t *w)
{
    return w->sync || tg_clock_mono_ns() >= w->next_try;
}

/* The /health reason ("" while healthy), for any thread to read. */
static void set_reason(store_pg_t *w, const char *why)
{
    pthread_mutex_lock(&w->hmu);
    snprintf(w->hreason, sizeof w->hreason, "%s", why);
    pthread_mutex_unlock(&w->hmu);
}

static void disconnect(store_pg_t *w)
{
    if (w->conn)
        PQfinish(w->conn); /* non-blocking: its goodbye never waits for a hung server */
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
    c->io_timeout_ms = 5000;
    c->commit_timeout_ms = 0; /* 3/4 of io_timeout_ms */
    c->backoff_min_ms = 100;
    c->backoff_max_ms = 5000;
    c->partitions_ahead = 2;
    c->stop_timeout_ms = 10000;
    c->dedup = STORE_PG_DEDUP_OPTIMISTIC;
    c->spill_max_bytes = 1ull << 30;
    c->spill_segment_bytes = 64ull << 20;
    c->spill_fsync = 1;
}

static void writer_main(void *arg);

int store_pg_create(store_pg_t **out, const store_pg_cfg_t *cfg)
{
    if (!out || !cfg || !cfg->conninfo || !cfg->batch_rows || !cfg->batch_age_ms)
        return TG_ECONFIG;
    uint32_t io_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : 5000;
    if (cfg->commit_timeout_ms >= io_ms)
        return TG_ECONFIG; /* the server's own timeout must answer before the client gives up */
    if (store_pg_schema_check_name(cfg->schema) < 0)
        return TG_ECONFIG;
    store_pg_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    int rc = -ENOMEM;
    w->cfg = *cfg;
    w->cfg.io_timeout_ms = io_ms;
    if (!w->cfg.commit_timeout_ms)
        w->cfg.commit_timeout_ms = io_ms - io_ms / 4 ? io_ms - io_ms / 4 : 1;
    w->io.timeout_ns = (int64_t)io_ms * TG_NS_PER_MS;
    w->io.idle = store_pg__overlap;
    w->io.arg = w;
    pthread_mutex_init(&w->hmu, NULL);
    snprintf(w->hreason, sizeof w->hreason, "not connected yet");
    if (!w->cfg.backoff_min_ms)
        w->cfg.backoff_min_ms = 100;
    if (w->cfg.backoff_max_ms < w->cfg.backoff_min_ms)
        w->cfg.backoff_max_ms = w->cfg.backoff_min_ms;
    w->backoff_ms = w->cfg.backoff_min_ms;
    w->rng = (uint64_t)tg_clock_mono_ns() | 1;
    w->sync = true;
    w->cur = &w->bat[0];
    w->out = &w->bat[1];
    tg_worker_cfg_t wc = {.name = "writer:pg", .main = writer_main, .arg = w, .waiter = &w->waiter};
    if ((rc = tg_worker_init(&w->wk, &wc)) < 0)
        goto fail;
    rc = -ENOMEM;
    snprintf(w->schema, sizeof w->schema, "%s", cfg->schema);
    snprintf(w->instance, sizeof w->instance, "%s", cfg->instance ? cfg->instance : "tickgate");
    snprintf(w->version, sizeof w->version, "%s", cfg->version ? cfg->version : "");
    w->cfg.instance = w->instance;
    w->cfg.version = w->version;
    if (!(w->conninfo = strdup(cfg->conninfo)))
        goto fail;
    w->cfg.conninfo = w->conninfo;
    w->cfg.schema = w->schema;
    for (int k = 0; k < 2; k++) {
        store_pg__batch_clear(&w->bat[k]);
        if (!(w->bat[k].mono = malloc(((size_t)cfg->batch_rows + 1) * sizeof(int64_t))))
            goto fail;
    }
    if (cfg->reg) {
        w->nids = tg_instr_reg_count(cfg->reg);
        if (!(w->ids = calloc(w->nids ? w->nids : 1, sizeof *w->ids)))
            goto fail;
        for (uint32_t i = 0; i < w->nids; i++) {
            const tg_instr_t *in = tg_instr_reg_get(cfg->reg, i);
            if (in)
                w->ids[i] = store_pg_schema_instr_id(in->venue, in->symbol);
        }
        if (cfg->book_interval_ms &&
            (!(w->book_last = calloc(w->nids ? w->nids : 1, sizeof *w->book_last)) ||
             !(w->book_dirty = calloc(w->nids ? w->nids : 1, 1))))
            goto fail;
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
            store_pg__set_err(w, TG_ESPILL, "spill", e);
            tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR, "pg writer: %s", e);
            rc = TG_ESPILL;
            goto fail;
        }
        const store_spill_stats_t *ss = store_spill_stats(w->spill);
        TG_STAT_SET(w->st.spill_pending_records, TG_STAT_GET(ss->pending_records));
        TG_STAT_SET(w->st.spill_pending_bytes, TG_STAT_GET(ss->pending_bytes));
        TG_STAT_SET(w->st.spill_torn, TG_STAT_GET(ss->torn_tails));
        TG_STAT_SET(w->st.spill_torn_bytes, TG_STAT_GET(ss->torn_tail_bytes));
        uint64_t torn = TG_STAT_GET(ss->torn_tail_bytes), left = TG_STAT_GET(ss->pending_records);
        if (torn || left)
            tg_logf(w->cfg.log, w->cfg.log_ud, torn ? TG_LOG_ERROR : TG_LOG_WARN,
                    "pg writer: journal %s holds %llu records (%llu bytes) from before, replayed "
                    "once PostgreSQL takes them; torn tail cut: %llu bytes%s",
                    w->spill_dir, (unsigned long long)left,
                    (unsigned long long)TG_STAT_GET(ss->pending_bytes), (unsigned long long)torn,
                    torn ? " (a crash during an append: that batch was never acknowledged, its "
                           "rows are lost)"
                         : "");
    }
    tg_waiter_init(&w->waiter);
    if (cfg->ring)
        tg_ring_set_waiter(cfg->ring, &w->waiter);
    *out = w;
    return 0;
fail:
    store_pg_destroy(&w);
    return rc;
}

void store_pg_destroy(store_pg_t **wp)
{
    store_pg_t *w = tg_own_take(wp);
    if (!w)
        return;
    store_pg_stop(w);
    disconnect(w);
    store_spill_close(&w->spill);
    for (int k = 0; k < 2; k++) {
        for (int t = 0; t < STORE_PG_T_COUNT; t++)
            store_pg_buf_free(&w->bat[k].tb[t]);
        free(w->bat[k].mono);
    }
    free(w->ids);
    free(w->book_last);
    free(w->book_dirty);
    free(w->conninfo);
    free(w->spill_dir);
    pthread_mutex_destroy(&w->hmu);
    free(w);
}

int store_pg_health(store_pg_t *w, char *reason, size_t cap)
{
    pthread_mutex_lock(&w->hmu);
    snprintf(reason, cap, "%s", w->hreason);
    pthread_mutex_unlock(&w->hmu);
    return TG_STAT_GET(w->st.connected) != 0;
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
    PGresult *r = store_pg_io_exec(w->conn, sql, 0, NULL);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        store_pg__set_err(w, TG_EPG, what,
                          r ? PQresultErrorMessage(r) : store_pg_io_error(w->conn));
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
        store_pg__set_err(w, rc, "partitions", e);
        return rc;
    }
    if (w->cfg.retention_days) {
        int64_t keep_from = today - (int64_t)w->cfg.retention_days;
        int retired;
        rc = store_pg_schema_retire_days(w->conn, w->schema, keep_from, w->cfg.retention_detach,
                                         &retired, e, sizeof e);
        if (rc < 0) {
            store_pg__set_err(w, rc, "retention", e);
            return rc;
        }
        if (retired) {
            TG_STAT_ADD(w->st.partitions_retired, retired);
            time_t t = (time_t)(keep_from * 86400);
            struct tm tm;
            gmtime_r(&t, &tm);
            tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_INFO,
                    "pg writer: retention_days=%u: %s %d day partitions before %04d-%02d-%02d",
                    w->cfg.retention_days, w->cfg.retention_detach ? "detached" : "dropped",
                    retired, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
            w->nknown = 0; /* a retired day comes back only through PGF_PARTITION */
        }
    }
    for (int64_t d = today - 1; d < today - 1 + n; d++)
        store_pg__add_known(w, d);
    w->ahead_day = today;
    return 0;
}

long store_pg_last_trades(store_pg_t *w, const uint8_t *by_ts, uint64_t *out, int64_t *out_ts,
                          uint32_t max_age_s, char *err, size_t errlen)
{
    TG_ASSERT_OWNER(&w->wk);
    if (!w->conn) {
        snprintf(err, errlen, "not connected");
        memset(out, 0, w->nids * sizeof(*out));
        memset(out_ts, 0, w->nids * sizeof(*out_ts));
        return -ENOTCONN;
    }
    /* w->ids: the registry's instrument ids, computed at create */
    return store_pg_schema_last_trades(w->conn, w->schema, w->ids, by_ts, w->nids, max_age_s, out,
                                       out_ts, err, errlen);
}

int store_pg_connect(store_pg_t *w)
{
    TG_ASSERT_OWNER(&w->wk);
    char tut[16];
    /* Every wait has the client deadline io_timeout_ms (store_pg_io.h: a stopped server
     * behind a live kernel is only caught there); tcp_user_timeout also fails a connection
     * whose peer stops acknowledging (ms; libpq >= 12). Keys after dbname override the
     * conninfo's; libpq's connect_timeout is not used by non-blocking connects. */
    snprintf(tut, sizeof tut, "%u", w->cfg.io_timeout_ms * 2 + 1000);
    const char *keys[] = {
        "application_name", "keepalives",       "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    char app[96]; /* pg_stat_activity tells a fleet's writers apart */
    snprintf(app, sizeof app, "tickgate-writer:%s", w->instance);
    const char *vals[] = {app, "1", "10", "5", "3", tut, w->conninfo, NULL};
    disconnect(w);
    bool refused;
    char ce[512];
    PGconn *c = store_pg_io_connect(keys, vals, &w->io, &refused, ce, sizeof ce);
    if (!c) {
        store_pg__set_err(w, TG_EPG, "connect", ce);
        if (w->io.timed_out)
            TG_STAT_INC(w->st.io_timeouts);
        TG_STAT_INC(w->st.connect_failures);
        set_reason(w, w->errstr);
        return refused ? -EACCES : TG_EPG;
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
        store_pg__set_err(w, rc, "migrate", e);
        goto fail;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    rc = store_pg_schema_put_instance(c, w->schema, w->instance, host, w->version, e, sizeof e);
    if (rc < 0) {
        store_pg__set_err(w, rc, "instances", e);
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
                store_pg__set_err(w, rc, "instruments", e);
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
    set_reason(w, "");
    w->backoff_ms = w->cfg.backoff_min_ms;
    w->next_try = 0;
    return 0;
fail:
    if (w->io.timed_out)
        TG_STAT_INC(w->st.io_timeouts);
    TG_STAT_INC(w->st.connect_failures);
    set_reason(w, w->errstr);
    disconnect(w);
    return rc;
}

/* How a failure outside a batch (partitions ahead) leaves the connection. */
static fail_class_t conn_state(store_pg_t *w)
{
    if (w->io.timed_out)
        return PGF_HUNG;
    return PQstatus(w->conn) == CONNECTION_BAD ? PGF_CONN : PGF_TRANSIENT;
}

/* After a failed attempt: reconnect or back off. */
static void after_failure(store_pg_t *w, fail_class_t f, const char *what)
{
    if (f == PGF_HUNG)
        tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR,
                "pg writer: %s: %s; connection dropped, batches go to the journal, reconnecting "
                "in the background",
                what, w->errstr);
    else
        tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_WARN, "pg writer: %s failed: %s", what,
                w->errstr);
    if (f == PGF_CONN || f == PGF_HUNG) {
        disconnect(w);
        set_reason(w, w->errstr);
    }
    backoff(w);
}

/* ---- journal ---- */

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
            tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR,
                    "pg writer: cannot save rejected record to %s", path);
        fsync(fd);
        close(fd);
    }
    TG_STAT_INC(w->st.spill_rejected);
    tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR,
            "pg writer: journal record refused by PostgreSQL (%s); saved to %s", w->errstr, path);
}

/* Replay one journal record. @return 1 replayed/skipped, 0 empty, <0 failure (backing off). */
static int replay_one(store_pg_t *w)
{
    const uint8_t *p;
    size_t len;
    int rc = store_spill_peek(w->spill, &p, &len);
    const store_spill_stats_t *ss = store_spill_stats(w->spill);
    TG_STAT_SET(w->st.spill_corrupt, TG_STAT_GET(ss->corrupt));
    TG_STAT_SET(w->st.spill_corrupt_bytes, TG_STAT_GET(ss->corrupt_bytes));
    if (rc == -ENOENT)
        return 0;
    if (rc == TG_ESPILL) {
        char e[200];
        snprintf(e, sizeof e,
                 "damaged region skipped (not replayed): %llu damaged regions, %llu bytes so far;"
                 " %llu records remain",
                 (unsigned long long)TG_STAT_GET(ss->corrupt),
                 (unsigned long long)TG_STAT_GET(ss->corrupt_bytes),
                 (unsigned long long)TG_STAT_GET(ss->pending_records));
        store_pg__set_err(w, TG_ESPILL, "journal", e);
        tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR, "pg writer: %s", w->errstr);
        return 1;
    }
    if (rc < 0) {
        store_pg__set_err(w, TG_ESPILL, "journal read", tg_strerror(rc));
        backoff(w);
        return rc;
    }
    batch_view_t v;
    fail_class_t f = PGF_DATA;
    if (parse_record(p, len, &v) < 0)
        store_pg__set_err(w, TG_ESPILL, "journal", "record with a valid crc but a bad layout");
    else
        f = store_pg__commit(w, &v);
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
    TG_ASSERT_OWNER(&w->wk);
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

int store_pg_flush(store_pg_t *w)
{
    TG_ASSERT_OWNER(&w->wk);
    bool server = !store_pg__past_cutoff(w); /* stopping and out of time: journal only */
    if (server && !w->conn && may_try(w) && store_pg_connect(w) < 0) {
        tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_WARN, "pg writer: %s", w->errstr);
        backoff(w);
    }
    if (server && w->conn && may_try(w))
        store_pg_replay(w);
    if (!w->out->rows) { /* nothing held: the filling batch goes out */
        if (!w->cur->rows)
            return 0;
        pg_batch_t *t = w->out;
        w->out = w->cur;
        w->cur = t;
    }
    pg_batch_t *b = w->out;
    batch_view_t v;
    store_pg__batch_view(b, &v);
    bool journal_busy = w->spill && store_spill_pending(w->spill);
    if (server && w->conn && !journal_busy && may_try(w) && !store_pg__past_cutoff(w)) {
        fail_class_t f = store_pg__commit(w, &v);
        if (f == PGF_OK) {
            store_pg__account_latency(w, b);
            store_pg__batch_clear(b);
            w->held = false;
            return 0;
        }
        after_failure(w, f, "batch");
    }
    if (store_pg__spill(w, &v) == 0) {
        store_pg__batch_clear(b);
        w->held = false;
        return 0;
    }
    if (!w->held) {
        TG_STAT_INC(w->st.blocked);
        tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR,
                "pg writer: batch of %u rows held (%s); not draining the ring until it is stored",
                b->rows, w->spill ? "journal full" : "server down, no journal");
    }
    w->held = true;
    if (w->next_try <= tg_clock_mono_ns())
        backoff(w);
    return w->err ? w->err : TG_EPG;
}

/* ---- thread ---- */

static uint32_t drain(store_pg_t *w)
{
    uint32_t done = 0;
    while (!w->held) {
        bool full;
        uint32_t n = store_pg__take(w, &full);
        done += n;
        if (!full)
            break;
        store_pg_flush(w);
    }
    TG_STAT_SET(w->st.ring_depth, tg_ring_count(w->cfg.ring));
    return done;
}

static void writer_main(void *arg)
{
    store_pg_t *w = arg;
    for (;;) {
        /* WK_A1 (tg_worker.h): pairs with WK_R1 in store_pg_stop() -> tg_worker_stop(). */
        bool stop = tg_worker_stopping(&w->wk);
        /* stopping: the server gets stop_timeout_ms / 2, the journal the rest */
        bool server = !store_pg__past_cutoff(w);
        int64_t now = tg_clock_mono_ns();
        bool worked = false;
        if (server && !w->conn && now >= w->next_try) {
            if (store_pg_connect(w) < 0) {
                tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_WARN, "pg writer: %s", w->errstr);
                backoff(w);
            } else {
                tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_INFO, "pg writer: connected");
            }
        }
        if (server && w->conn && now >= w->next_try) {
            if (store_pg_day_of_ns(tg_clock_realtime_ns()) != w->ahead_day && ensure_ahead(w) < 0)
                after_failure(w, conn_state(w), "partitions ahead");
            else if (w->spill && store_spill_pending(w->spill) && replay_one(w) > 0)
                worked = true;
        }
        if (w->held && tg_clock_mono_ns() >= w->next_try)
            store_pg_flush(w);
        worked |= drain(w) > 0;
        now = tg_clock_mono_ns();
        bool ring_empty = tg_ring_count(w->cfg.ring) == 0;
        if (!w->held && w->cur->rows &&
            (now - w->cur->t0 >= (int64_t)w->cfg.batch_age_ms * TG_NS_PER_MS ||
             (stop && ring_empty)))
            store_pg_flush(w);
        if (stop && ring_empty && !w->cur->rows && !w->out->rows)
            break;
        if (stop && w->stop_at && now >= w->stop_at) {
            uint64_t lost = w->cur->rows + w->out->rows + tg_ring_count(w->cfg.ring);
            TG_STAT_ADD(w->st.lost_at_stop, lost);
            tg_logf(w->cfg.log, w->cfg.log_ud, TG_LOG_ERROR,
                    "pg writer: stop: %llu rows could be neither committed nor spilled: %s",
                    (unsigned long long)lost, w->errstr);
            break;
        }
        if (worked)
            continue;
        int64_t wait = 100 * TG_NS_PER_MS;
        if (w->cur->rows && !w->held) {
            int64_t due = w->cur->t0 + (int64_t)w->cfg.batch_age_ms * TG_NS_PER_MS - now;
            wait = due < wait ? due : wait;
        }
        if ((w->held || !w->conn) && w->next_try - now < wait)
            wait = w->next_try - now;
        if (wait <= 0)
            continue;
        tg_waiter_prepare(&w->waiter);
        if ((!w->held && tg_ring_count(w->cfg.ring)) || tg_worker_stopping(&w->wk) != stop) {
            tg_waiter_cancel(&w->waiter);
            continue;
        }
        tg_waiter_wait(&w->waiter, wait);
    }
    disconnect(w);
}

int store_pg_start(store_pg_t *w)
{
    TG_CHECK_ARG(w, -EINVAL);
    if (!w->cfg.ring)
        return -EINVAL;
    if (tg_worker_running(&w->wk))
        return -EALREADY;
    w->sync = false;
    int rc = tg_worker_start(&w->wk);
    if (rc < 0)
        w->sync = true;
    return rc;
}

int store_pg_stop(store_pg_t *w)
{
    if (!w || !tg_worker_running(&w->wk))
        return 0;
    tg_worker_stop(&w->wk); /* WK_R1: the stop request; the loop sees it at WK_A1 */
    w->sync = true;
    return 0;
}
