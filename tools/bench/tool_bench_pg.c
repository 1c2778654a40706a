/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-pg: rows/s of the PostgreSQL writer (storage/store_pg.h) against raw libpq
 * binary COPY of the same rows into the same schema, measured in the same run.
 *
 *  - raw: the reference. Every row pre-encoded (outside the timing) into COPY BINARY tuples;
 *    timed: BEGIN; COPY trades FROM STDIN (FORMAT binary) with one PQputCopyData per batch of
 *    --batch rows; COMMIT, batch after batch on one connection. This is what libpq and the
 *    server can take with no work at all on the client.
 *  - raw + encoding: the same loop, but each batch is built from book_out_t records and
 *    encoded (same encoder) inside the timed loop, on the one thread: the plain way to do the
 *    writer's job, without ring, thread, journal or dedup.
 *  - writer: a producer thread builds book_out_t trades and pushes them into a tg_ring; the
 *    writer:pg thread drains, encodes and commits them (batches of --batch rows, one
 *    transaction each); timed from the first push until the writer's stats show every row
 *    committed. Optimistic dedup (plain COPY unless a unique key is hit) and staged dedup
 *    (COPY into a temp table + INSERT ... ON CONFLICT DO NOTHING) are both measured.
 * Two schemas: "unindexed" (the trades conflict-key index dropped: plain COPY cost) and
 * "indexed" (with the unique (instr, trade_id, ts) index the writer relies on). Each run uses
 * a fresh schema (same partitions, same empty tables), dropped afterwards. Variants are
 * interleaved run by run; figures are medians of --runs runs. Client CPU (getrusage of the
 * whole process: producer + writer + main) per row and the writer's receive->committed
 * latency quantiles (histogram bucket bounds) are means over the runs.
 *
 * Needs a server: tests/fixtures/services.sh run build/tools/bench/tickgate-bench-pg
 * Usage: tickgate-bench-pg [--rows N] [--runs R] [--batch B]   (exit 77 without TG_TEST_PG_DSN)
 *        tickgate-bench-pg --writers 1,2,4 [--rows N] ...: N writers (a fleet's gateways) at
 *        once into one schema on one server, each its own connection and disjoint trades.
 * Thread: main, plus one producer thread and the writer:pg thread per writer run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_enc.h"
#include "storage/pg/store_pg_schema.h"
#include "tools/bench/bench_stat.h"

static uint32_t g_rows = 200000, g_runs = 5, g_batch = 10000;
static const char *g_dsn;
static tg_instr_reg_t *g_reg;
static int64_t g_t0; /* event time base: today */

static book_out_t make_trade(uint32_t i)
{
    book_out_t r;
    memset(&r, 0, sizeof r);
    r.kind = BOOK_OUT_TRADE;
    r.instr = i & 1;
    r.ts_exch = g_t0 + (int64_t)i * 1000;
    r.ts_recv = r.ts_exch + 1500000;
    r.ts_mono = tg_clock_mono_ns();
    r.u.trade.price = 6183763 + (int64_t)(i % 5000);    /* px_scale 2: 61837.63 ... */
    r.u.trade.size = 1000 + (int64_t)(i % 100000) * 37; /* sz_scale 8 */
    r.u.trade.trade_id = 1000000 + i;
    r.u.trade.seq = i;
    r.u.trade.side = (uint8_t)(1 + (i & 1));
    return r;
}

static PGconn *conn(void)
{
    PGconn *c = PQconnectdb(g_dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(PQexec(c, "SET client_min_messages = warning; SET synchronous_commit = on"));
    return c;
}

static void must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        exit(1);
    }
    PQclear(r);
}

static void make_schema(PGconn *c, const char *schema, int indexed)
{
    char e[256], sql[256];
    store_pg_schema_drop(c, schema, e, sizeof e);
    if (store_pg_schema_migrate(c, schema, NULL, e, sizeof e) < 0 ||
        store_pg_schema_ensure_days(c, schema, store_pg_day_of_ns(g_t0) - 1, 3, e, sizeof e) < 0) {
        fprintf(stderr, "schema: %s\n", e);
        exit(1);
    }
    if (!indexed) {
        snprintf(sql, sizeof sql, "DROP INDEX %s.trades_key", schema);
        must(c, sql);
    }
}

static long long count_rows(PGconn *c, const char *schema)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades", schema);
    PGresult *r = PQexec(c, sql);
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

/* ---- raw reference ---- */

static store_pg_buf_t *g_raw; /* pre-encoded batches */
static uint32_t g_nraw;

static int64_t g_ids[2];

static void encode_one(store_pg_buf_t *b, uint32_t i)
{
    book_out_t r = make_trade(i);
    int64_t *ids = g_ids;
    store_pg_buf_reserve(b, 256);
    store_pg_put_i16(b, 8);
    store_pg_put_f_i64(b, ids[r.instr]);
    store_pg_put_f_ts(b, r.ts_exch);
    store_pg_put_f_ts(b, r.ts_recv);
    store_pg_put_f_i64(b, (int64_t)r.u.trade.trade_id);
    store_pg_put_f_i64(b, (int64_t)r.u.trade.seq);
    store_pg_put_f_i16(b, r.u.trade.side);
    store_pg_put_f_numeric(b, r.u.trade.price, 2);
    store_pg_put_f_numeric(b, r.u.trade.size, 8);
}

static void encode_raw(void)
{
    g_nraw = (g_rows + g_batch - 1) / g_batch;
    g_raw = calloc(g_nraw, sizeof *g_raw);
    g_ids[0] = store_pg_schema_instr_id("binance", "BTCUSDT");
    g_ids[1] = store_pg_schema_instr_id("okx", "ETH-USDT");
    for (uint32_t i = 0; i < g_rows; i++)
        encode_one(&g_raw[i / g_batch], i);
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double g_cpu_us; /* client CPU per row of the last run */

/* encode_inline: build and encode each batch inside the timed loop (same thread). */
static double run_raw(const char *schema, int encode_inline)
{
    PGconn *c = conn();
    store_pg_buf_t tmp = {0};
    char sql[128];
    snprintf(sql, sizeof sql, "COPY %s.trades FROM STDIN (FORMAT binary)", schema);
    double c0 = cpu_s();
    int64_t t0 = tg_clock_mono_ns();
    for (uint32_t k = 0; k < g_nraw; k++) {
        const store_pg_buf_t *src = &g_raw[k];
        if (encode_inline) {
            tmp.len = 0;
            for (uint32_t i = k * g_batch; i < g_rows && i < (k + 1) * g_batch; i++)
                encode_one(&tmp, i);
            src = &tmp;
        }
        must(c, "BEGIN");
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            fprintf(stderr, "COPY: %s", PQresultErrorMessage(r));
            exit(1);
        }
        PQclear(r);
        PQputCopyData(c, (const char *)store_pg_copy_header, sizeof store_pg_copy_header);
        PQputCopyData(c, (const char *)src->p, (int)src->len);
        PQputCopyData(c, (const char *)store_pg_copy_trailer, sizeof store_pg_copy_trailer);
        PQputCopyEnd(c, NULL);
        while ((r = PQgetResult(c))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "COPY end: %s", PQresultErrorMessage(r));
                exit(1);
            }
            PQclear(r);
        }
        must(c, "COMMIT");
    }
    double dt = (double)(tg_clock_mono_ns() - t0) / 1e9;
    g_cpu_us = (cpu_s() - c0) * 1e6 / g_rows;
    store_pg_buf_free(&tmp);
    if (count_rows(c, schema) != g_rows) {
        fprintf(stderr, "raw: row count mismatch\n");
        exit(1);
    }
    PQfinish(c);
    return g_rows / dt;
}

/* ---- writer ---- */

typedef struct prod {
    tg_ring_t *ring;
    uint32_t first, n; /* trades first .. first + n - 1 */
    uint32_t per_ms;   /* 0: as fast as the ring takes them */
} prod_t;

static void *producer(void *p)
{
    prod_t *pr = p;
    for (uint32_t i = 0; i < pr->n; i++) {
        if (pr->per_ms && i % pr->per_ms == 0 && i) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        book_out_t r = make_trade(pr->first + i);
        while (!tg_ring_spsc_push(pr->ring, &r)) { /* full: sleep, never spin against the server */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static double g_e2e_p50, g_e2e_p99;

/* The writer's configuration for this run: defaults, then server, schema, registry, batch. */
static store_pg_cfg_t bench_cfg(const char *conninfo, const char *schema)
{
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = conninfo;
    c.schema = schema;
    c.reg = g_reg;
    c.batch_rows = g_batch;
    return c;
}

#define WRITERS_MAX 16

/* nw writers (one gateway each, as in a fleet), each with its own ring, producer thread and
 * connection, on disjoint trades (n each), into the same schema at once; timed from the first
 * push until every writer's rows are committed. @return rows/s of them all together. */
static double run_writers(const char *schema, store_pg_dedup_t mode, uint32_t n, uint32_t per_ms,
                          uint32_t nw)
{
    tg_ring_t *ring[WRITERS_MAX] = {0};
    store_pg_t *w[WRITERS_MAX] = {0};
    prod_t pr[WRITERS_MAX];
    pthread_t th[WRITERS_MAX];
    for (uint32_t k = 0; k < nw; k++) {
        if (tg_ring_create(&ring[k], 8192, sizeof(book_out_t)) < 0)
            exit(1);
        store_pg_cfg_t c = bench_cfg(g_dsn, schema);
        c.ring = ring[k];
        c.dedup = mode;
        if (store_pg_create(&w[k], &c) < 0 || store_pg_connect(w[k]) < 0) {
            fprintf(stderr, "writer: %s\n", w[k] ? store_pg_errstr(w[k]) : "create");
            exit(1);
        }
        store_pg_start(w[k]);
        pr[k] = (prod_t){ring[k], k * n, n, per_ms};
    }
    double c0 = cpu_s();
    int64_t t0 = tg_clock_mono_ns();
    for (uint32_t k = 0; k < nw; k++)
        pthread_create(&th[k], NULL, producer, &pr[k]);
    for (uint32_t k = 0; k < nw; k++)
        while (TG_STAT_GET(store_pg_stats(w[k])->rows_committed) < n) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    double dt = (double)(tg_clock_mono_ns() - t0) / 1e9;
    g_cpu_us = (cpu_s() - c0) * 1e6 / ((double)n * nw);
    for (uint32_t k = 0; k < nw; k++) {
        pthread_join(th[k], NULL);
        store_pg_stop(w[k]);
        const store_pg_stats_t *st = store_pg_stats(w[k]);
        if (TG_STAT_GET(st->spill_batches) || TG_STAT_GET(st->rows_duplicate)) {
            fprintf(stderr, "writer: unexpected spill/duplicates\n");
            exit(1);
        }
        if (k == 0) {
            g_e2e_p50 = (double)tg_hist_quantile_ns(&st->e2e_lat, 0.5) / 1e6;
            g_e2e_p99 = (double)tg_hist_quantile_ns(&st->e2e_lat, 0.99) / 1e6;
        }
        store_pg_destroy(&w[k]);
        tg_ring_destroy(&ring[k]);
    }
    return (double)n * nw / dt;
}

static double run_writer(const char *schema, store_pg_dedup_t mode, uint32_t n, uint32_t per_ms)
{
    return run_writers(schema, mode, n, per_ms, 1);
}

/* --writers: 1, 2, 4 ... writers at once into the indexed schema, interleaved run by run. */
static void run_fleet(PGconn *admin, const uint32_t *nws, int nn)
{
    double res[8][64];
    printf("tickgate-bench-pg --writers: %u rows per writer, batches of %u, %u runs, medians, "
           "conflict-key index, optimistic\n",
           g_rows, g_batch, g_runs);
    for (uint32_t run = 0; run < g_runs && run < 64; run++)
        for (int k = 0; k < nn; k++) {
            make_schema(admin, "tg_bench_pg", 1);
            res[k][run] = run_writers("tg_bench_pg", STORE_PG_DEDUP_OPTIMISTIC, g_rows, 0, nws[k]);
            char e[256];
            store_pg_schema_drop(admin, "tg_bench_pg", e, sizeof e);
        }
    double first = 0;
    for (int k = 0; k < nn; k++) {
        double m = tb_median(res[k], g_runs < 64 ? g_runs : 64);
        if (k == 0)
            first = m;
        printf("  %2u writers: %8.0f rows/s together (%.0f per writer) = %.2f x the %u-writer "
               "figure\n",
               nws[k], m, m / nws[k], m / first, nws[0]);
    }
}

/*
 * Journal path (synchronous API, one thread): spill g_rows rows while the server is
 * unreachable (a closed port), fdatasync per batch, then replay them into the indexed schema
 * with a reachable server. Prints rows/s of both phases.
 */
static void run_journal(const char *schema)
{
    char dir[] = "/tmp/tg-bench-pg-XXXXXX", bad[160];
    if (!mkdtemp(dir))
        return;
    snprintf(bad, sizeof bad, "host=127.0.0.1 port=1 connect_timeout=2");
    store_pg_cfg_t c = bench_cfg(bad, schema);
    c.spill_dir = dir;
    store_pg_t *w = NULL;
    if (store_pg_create(&w, &c) < 0)
        exit(1);
    store_pg_connect(w); /* fails: the flushes below go to the journal without retrying */
    int64_t t0 = tg_clock_mono_ns();
    for (uint32_t i = 0; i < g_rows; i++) {
        book_out_t r = make_trade(i);
        if (store_pg_push(w, &r) == 1)
            store_pg_flush(w);
    }
    store_pg_flush(w);
    double spill_s = (double)(tg_clock_mono_ns() - t0) / 1e9;
    uint64_t spilled = TG_STAT_GET(store_pg_stats(w)->spill_rows);
    uint64_t bytes = TG_STAT_GET(store_pg_stats(w)->spill_bytes);
    store_pg_destroy(&w);
    c.conninfo = g_dsn;
    if (store_pg_create(&w, &c) < 0 || store_pg_connect(w) < 0)
        exit(1);
    t0 = tg_clock_mono_ns();
    store_pg_replay(w);
    double replay_s = (double)(tg_clock_mono_ns() - t0) / 1e9;
    uint64_t replayed = TG_STAT_GET(store_pg_stats(w)->replay_rows);
    store_pg_destroy(&w);
    printf("  journal: spill %llu rows (%.1f MB, fdatasync per batch) %.0f rows/s (includes one "
           "failed connect per batch); replay %llu rows %.0f rows/s (conflict-key index)\n",
           (unsigned long long)spilled, (double)bytes / 1e6, (double)spilled / spill_s,
           (unsigned long long)replayed, (double)replayed / replay_s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

enum { V_RAW_U, V_RAWE_U, V_WR_U, V_RAW_I, V_RAWE_I, V_WR_I, V_WR_I_STAGED, V_N };
static const char *const vname[V_N] = {
    "raw COPY pre-encoded, unindexed",         "raw COPY + encoding, unindexed",
    "writer (optimistic), unindexed",          "raw COPY pre-encoded, conflict-key index",
    "raw COPY + encoding, conflict-key index", "writer (optimistic), conflict-key index",
    "writer (staged), conflict-key index"};

int main(int argc, char **argv)
{
    uint32_t nws[8];
    int nn = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--writers")) {
            char *save = NULL, *tmp = strdup(argv[i + 1]);
            for (char *t = strtok_r(tmp, ",", &save); t && nn < 8; t = strtok_r(NULL, ",", &save))
                if (atoi(t) >= 1 && atoi(t) <= WRITERS_MAX)
                    nws[nn++] = (uint32_t)atoi(t);
            free(tmp);
        } else if (!strcmp(argv[i], "--rows"))
            g_rows = (uint32_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            g_runs = (uint32_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            g_batch = (uint32_t)atol(argv[i + 1]);
    }
    if (!(g_dsn = getenv("TG_TEST_PG_DSN"))) {
        fprintf(stderr, "tickgate-bench-pg: TG_TEST_PG_DSN unset (run it through "
                        "tests/fixtures/services.sh run); skipping\n");
        return 77;
    }
    if (!g_rows || !g_runs || !g_batch)
        return 2;
    g_t0 = tg_clock_realtime_ns();
    tg_instr_reg_create(&g_reg);
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 2;
    uint32_t id;
    tg_instr_reg_add(g_reg, "binance", "BTCUSDT", &ic, &id);
    tg_instr_reg_add(g_reg, "okx", "ETH-USDT", &ic, &id);
    PGconn *admin = conn();
    if (nn) {
        run_fleet(admin, nws, nn);
        PQfinish(admin);
        tg_instr_reg_destroy(&g_reg);
        return 0;
    }
    encode_raw();
    double *res[V_N], p50[V_N] = {0}, p99[V_N] = {0}, cpu[V_N] = {0};
    for (int v = 0; v < V_N; v++)
        res[v] = calloc(g_runs, sizeof(double));
    printf("tickgate-bench-pg: %u trade rows per run, batches of %u, %u runs, medians\n", g_rows,
           g_batch, g_runs);
    for (uint32_t run = 0; run < g_runs; run++) {
        for (int v = 0; v < V_N; v++) {
            const char *schema = "tg_bench_pg";
            int indexed = v >= V_RAW_I;
            make_schema(admin, schema, indexed);
            if (v == V_RAW_U || v == V_RAW_I || v == V_RAWE_U || v == V_RAWE_I)
                res[v][run] = run_raw(schema, v == V_RAWE_U || v == V_RAWE_I);
            else {
                res[v][run] = run_writer(
                    schema, v == V_WR_I_STAGED ? STORE_PG_DEDUP_STAGED : STORE_PG_DEDUP_OPTIMISTIC,
                    g_rows, 0);
                p50[v] += g_e2e_p50 / g_runs;
                p99[v] += g_e2e_p99 / g_runs;
            }
            cpu[v] += g_cpu_us / g_runs;
            char e[256];
            store_pg_schema_drop(admin, schema, e, sizeof e);
        }
    }
    double med[V_N];
    for (int v = 0; v < V_N; v++) {
        med[v] = tb_median(res[v], g_runs);
        printf("  %-42s %8.0f rows/s  client cpu %.2f us/row", vname[v], med[v], cpu[v]);
        if (v == V_WR_U)
            printf("  = %.2f x raw (%.2f x raw+enc)", med[v] / med[V_RAW_U],
                   med[v] / med[V_RAWE_U]);
        if (v == V_WR_I || v == V_WR_I_STAGED)
            printf("  = %.2f x raw (%.2f x raw+enc)", med[v] / med[V_RAW_I],
                   med[v] / med[V_RAWE_I]);
        if (p50[v] > 0)
            printf("  [recv->commit p50 %.0f ms p99 %.0f ms]", p50[v], p99[v]);
        printf("\n");
    }
    /* Stage latency when not saturated: 5 s at ~2000 trades/s (2 per ms), indexed schema. */
    make_schema(admin, "tg_bench_pg", 1);
    run_writer("tg_bench_pg", STORE_PG_DEDUP_OPTIMISTIC, 10000, 2);
    printf("  writer at ~2000 rows/s (batch_age_ms 200): recv->commit p50 <= %.0f ms, "
           "p99 <= %.0f ms (histogram bucket bounds)\n",
           g_e2e_p50, g_e2e_p99);
    char e2[256];
    store_pg_schema_drop(admin, "tg_bench_pg", e2, sizeof e2);
    make_schema(admin, "tg_bench_pg", 1);
    run_journal("tg_bench_pg");
    store_pg_schema_drop(admin, "tg_bench_pg", e2, sizeof e2);
    PQfinish(admin);
    for (int v = 0; v < V_N; v++)
        free(res[v]);
    for (uint32_t k = 0; k < g_nraw; k++)
        store_pg_buf_free(&g_raw[k]);
    free(g_raw);
    tg_instr_reg_destroy(&g_reg);
    return 0;
}
