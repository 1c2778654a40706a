/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL for a fleet of gateways (issue "Scale", docs/scale.md), against a real server
 * (tests/fixtures/services.sh): retention of day partitions (drop and detach, only our own
 * tables), per-sink thinning of book snapshots (book_interval_ms), the writer's instance
 * identity (application_name, <schema>.instances), and two writers racing on overlapping
 * trades: each trade stored once. Each test owns a schema and drops it. Returns 77 (skip)
 * without TG_TEST_PG_DSN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "book/tg_err.h"
#include "it_pg_util.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"
#include "tests/fixtures/tu_main.h"

#define DAY_NS 86400000000000LL
#define MS     1000000LL

typedef it_pg_fx_t fx_t;

static int setup(void **state)
{
    return it_pg_fx_setup(state, "tg_it_fleet", 0);
}

/* A writer with the fixture's settings, created and connected. */
static store_pg_t *writer_connected(const fx_t *f)
{
    store_pg_cfg_t c = it_pg_fx_cfg(f);
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    assert_int_equal(store_pg_connect(w), 0);
    return w;
}

static long long q_count(fx_t *f, const char *fmt_where)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt_where, f->schema);
    return it_qi(f->admin, sql);
}

/* ---- partition names ---- */

static void test_partition_names_are_parsed_strictly(void **state)
{
    (void)state;
    int t = -1;
    /* 2026-12-05 is day 20792 since 1970-01-01 */
    assert_int_equal(store_pg_schema_partition_day("trades_p20261205", &t), 20792);
    assert_int_equal(t, 0);
    assert_int_equal(store_pg_schema_partition_day("book_snapshots_p19700102", &t), 1);
    assert_int_equal(t, 1);
    assert_int_equal(store_pg_schema_partition_day("gaps_p20240301", &t), 19783);
    assert_int_equal(t, 3);
    assert_int_equal(store_pg_schema_partition_day("trades_p2026120", NULL), -1);
    assert_int_equal(store_pg_schema_partition_day("trades_p202612051", NULL), -1);
    assert_int_equal(store_pg_schema_partition_day("trades_p2026x205", NULL), -1);
    assert_int_equal(store_pg_schema_partition_day("trades_p20261305", NULL), -1);
    assert_int_equal(store_pg_schema_partition_day("archive_p20261205", NULL), -1);
    assert_int_equal(store_pg_schema_partition_day("trades_20261205", NULL), -1);
}

/* ---- retention ---- */

/* Rows on days today-10, today-5, today-3 and today through a writer without retention, plus
 * a table of the user's that looks like a partition name but is not attached. */
static void fill_days(fx_t *f, int64_t today)
{
    store_pg_t *w = writer_connected(f);
    static const int ago[] = {10, 5, 3, 0};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            book_out_t r = it_trade(0, (today - ago[i]) * DAY_NS + 3600000000000LL + k,
                                    (uint64_t)(i * 10 + k + 1), 100, 1, 1);
            assert_true(store_pg_push(w, &r) >= 0);
        }
    assert_int_equal(store_pg_flush(w), 0);
    store_pg_destroy(&w);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE %s.trades_p19991231 (x int)", f->schema);
    it_exec(f->admin, sql);
    assert_int_equal(q_count(f, "SELECT count(*) FROM %s.trades"), 12);
}

/* Days whose trades partition is attached, as "d1,d2,..." of days before today. */
static const char *attached_days(fx_t *f, int64_t today, char *out, size_t cap)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT ch.relname FROM pg_inherits i JOIN pg_class ch ON ch.oid = i.inhrelid"
             " JOIN pg_class pa ON pa.oid = i.inhparent JOIN pg_namespace n"
             " ON n.oid = pa.relnamespace WHERE n.nspname = '%s' AND pa.relname = 'trades'"
             " ORDER BY 1",
             f->schema);
    PGresult *r = PQexec(f->admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t d = store_pg_schema_partition_day(PQgetvalue(r, i, 0), NULL);
        if (d >= 0 && d <= today)
            n += (size_t)snprintf(out + n, cap - n, "%s%lld", n ? "," : "", (long long)(today - d));
    }
    PQclear(r);
    return out;
}

static void retention_case(void **state, int detach)
{
    fx_t *f = *state;
    int64_t today = store_pg_day_of_ns(tg_clock_realtime_ns());
    fill_days(f, today);
    char days[128];
    /* the writer made yesterday too (partitions ahead) */
    assert_string_equal(attached_days(f, today, days, sizeof days), "10,5,3,1,0");

    store_pg_cfg_t c = it_pg_fx_cfg(f);
    c.retention_days = 4; /* keep today and the 4 days before it */
    c.retention_detach = detach;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    assert_int_equal(store_pg_connect(w), 0);
    /* days 10 and 5 go, four tables each; day 3 and the user's table stay */
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->partitions_retired), 8);
    assert_string_equal(attached_days(f, today, days, sizeof days), "3,1,0");
    assert_int_equal(q_count(f, "SELECT count(*) FROM %s.trades"), 6);
    assert_int_equal(q_count(f, "SELECT count(*) FROM %s.trades_p19991231"), 0);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT to_regclass('%s.trades_p19991231') IS NOT NULL", f->schema);
    assert_string_equal(it_q(f->admin, sql), "t");
    /* detached: plain tables with their rows; dropped: gone */
    int64_t old = today - 10;
    time_t tt = (time_t)(old * 86400);
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(sql, sizeof sql,
             "SELECT (to_regclass('%s.trades_p%04d%02d%02d') IS NOT NULL)::text"
             " || (to_regclass('%s.trades_p%04d%02d%02d_detached') IS NOT NULL)::text",
             f->schema, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, f->schema, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    assert_string_equal(it_q(f->admin, sql), detach ? "falsetrue" : "falsefalse");
    if (detach) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades_p%04d%02d%02d_detached",
                 f->schema, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        assert_int_equal(it_qi(f->admin, sql), 3);
    }
    /* a second connect finds nothing more to retire */
    assert_int_equal(store_pg_connect(w), 0);
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->partitions_retired), 8);
    /* a late row for a retired day comes back through its partition made on demand */
    book_out_t r = it_trade(0, old * DAY_NS + 7, 999, 100, 1, 1);
    assert_true(store_pg_push(w, &r) >= 0);
    assert_int_equal(store_pg_flush(w), 0);
    assert_int_equal(q_count(f, "SELECT count(*) FROM %s.trades WHERE trade_id = 999"), 1);
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->rows_committed), 1);
    store_pg_destroy(&w);
}

static void test_retention_drops_old_day_partitions_only(void **state)
{
    retention_case(state, 0);
}

static void test_retention_detach_keeps_old_days_as_tables(void **state)
{
    retention_case(state, 1);
}

/* A day whose partition cannot be made (a table of the user's holds its name): the batch is
 * refused and held, never counted as stored (it used to count as "duplicate" after the third
 * partition retry). */
static void test_a_row_without_a_partition_is_never_counted_stored(void **state)
{
    fx_t *f = *state;
    store_pg_t *w = writer_connected(f);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE %s.trades_p20240301 (x int)", f->schema);
    it_exec(f->admin, sql);
    book_out_t r = it_trade(0, 1709251200000000000LL + 5, 1, 100, 1, 1); /* 2024-03-01 */
    assert_true(store_pg_push(w, &r) >= 0);
    assert_int_not_equal(store_pg_flush(w), 0); /* no journal: held */
    const store_pg_stats_t *st = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(st->rows_committed), 0);
    assert_int_equal(TG_STAT_GET(st->rows_duplicate), 0);
    assert_true(TG_STAT_GET(st->errors) >= 1);
    assert_non_null(strstr(store_pg_errstr(w), "no partition"));
    store_pg_destroy(&w);
}

/* ---- book_interval_ms ---- */

static book_out_t book_rec(int64_t t_ms, uint8_t reason, uint8_t repeat)
{
    book_out_t r;
    memset(&r, 0, sizeof r);
    r.kind = BOOK_OUT_BOOK;
    r.instr = 0;
    r.ts_exch = 1733400000000000000LL + t_ms * MS;
    r.ts_recv = r.ts_exch + 1000;
    r.ts_mono = 5000000000LL + t_ms * MS;
    r.u.book.reason = reason;
    r.u.book.repeat = repeat;
    r.u.book.state = reason == BOOK_OUT_R_STATE ? 2 : 1;
    r.u.book.seq = (uint64_t)t_ms;
    r.u.book.n_bids = r.u.book.n_asks = 1;
    r.u.book.depth_bids = r.u.book.depth_asks = 1;
    r.u.book.bids[0] = (tg_level_t){.price = 100, .size = 1};
    r.u.book.asks[0] = (tg_level_t){.price = 101, .size = 1};
    return r;
}

/* The stored rows' times (ms after the first), "0,200,...". */
static const char *stored_ms(fx_t *f, char *out, size_t cap)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(((extract(epoch FROM ts) * 1000)::bigint - 1733400000000)::text,"
             " ',' ORDER BY ts) FROM %s.book_snapshots",
             f->schema);
    const char *v = it_q(f->admin, sql);
    size_t n = strnlen(v, cap - 1);
    memcpy(out, v, n);
    out[n] = 0;
    return out;
}

static void book_case(fx_t *f, uint32_t interval_ms, const char *want, uint64_t thinned)
{
    store_pg_cfg_t c = it_pg_fx_cfg(f);
    c.book_interval_ms = interval_ms;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    /* (time ms, reason, repeat) as the builder sends them to PostgreSQL */
    static const struct {
        int64_t t;
        uint8_t reason, repeat;
    } in[] = {
        {0, BOOK_OUT_R_INTERVAL, 0},    /* first: stored */
        {100, BOOK_OUT_R_INTERVAL, 0},  /* within 1 s: thinned, remembered */
        {200, BOOK_OUT_R_STATE, 0},     /* a state change: always stored */
        {700, BOOK_OUT_R_INTERVAL, 0},  /* thinned, remembered */
        {1300, BOOK_OUT_R_INTERVAL, 1}, /* a repeat, but of a state thinned since: stored */
        {2400, BOOK_OUT_R_INTERVAL, 1}, /* a repeat of a stored one: nothing new */
        {2500, BOOK_OUT_R_INTERVAL, 0}, /* 1.2 s after the last stored: stored */
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        book_out_t r = book_rec(in[i].t, in[i].reason, in[i].repeat);
        assert_true(store_pg_push(w, &r) >= 0);
    }
    assert_int_equal(store_pg_flush(w), 0);
    char got[256];
    assert_string_equal(stored_ms(f, got, sizeof got), want);
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->books_thinned), thinned);
    store_pg_destroy(&w);
    char sql[128];
    snprintf(sql, sizeof sql, "TRUNCATE %s.book_snapshots", f->schema);
    it_exec(f->admin, sql);
}

static void test_book_interval_thins_snapshots_but_keeps_states_and_the_latest(void **state)
{
    fx_t *f = *state;
    book_case(f, 0, "0,100,200,700,2500", 0); /* today's rule: every change, no repeats */
    book_case(f, 1000, "0,200,1300,2500", 2);
}

/* ---- instance identity ---- */

static void test_instance_names_the_connection_and_its_row(void **state)
{
    fx_t *f = *state;
    store_pg_cfg_t c = it_pg_fx_cfg(f);
    c.instance = "fleet-a.1";
    c.version = "9.8.7";
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    assert_int_equal(store_pg_connect(w), 0);
    assert_int_equal(it_qi(f->admin,
                           "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                           " 'tickgate-writer:fleet-a.1'"),
                     1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT name || ' ' || version || ' ' || (pid = %d)::text FROM %s.instances",
             (int)getpid(), f->schema);
    assert_string_equal(it_q(f->admin, sql), "fleet-a.1 9.8.7 true");
    store_pg_destroy(&w);
}

/* ---- two writers racing ---- */

typedef struct racer {
    fx_t *f;
    uint64_t first, n;
    int rc;
    uint64_t committed, duplicate;
} racer_t;

static void *race(void *arg)
{
    racer_t *a = arg;
    store_pg_cfg_t c = it_pg_fx_cfg(a->f);
    c.batch_rows = 500;
    store_pg_t *w = NULL;
    a->rc = store_pg_create(&w, &c);
    for (uint64_t i = 0; !a->rc && i < a->n; i++) {
        uint64_t id = a->first + i;
        book_out_t r =
            it_trade(0, 1733400000000000000LL + (int64_t)id * 1000, id, 100 + (int64_t)id, 1, 1);
        int full = store_pg_push(w, &r);
        if (full < 0)
            a->rc = full;
        else if (full)
            a->rc = store_pg_flush(w);
    }
    if (!a->rc)
        a->rc = store_pg_flush(w);
    a->committed = TG_STAT_GET(store_pg_stats(w)->rows_committed);
    a->duplicate = TG_STAT_GET(store_pg_stats(w)->rows_duplicate);
    store_pg_destroy(&w);
    return NULL;
}

static void test_two_writers_racing_store_each_trade_once(void **state)
{
    fx_t *f = *state;
    /* the schema exists before the race, as in a fleet */
    store_pg_t *w = writer_connected(f);
    store_pg_destroy(&w);
    /* A: trades 1..10000, B: 5001..15000, at the same time, in batches of 500 */
    racer_t a[2] = {{.f = f, .first = 1, .n = 10000}, {.f = f, .first = 5001, .n = 10000}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, race, &a[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(a[0].rc, 0);
    assert_int_equal(a[1].rc, 0);
    assert_int_equal(q_count(f, "SELECT count(*) FROM %s.trades"), 15000);
    assert_int_equal(q_count(f, "SELECT count(DISTINCT trade_id) FROM %s.trades"), 15000);
    assert_int_equal(q_count(f, "SELECT min(trade_id) * 100000 + max(trade_id) FROM %s.trades"),
                     1LL * 100000 + 15000);
    /* every row is new for exactly one of them */
    assert_int_equal(a[0].committed + a[1].committed, 15000);
    assert_int_equal(a[0].duplicate + a[1].duplicate, 5000);
    fprintf(stderr, "racing writers: A stored %llu (%llu duplicates), B %llu (%llu)\n",
            (unsigned long long)a[0].committed, (unsigned long long)a[0].duplicate,
            (unsigned long long)a[1].committed, (unsigned long long)a[1].duplicate);
}

int main(void)
{
    if (tu_skip_without("TG_TEST_PG_DSN", "skipping (run under tests/fixtures/services.sh)"))
        return TU_SKIPPED;
    TU_RETURN_GROUP(
        NULL, NULL, cmocka_unit_test(test_partition_names_are_parsed_strictly),
        cmocka_unit_test_setup_teardown(test_retention_drops_old_day_partitions_only, setup,
                                        it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(test_retention_detach_keeps_old_days_as_tables, setup,
                                        it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_row_without_a_partition_is_never_counted_stored,
                                        setup, it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_book_interval_thins_snapshots_but_keeps_states_and_the_latest, setup,
            it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(test_instance_names_the_connection_and_its_row, setup,
                                        it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(test_two_writers_racing_store_each_trade_once, setup,
                                        it_pg_fx_teardown));
}
