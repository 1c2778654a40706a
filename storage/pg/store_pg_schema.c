/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations and daily partitions of the PostgreSQL writer (store_pg_schema.h).
 *
 * Each migration is SQL text with "@S" standing for the (validated, never quoted) schema
 * name. store_pg_schema_migrate() runs, in one transaction: take the advisory lock keyed on
 * "tickgate:<schema>", CREATE SCHEMA / schema_version IF NOT EXISTS, read max(version), apply
 * the newer migrations, record them, COMMIT. A second process starting at the same time
 * waits on the lock, then finds the schema current and changes nothing.
 *
 * Event tables are PARTITION BY RANGE on their event time (trades/book_snapshots/gaps: ts,
 * candles: start_ts), one partition per UTC day named <table>_pYYYYMMDD. Every conflict key
 * (the unique indexes the writer's ON CONFLICT DO NOTHING relies on) includes the partition
 * key, as PostgreSQL requires.
 *
 * Every statement goes through store_pg_io_exec(): on the writer's connection each wait for
 * the server has the writer's deadline (store_pg_io.h); on a plain connection (tests, tools)
 * it is PQexec/PQexecParams.
 */
#include "storage/pg/store_pg_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "storage/pg/store_pg_io.h"

static const char *const table_names[STORE_PG_T_COUNT] = {"trades", "book_snapshots", "candles",
                                                          "gaps"};

const char *store_pg_schema_table(int t)
{
    return (t >= 0 && t < STORE_PG_T_COUNT) ? table_names[t] : "?";
}

typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration_t;

static const migration_t migrations[] = {
    {1, "instruments, trades, book_snapshots, candles, gaps (daily partitions), views",
     "CREATE TABLE @S.instruments ("
     " id bigint PRIMARY KEY, venue text NOT NULL, symbol text NOT NULL,"
     " px_scale smallint NOT NULL, sz_scale smallint NOT NULL,"
     " first_seen timestamptz NOT NULL DEFAULT now(), UNIQUE (venue, symbol));"
     "CREATE TABLE @S.trades ("
     " instr bigint NOT NULL, ts timestamptz NOT NULL, recv_ts timestamptz NOT NULL,"
     " trade_id bigint NOT NULL, seq bigint NOT NULL, side smallint NOT NULL,"
     " price numeric NOT NULL, size numeric NOT NULL) PARTITION BY RANGE (ts);"
     "CREATE UNIQUE INDEX trades_key ON @S.trades (instr, trade_id, ts);"
     "CREATE TABLE @S.book_snapshots ("
     " instr bigint NOT NULL, ts timestamptz NOT NULL, recv_ts timestamptz NOT NULL,"
     " seq bigint NOT NULL, generation bigint NOT NULL, state smallint NOT NULL,"
     " reason smallint NOT NULL, depth_bids integer NOT NULL, depth_asks integer NOT NULL,"
     " bid_px numeric[] NOT NULL, bid_sz numeric[] NOT NULL,"
     " ask_px numeric[] NOT NULL, ask_sz numeric[] NOT NULL) PARTITION BY RANGE (ts);"
     "CREATE UNIQUE INDEX book_snapshots_key ON @S.book_snapshots"
     " (instr, ts, recv_ts, reason, seq);"
     "CREATE TABLE @S.candles ("
     " instr bigint NOT NULL, interval interval NOT NULL, start_ts timestamptz NOT NULL,"
     " open numeric NOT NULL, high numeric NOT NULL, low numeric NOT NULL,"
     " close numeric NOT NULL, volume numeric NOT NULL, buy_volume numeric NOT NULL,"
     " sell_volume numeric NOT NULL, notional numeric NOT NULL, vwap numeric NOT NULL,"
     " trades integer NOT NULL, first_ts timestamptz, last_ts timestamptz,"
     " recv_ts timestamptz NOT NULL) PARTITION BY RANGE (start_ts);"
     "CREATE UNIQUE INDEX candles_key ON @S.candles (instr, interval, start_ts);"
     "CREATE TABLE @S.gaps ("
     " instr bigint NOT NULL, ts timestamptz NOT NULL, recv_ts timestamptz NOT NULL,"
     " seq_last bigint NOT NULL, seq_got bigint NOT NULL, generation bigint NOT NULL,"
     " state smallint NOT NULL, reason smallint NOT NULL) PARTITION BY RANGE (ts);"
     "CREATE UNIQUE INDEX gaps_key ON @S.gaps (instr, ts, recv_ts, state, reason);"
     "CREATE VIEW @S.trades_v AS SELECT i.venue, i.symbol, t.* FROM @S.trades t"
     " JOIN @S.instruments i ON i.id = t.instr;"
     "CREATE VIEW @S.book_snapshots_v AS SELECT i.venue, i.symbol, b.* FROM @S.book_snapshots b"
     " JOIN @S.instruments i ON i.id = b.instr;"
     "CREATE VIEW @S.candles_v AS SELECT i.venue, i.symbol, c.* FROM @S.candles c"
     " JOIN @S.instruments i ON i.id = c.instr;"
     "CREATE VIEW @S.gaps_v AS SELECT i.venue, i.symbol, g.* FROM @S.gaps g"
     " JOIN @S.instruments i ON i.id = g.instr;"},
    {2, "instances: the gateways that write into this schema",
     "CREATE TABLE @S.instances ("
     " name text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, version text NOT NULL,"
     " first_seen timestamptz NOT NULL DEFAULT now(),"
     " connected_at timestamptz NOT NULL DEFAULT now());"},
};

int store_pg_schema_check_name(const char *s)
{
    if (!s || !s[0] || strlen(s) > STORE_PG_SCHEMA_NAME_MAX)
        return TG_ECONFIG;
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return TG_ECONFIG;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return TG_ECONFIG;
    return 0;
}

/* Replace every "@S" in sql by schema; malloc'd result or NULL. */
static char *subst(const char *sql, const char *schema)
{
    size_t sl = strlen(schema), n = 0;
    for (const char *p = sql; (p = strstr(p, "@S")); p += 2)
        n++;
    size_t len = strlen(sql) + n * sl + 1;
    char *out = malloc(len), *o = out;
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        if (p[0] == '@' && p[1] == 'S') {
            memcpy(o, schema, sl);
            o += sl;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

static int pg_fail(PGconn *c, PGresult *r, const char *what, char *err, size_t errlen)
{
    if (err && errlen) {
        const char *m = r ? PQresultErrorMessage(r) : store_pg_io_error(c);
        if (!m || !m[0])
            m = store_pg_io_error(c);
        snprintf(err, errlen, "%s: %s", what, m);
        size_t l = strlen(err);
        while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
            err[--l] = 0;
    }
    PQclear(r);
    return TG_EPG;
}

/* Run sql expecting `want`; on failure roll back (best effort) and format the error. */
static int run(PGconn *c, const char *sql, ExecStatusType want, const char *what, char *err,
               size_t errlen)
{
    PGresult *r = store_pg_io_exec(c, sql, 0, NULL);
    if (PQresultStatus(r) != want) {
        int rc = pg_fail(c, r, what, err, errlen);
        if (PQtransactionStatus(c) == PQTRANS_INERROR || PQtransactionStatus(c) == PQTRANS_INTRANS)
            PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
        return rc;
    }
    PQclear(r);
    return 0;
}

static int lock(PGconn *c, const char *schema, char *err, size_t errlen)
{
    char key[96];
    snprintf(key, sizeof key, "tickgate:%s", schema);
    const char *pv[1] = {key};
    PGresult *r =
        store_pg_io_exec(c, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, pv);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pg_fail(c, r, "advisory lock", err, errlen);
        PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
        return rc;
    }
    PQclear(r);
    return 0;
}

int store_pg_schema_migrate(PGconn *c, const char *schema, int *version_out, char *err,
                            size_t errlen)
{
    if (store_pg_schema_check_name(schema) < 0) {
        snprintf(err, errlen, "invalid schema name (want [a-z_][a-z0-9_]*, <= 63 bytes)");
        return TG_ECONFIG;
    }
    char sql[512];
    int rc;
    if ((rc = run(c, "BEGIN", PGRES_COMMAND_OK, "BEGIN", err, errlen)) < 0)
        return rc;
    if ((rc = lock(c, schema, err, errlen)) < 0)
        return rc;
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA IF NOT EXISTS %s;"
             "CREATE TABLE IF NOT EXISTS %s.schema_version (version integer PRIMARY KEY,"
             " applied_at timestamptz NOT NULL DEFAULT now(), description text NOT NULL)",
             schema, schema);
    if ((rc = run(c, sql, PGRES_COMMAND_OK, "create schema", err, errlen)) < 0)
        return rc;
    snprintf(sql, sizeof sql, "SELECT coalesce(max(version), 0) FROM %s.schema_version", schema);
    PGresult *r = store_pg_io_exec(c, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = pg_fail(c, r, "read schema_version", err, errlen);
        PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
        return rc;
    }
    int have = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version_out)
        *version_out = have;
    if (have > STORE_PG_SCHEMA_VERSION) {
        snprintf(err, errlen, "schema %s is at version %d, newer than this build (%d)", schema,
                 have, STORE_PG_SCHEMA_VERSION);
        PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
        return TG_ECONFIG;
    }
    for (size_t i = 0; i < sizeof migrations / sizeof *migrations; i++) {
        const migration_t *m = &migrations[i];
        if (m->version <= have)
            continue;
        char *text = subst(m->sql, schema);
        if (!text) {
            PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
            return -ENOMEM;
        }
        char what[64];
        snprintf(what, sizeof what, "migration %d", m->version);
        rc = run(c, text, PGRES_COMMAND_OK, what, err, errlen);
        free(text);
        if (rc < 0)
            return rc;
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        const char *pv[2] = {v, m->description};
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.schema_version (version, description) VALUES ($1, $2)", schema);
        r = store_pg_io_exec(c, sql, 2, pv);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(c, r, "record migration", err, errlen);
            PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
            return rc;
        }
        PQclear(r);
    }
    return run(c, "COMMIT", PGRES_COMMAND_OK, "COMMIT migrations", err, errlen);
}

static void day_text(int64_t day, char *ymd, size_t n, char *iso, size_t m)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(ymd, n, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    snprintf(iso, m, "%04d-%02d-%02d 00:00:00+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int store_pg_schema_ensure_days(PGconn *c, const char *schema, int64_t first, int n, char *err,
                                size_t errlen)
{
    int rc;
    if (n <= 0)
        return 0;
    if ((rc = run(c, "BEGIN", PGRES_COMMAND_OK, "BEGIN", err, errlen)) < 0)
        return rc;
    if ((rc = lock(c, schema, err, errlen)) < 0)
        return rc;
    for (int64_t d = first; d < first + n; d++) {
        char ymd[48], from[64], to[64], sql[512];
        day_text(d + 1, ymd, sizeof ymd, to, sizeof to);
        day_text(d, ymd, sizeof ymd, from, sizeof from);
        for (int t = 0; t < STORE_PG_T_COUNT; t++) {
            snprintf(sql, sizeof sql,
                     "CREATE TABLE IF NOT EXISTS %s.%s_p%s PARTITION OF %s.%s"
                     " FOR VALUES FROM ('%s') TO ('%s')",
                     schema, table_names[t], ymd, schema, table_names[t], from, to);
            if ((rc = run(c, sql, PGRES_COMMAND_OK, "create partition", err, errlen)) < 0)
                return rc;
        }
    }
    return run(c, "COMMIT", PGRES_COMMAND_OK, "COMMIT partitions", err, errlen);
}

int store_pg_schema_put_instance(PGconn *c, const char *schema, const char *name, const char *host,
                                 const char *version, char *err, size_t errlen)
{
    char sql[512], pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    const char *pv[4] = {name, host, pid, version};
    snprintf(sql, sizeof sql,
             "INSERT INTO %s.instances (name, host, pid, version) VALUES ($1, $2, $3, $4)"
             " ON CONFLICT (name) DO UPDATE SET host = $2, pid = $3, version = $4,"
             " connected_at = now()",
             schema);
    PGresult *r = store_pg_io_exec(c, sql, 4, pv);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pg_fail(c, r, "register instance", err, errlen);
    PQclear(r);
    return 0;
}

/* Day number of a partition name "<table>_pYYYYMMDD"; -1 if it is not one of ours. */
static int64_t partition_day(const char *name, const char *table)
{
    size_t tl = strlen(table);
    if (strncmp(name, table, tl) != 0 || strncmp(name + tl, "_p", 2) != 0)
        return -1;
    const char *d = name + tl + 2;
    if (strlen(d) != 8 || strspn(d, "0123456789") != 8)
        return -1;
    struct tm tm = {0};
    tm.tm_year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0') - 1900;
    tm.tm_mon = (d[4] - '0') * 10 + (d[5] - '0') - 1;
    tm.tm_mday = (d[6] - '0') * 10 + (d[7] - '0');
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return -1;
    return (int64_t)timegm(&tm) / 86400;
}

int64_t store_pg_schema_partition_day(const char *name, int *table)
{
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        int64_t d = partition_day(name, table_names[t]);
        if (d >= 0) {
            if (table)
                *table = t;
            return d;
        }
    }
    return -1;
}

int store_pg_schema_retire_days(PGconn *c, const char *schema, int64_t keep_from, int detach,
                                int *retired, char *err, size_t errlen)
{
    int rc, n = 0;
    *retired = 0;
    if ((rc = run(c, "BEGIN", PGRES_COMMAND_OK, "BEGIN", err, errlen)) < 0)
        return rc;
    if ((rc = lock(c, schema, err, errlen)) < 0)
        return rc;
    const char *pv[1] = {schema};
    PGresult *r = store_pg_io_exec(
        c,
        "SELECT ch.relname::text, pa.relname::text FROM pg_inherits i"
        " JOIN pg_class ch ON ch.oid = i.inhrelid JOIN pg_class pa ON pa.oid = i.inhparent"
        " JOIN pg_namespace ns ON ns.oid = pa.relnamespace WHERE ns.nspname = $1"
        " ORDER BY 1",
        1, pv);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(c, r, "list partitions", err, errlen);
        PQclear(store_pg_io_exec(c, "ROLLBACK", 0, NULL));
        return rc;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *child = PQgetvalue(r, i, 0), *parent = PQgetvalue(r, i, 1);
        int t;
        int64_t d = store_pg_schema_partition_day(child, &t);
        /* only our own daily partitions of our own four tables, attached to their table */
        if (d < 0 || d >= keep_from || strcmp(parent, table_names[t]) != 0)
            continue;
        char sql[384];
        if (detach) /* renamed, so that a late row for that day gets a new partition */
            snprintf(sql, sizeof sql,
                     "ALTER TABLE %s.%s DETACH PARTITION %s.%s;"
                     " ALTER TABLE %s.%s RENAME TO %s_detached",
                     schema, parent, schema, child, schema, child, child);
        else
            snprintf(sql, sizeof sql, "DROP TABLE %s.%s", schema, child);
        if ((rc = run(c, sql, PGRES_COMMAND_OK, detach ? "detach partition" : "drop partition", err,
                      errlen)) < 0) {
            PQclear(r);
            return rc;
        }
        n++;
    }
    PQclear(r);
    if ((rc = run(c, "COMMIT", PGRES_COMMAND_OK, "COMMIT retention", err, errlen)) < 0)
        return rc;
    *retired = n;
    return 0;
}

int store_pg_schema_drop(PGconn *c, const char *schema, char *err, size_t errlen)
{
    if (store_pg_schema_check_name(schema) < 0)
        return TG_ECONFIG;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    return run(c, sql, PGRES_COMMAND_OK, "drop schema", err, errlen);
}

int64_t store_pg_schema_instr_id(const char *venue, const char *symbol)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = venue; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    h = (h ^ 0) * 0x100000001b3ull;
    for (const char *p = symbol; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return (int64_t)(h & 0x7fffffffffffffffull);
}

int store_pg_schema_put_instr(PGconn *c, const char *schema, int64_t id, const char *venue,
                              const char *symbol, int px_scale, int sz_scale, char *err,
                              size_t errlen)
{
    char sql[512], ids[24], px[8], sz[8];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(px, sizeof px, "%d", px_scale);
    snprintf(sz, sizeof sz, "%d", sz_scale);
    const char *pv[5] = {ids, venue, symbol, px, sz};
    snprintf(sql, sizeof sql,
             "WITH ins AS (INSERT INTO %s.instruments (id, venue, symbol, px_scale, sz_scale)"
             " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id)"
             " SELECT venue = $2 AND symbol = $3 FROM %s.instruments WHERE id = $1"
             " UNION ALL SELECT true FROM ins",
             schema, schema);
    PGresult *r = store_pg_io_exec(c, sql, 5, pv);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(c, r, "register instrument", err, errlen);
    int ok = 1;
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), "t") != 0)
            ok = 0;
    if (PQntuples(r) == 0) /* (venue, symbol) exists under another id: impossible by hash */
        ok = 0;
    PQclear(r);
    if (!ok) {
        snprintf(err, errlen, "instrument id %lld of %s/%s collides with another instrument",
                 (long long)id, venue, symbol);
        return TG_ECONFIG;
    }
    return 0;
}

long store_pg_schema_last_trades(PGconn *c, const char *schema, const int64_t *ids,
                                 const uint8_t *by_ts, uint32_t n, uint32_t max_age_s,
                                 uint64_t *out, int64_t *out_ts, char *err, size_t errlen)
{
    memset(out, 0, n * sizeof(*out));
    if (out_ts)
        memset(out_ts, 0, n * sizeof(*out_ts));
    if (n == 0)
        return 0;
    size_t cap = (size_t)n * 21 + 3, len = 0, blen = 0;
    char *arr = malloc(cap), *bts = malloc((size_t)n * 2 + 3), sql[1280], age[16];
    if (!arr || !bts) {
        free(arr);
        free(bts);
        snprintf(err, errlen, "out of memory");
        return TG_EPG;
    }
    arr[len++] = '{';
    bts[blen++] = '{';
    for (uint32_t i = 0; i < n; i++) {
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
        if (i)
            bts[blen++] = ',';
        bts[blen++] = by_ts && by_ts[i] && out_ts ? 't' : 'f';
    }
    arr[len++] = '}';
    arr[len] = '\0';
    bts[blen++] = '}';
    bts[blen] = '\0';
    snprintf(age, sizeof age, "%u", max_age_s);
    /* by id: one index probe per instrument, (instr, trade_id, ts) read backwards from its top
       id. By time (no (instr, ts) index): ts > now() - age keeps the partitions of those days
       alone (pruned at executor start: now() is stable), the instrument's rows there read by
       the index's first column; the stored microsecond (the writer floors ns to us) as ns.
       CASE runs only the subquery of the instrument's kind. */
    snprintf(sql, sizeof sql,
             "SELECT k.i, CASE WHEN NOT k.bt THEN (SELECT max(t.trade_id) FROM %s.trades t"
             " WHERE t.instr = k.id AND t.trade_id > 0"
             " AND t.recv_ts > now() - make_interval(secs => $2::int)) END,"
             " CASE WHEN k.bt THEN (SELECT (extract(epoch FROM max(t.ts)) * 1000000)::bigint"
             " FROM %s.trades t WHERE t.instr = k.id"
             " AND t.ts > now() - make_interval(secs => $2::int)"
             " AND t.recv_ts > now() - make_interval(secs => $2::int)) END"
             " FROM unnest($1::bigint[], $3::bool[]) WITH ORDINALITY AS k(id, bt, i)",
             schema, schema);
    const char *pv[3] = {arr, age, bts};
    PGresult *r = store_pg_io_exec(c, sql, 3, pv);
    free(arr);
    free(bts);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(c, r, "read the last stored trades", err, errlen);
    long found = 0;
    for (int j = 0; j < PQntuples(r); j++) {
        unsigned long long i = strtoull(PQgetvalue(r, j, 0), NULL, 10);
        if (i < 1 || i > n)
            continue;
        if (!PQgetisnull(r, j, 1))
            out[i - 1] = strtoull(PQgetvalue(r, j, 1), NULL, 10);
        long long us = PQgetisnull(r, j, 2) ? 0 : strtoll(PQgetvalue(r, j, 2), NULL, 10);
        if (out_ts && us > 0 && us < INT64_MAX / 1000)
            out_ts[i - 1] = us * 1000;
        found += out[i - 1] != 0 || (out_ts && out_ts[i - 1] != 0);
    }
    PQclear(r);
    return found;
}
