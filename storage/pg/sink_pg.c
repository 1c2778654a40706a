/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL writer as a sink (storage/sink.h): its [postgres] keys, its life cycle, its
 * health and metrics. The writer itself is store_pg.h.
 * Thread: main (config, create, start, stop, destroy); any (health, progress).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "book/book_builder.h"
#include "book/tg_cfgkey.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"
#include "storage/sink.h"

/** [postgres] settings. */
typedef struct sink_pg_cfg {
    int enabled;
    char conninfo[1024];
    char schema[64];
    uint32_t batch_rows, batch_ms;
    char spill_dir[512];
    uint64_t spill_max_bytes;
    uint32_t io_timeout_ms;
    int required;
    uint32_t retention_days;
    int retention_detach;
    uint32_t book_interval_ms;
} sink_pg_cfg_t;

#define K(...) TG_CFGKEY_ROW(sink_pg_cfg_t, __VA_ARGS__)
static const tg_cfgkey_t pg_keys[] = {
    K("enabled", TG_CFG_BOOL, enabled, 0, 1, "true", "store into PostgreSQL"),
    K("conninfo", TG_CFG_STR, conninfo, 1, 0, "dbname=tickgate connect_timeout=5",
      "libpq connection string or URI, without a password (PGPASSWORD or ~/.pgpass)"),
    K("schema", TG_CFG_STR, schema, 1, 0, "tickgate", "schema of the tables, [a-z_][a-z0-9_]*"),
    K("batch_rows", TG_CFG_U32, batch_rows, 1, 10000000, "10000", "rows per COPY batch"),
    K("batch_ms", TG_CFG_U32, batch_ms, 1, 600000, "200",
      "a batch commits when its first row is this old (ms)"),
    K("spill_dir", TG_CFG_STR, spill_dir, 0, 0, "/var/lib/tickgate/spill",
      "journal directory while PostgreSQL is away (empty: block instead)"),
    K("spill_max_mb", TG_CFG_MB, spill_max_bytes, 1, 1048576, "1024", "journal size limit"),
    K("io_timeout_ms", TG_CFG_U32, io_timeout_ms, 100, 600000, "5000",
      "client deadline on every wait for the server (connect, send, each answer): a hung "
      "server is dropped after it, the batch spills, the writer reconnects in the background"),
    K("required", TG_CFG_BOOL, required, 0, 1, "false",
      "refuse to start while PostgreSQL is unreachable (default: start, spill, catch up)"),
    K("retention_days", TG_CFG_U32, retention_days, 0, 1000000, "0",
      "retire day partitions older than this many days before today, at connect and at each "
      "day change (0: keep everything)"),
    K("retention_detach", TG_CFG_BOOL, retention_detach, 0, 1, "false",
      "retired partitions are detached and kept as plain tables (default: dropped)"),
    K("book_interval_ms", TG_CFG_U32, book_interval_ms, 0, 86400000, "0",
      "at most one book snapshot row per instrument per this many ms; state changes always "
      "(0: every periodic snapshot that changed)"),
};
#undef K

/* "password" as a conninfo keyword or inside a URI's user info: refused, never stored. */
static bool has_password(const char *v)
{
    const char *at = strchr(v, '@'), *scheme = strstr(v, "://");
    if (scheme && at && memchr(scheme + 3, ':', (size_t)(at - scheme - 3)))
        return true; /* postgresql://user:pw@host */
    for (const char *p = v; (p = strcasestr(p, "password")) != NULL; p += 8) {
        bool start = p == v || isspace((unsigned char)p[-1]) || p[-1] == '?' || p[-1] == '&';
        const char *q = p + 8;
        while (isspace((unsigned char)*q))
            q++;
        if (start && *q == '=')
            return true;
    }
    return false;
}

static int pg_cfg_key(const char *key, const char *value, char *err, size_t cap)
{
    if (!strcmp(key, "conninfo") && has_password(value)) {
        snprintf(err, cap, "conninfo must not hold a password: use PGPASSWORD or ~/.pgpass");
        return TG_ECONFIG;
    }
    if (!strcmp(key, "schema") && store_pg_schema_check_name(value) < 0) {
        /* the same rule as at start (store_pg_schema_migrate): an unquoted identifier */
        snprintf(err, cap,
                 "schema '%s' is not a valid identifier: want [a-z_][a-z0-9_]*, at most %d "
                 "bytes (a letter or _ first, lower case)",
                 value, STORE_PG_SCHEMA_NAME_MAX);
        return TG_ECONFIG;
    }
    return 0;
}

static int pg_cfg_check(void *cfg, char *err, size_t cap)
{
    return 0;
}

static int pg_create(void **obj, const void *cfgv, const tg_sink_env_t *env, char *err, size_t cap)
{
    const sink_pg_cfg_t *c = cfgv;
    if (c->spill_dir[0] && tg_sink_mkdir_p(c->spill_dir) < 0) {
        int e = errno;
        snprintf(err, cap, "cannot create spill_dir %s: %s", c->spill_dir, strerror(e));
        return -e;
    }
    store_pg_cfg_t pc;
    store_pg_cfg_defaults(&pc);
    pc.conninfo = c->conninfo;
    pc.schema = c->schema;
    pc.batch_rows = c->batch_rows;
    pc.batch_age_ms = c->batch_ms;
    pc.spill_dir = c->spill_dir[0] ? c->spill_dir : NULL;
    pc.spill_max_bytes = c->spill_max_bytes;
    pc.io_timeout_ms = c->io_timeout_ms;
    pc.stop_timeout_ms = env->stop_timeout_ms;
    pc.retention_days = c->retention_days;
    pc.retention_detach = c->retention_detach;
    pc.book_interval_ms = c->book_interval_ms;
    pc.instance = env->instance;
    pc.version = env->version;
    TG_SINK_ENV_TO_CFG(pc, env);
    store_pg_t *w = NULL;
    int rc = store_pg_create(&w, &pc);
    if (rc < 0) {
        snprintf(err, cap, "cannot create the writer: %s", tg_strerror(rc));
        return rc;
    }
    if ((rc = store_pg_connect(w)) < 0) {
        /* bad settings (refused by the server: authentication, database, role; or a schema
         * this build cannot use) always stop the start; an outage only with required */
        if (rc == -EACCES || rc == TG_ECONFIG || c->required) {
            snprintf(err, cap, "cannot connect%s: %s",
                     rc == -EACCES ? " (refused by the server: check the settings)" : "",
                     store_pg_errstr(w));
            store_pg_destroy(&w);
            return rc;
        }
        tg_logf(env->log, env->lctx, TG_LOG_ERROR,
                "PostgreSQL unreachable at start-up: %s; starting anyway: %s until it is back,"
                " then caught up ([postgres] required = true refuses to start instead)",
                store_pg_errstr(w),
                c->spill_dir[0] ? "batches go to the spill journal"
                                : "NO spill_dir: the builder waits when the ring is full");
    }
    *obj = w;
    return 0;
}

static long pg_last_trades(void *obj, const uint8_t *by_ts, uint64_t *out, int64_t *out_ts,
                           uint32_t max_age_s, char *err, size_t cap)
{
    return store_pg_last_trades(obj, by_ts, out, out_ts, max_age_s, err, cap);
}

static int pg_start(void *obj)
{
    return store_pg_start(obj);
}

static long pg_stop(void *obj)
{
    store_pg_stop(obj);
    return (long)TG_STAT_GET(store_pg_stats(obj)->lost_at_stop);
}

static void pg_destroy(void **obj)
{
    store_pg_t *w = tg_own_take(obj);
    store_pg_destroy(&w);
}

static int pg_health(void *obj, char *buf, size_t cap)
{
    const store_pg_stats_t *s = store_pg_stats(obj);
    char why[256], esc[400];
    int up = store_pg_health(obj, why, sizeof why);
    size_t n = 0;
    for (const char *q = why; *q && n + 7 < sizeof esc; q++) { /* JSON string body */
        unsigned char ch = (unsigned char)*q;
        if (ch == '"' || ch == '\\')
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\%c", ch);
        else if (ch < 0x20)
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\u%04x", ch);
        else
            esc[n++] = (char)ch;
    }
    esc[n] = 0;
    snprintf(buf, cap,
             "\"connected\":%s,\"spill_pending_bytes\":%llu,\"spill_pending_records\":%llu,"
             "\"io_timeouts\":%llu,\"reason\":\"%s\"",
             up ? "true" : "false", (unsigned long long)TG_STAT_GET(s->spill_pending_bytes),
             (unsigned long long)TG_STAT_GET(s->spill_pending_records),
             (unsigned long long)TG_STAT_GET(s->io_timeouts), up ? "" : esc);
    return up;
}

static void pg_metrics(void *obj, const tg_sink_metrics_t *r)
{
    const store_pg_stats_t *s = store_pg_stats(obj);
    void *m = r->m;
    r->counter(m, "tickgate_pg_rows_committed_total", NULL, "Rows inserted into PostgreSQL.",
               &s->rows_committed);
    r->counter(m, "tickgate_pg_rows_duplicate_total", NULL, "Rows ignored as duplicates.",
               &s->rows_duplicate);
    static const char *const tables[4] = {"table=\"trades\"", "table=\"book_snapshots\"",
                                          "table=\"candles\"", "table=\"gaps\""};
    for (int i = 0; i < 4; i++)
        r->counter(m, "tickgate_pg_table_rows_total", tables[i], "New rows per table.",
                   &s->rows_table[i]);
    r->counter(m, "tickgate_pg_batches_total", NULL, "Committed batches.", &s->batches);
    r->counter(m, "tickgate_pg_books_thinned_total", NULL,
               "Book snapshots not stored: [postgres] book_interval_ms.", &s->books_thinned);
    r->counter(m, "tickgate_pg_partitions_retired_total", NULL,
               "Day partitions dropped or detached: [postgres] retention_days.",
               &s->partitions_retired);
    r->counter(m, "tickgate_pg_errors_total", NULL, "Failed batch attempts.", &s->errors);
    r->counter(m, "tickgate_pg_reconnects_total", NULL, "Reconnects.", &s->reconnects);
    r->counter(m, "tickgate_pg_io_timeouts_total", NULL,
               "Waits for PostgreSQL given up after io_timeout_ms (hung server: reconnect).",
               &s->io_timeouts);
    r->counter(m, "tickgate_pg_connect_failures_total", NULL, "Failed connection attempts.",
               &s->connect_failures);
    r->gauge(m, "tickgate_pg_connected", NULL, "1 while connected.", &s->connected);
    r->counter(m, "tickgate_spill_batches_total", NULL, "Batches written to the spill journal.",
               &s->spill_batches);
    r->counter(m, "tickgate_spill_replayed_total", NULL,
               "Journal records committed after PostgreSQL returned.", &s->replay_batches);
    r->gauge(m, "tickgate_spill_pending_bytes", NULL, "Bytes waiting in the journal.",
             &s->spill_pending_bytes);
    r->counter(m, "tickgate_spill_torn_total", NULL,
               "Torn journal tails cut at start-up (a crash during an append).", &s->spill_torn);
    r->counter(m, "tickgate_spill_torn_bytes_total", NULL, "Bytes of torn journal tails cut.",
               &s->spill_torn_bytes);
    r->counter(m, "tickgate_spill_corrupt_total", NULL,
               "Damaged journal regions skipped at replay (crc or layout).", &s->spill_corrupt);
    r->counter(m, "tickgate_spill_corrupt_bytes_total", NULL,
               "Bytes of damaged journal regions skipped.", &s->spill_corrupt_bytes);
    r->counter(m, "tickgate_spill_rejected_total", NULL,
               "Journal records PostgreSQL refused as bad data (saved to rejected.bin).",
               &s->spill_rejected);
    r->counter(m, "tickgate_spill_full_total", NULL,
               "Appends refused: journal full (the writer blocks).", &s->spill_full);
    r->hist(m, "tickgate_pg_commit_seconds", NULL, "Batch transaction time.", &s->commit_lat);
    r->hist(m, "tickgate_latency_receive_to_pg_seconds", NULL,
            "Receive (monotonic) to committed in PostgreSQL.", &s->e2e_lat);
}

static void pg_progress(void *obj, char *buf, size_t cap)
{
    const store_pg_stats_t *s = store_pg_stats(obj);
    snprintf(buf, cap, "pg_rows=%llu spill_bytes=%llu",
             (unsigned long long)TG_STAT_GET(s->rows_committed),
             (unsigned long long)TG_STAT_GET(s->spill_pending_bytes));
}

const tg_sink_ops_t tg_sink_postgres = {
    .name = "postgres",
    /* trades, closed candles, interval and state snapshots, gaps: history, not every change */
    .takes = BOOK_SINK_TRADE | BOOK_SINK_BOOK_INTERVAL | BOOK_SINK_BOOK_STATE |
             BOOK_SINK_CANDLE_CLOSED | BOOK_SINK_GAP | BOOK_SINK_TRADE_GAP,
    .lossless = true,
    .keys = pg_keys,
    .n_keys = sizeof(pg_keys) / sizeof(pg_keys[0]),
    .cfg_size = sizeof(sink_pg_cfg_t),
    .cfg_key = pg_cfg_key,
    .cfg_check = pg_cfg_check,
    .create = pg_create,
    .start = pg_start,
    .stop = pg_stop,
    .destroy = pg_destroy,
    .health = pg_health,
    .metrics = pg_metrics,
    .progress = pg_progress,
    .last_trades = pg_last_trades,
};
