/* SPDX-License-Identifier: MIT */
/*
 * Outage tests of the PostgreSQL writer against a real server (tests/fixtures/services.sh):
 *  - PostgreSQL killed (pg_ctl stop -m immediate) in the middle of a stream of trades, kept
 *    down for seconds, restarted on the same port with the fixture's options: every trade is
 *    stored exactly once (count = distinct trade ids = trades sent), through the spill
 *    journal and its replay;
 *  - a slow PostgreSQL (another session holds an ACCESS EXCLUSIVE lock on trades): batches
 *    time out, go to the journal, and are caught up once the lock is released;
 *  - a HUNG PostgreSQL (every postgres process SIGSTOPped: connections are accepted, bytes
 *    acknowledged, nothing answered): detected within io_timeout_ms, batches spill, the
 *    producer is not held up, the writer reconnects once it resumes, every row once;
 *  - stop while hung: bounded by stop_timeout_ms, everything unflushed in the journal, and the
 *    next writer replays it.
 * Returns 77 (skip) without TG_TEST_PG_DSN / TG_TEST_PG_DATA.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "book/tg_ring.h"
#include "it_pg_util.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"

typedef struct fx {
    tg_instr_reg_t *reg;
    tg_ring_t *ring;
    store_pg_t *w;
    char schema[64];
    char spill[64];
    uint32_t io_ms, stop_ms; /* 0: defaults */
} fx_t;

static _Atomic int frozen; /* the server is SIGSTOPped */

/* Resume the server after 15 s whatever happens, so that a writer without deadlines (the old
 * behaviour) fails the test's time bounds instead of hanging it. */
static void *thaw_later(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1500 && atomic_load(&frozen); i++)
        it_sleep_ms(10);
    if (atomic_exchange(&frozen, 0))
        it_pg_signal_all(SIGCONT);
    return NULL;
}

static void freeze(void)
{
    atomic_store(&frozen, 1);
    assert_true(it_pg_signal_all(SIGSTOP) > 1);
    pthread_t th;
    pthread_create(&th, NULL, thaw_later, NULL);
    pthread_detach(th);
}

static void thaw(void)
{
    if (atomic_exchange(&frozen, 0))
        it_pg_signal_all(SIGCONT);
}

static int counter;

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level <= TG_LOG_WARN)
        fprintf(stderr, "[pg log %d] %s\n", level, msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->reg = it_registry();
    snprintf(f->schema, sizeof f->schema, "tg_it_pgo_%d_%d", (int)getpid(), counter++);
    snprintf(f->spill, sizeof f->spill, "/tmp/tg-it-pgo-XXXXXX");
    if (!f->reg || !mkdtemp(f->spill) || tg_ring_create(&f->ring, 4096, sizeof(book_out_t)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    char e[256], cmd[128];
    thaw();
    store_pg_destroy(&f->w);
    PGconn *a = it_admin();
    if (a)
        store_pg_schema_drop(a, f->schema, e, sizeof e);
    PQfinish(a);
    tg_ring_destroy(&f->ring);
    tg_instr_reg_destroy(&f->reg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->spill);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void start_writer_j(fx_t *f, uint32_t commit_timeout_ms, uint64_t spill_max)
{
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = getenv("TG_TEST_PG_DSN");
    c.schema = f->schema;
    c.reg = f->reg;
    c.ring = f->ring;
    c.spill_dir = f->spill;
    c.backoff_min_ms = 50;
    c.backoff_max_ms = 400;
    c.batch_rows = 500;
    c.batch_age_ms = 50;
    c.commit_timeout_ms = commit_timeout_ms;
    if (f->io_ms)
        c.io_timeout_ms = f->io_ms;
    if (f->stop_ms)
        c.stop_timeout_ms = f->stop_ms;
    c.log = log_cb;
    if (spill_max) {
        c.spill_max_bytes = spill_max;
        c.spill_segment_bytes = spill_max / 4;
    }
    assert_int_equal(store_pg_create(&f->w, &c), 0);
    assert_int_equal(store_pg_connect(f->w), 0);
    assert_int_equal(store_pg_start(f->w), 0);
}

static void start_writer(fx_t *f, uint32_t commit_timeout_ms)
{
    start_writer_j(f, commit_timeout_ms, 0);
}

typedef struct producer {
    fx_t *f;
    uint64_t first, n;
    int per_10ms;
    _Atomic uint64_t sent;
    _Atomic uint64_t full; /* pushes refused: ring full (backpressure seen by the producer) */
} producer_t;

static void *produce(void *p)
{
    producer_t *pr = p;
    const int64_t t0 = tg_clock_realtime_ns();
    for (uint64_t i = 0; i < pr->n; i++) {
        uint64_t id = pr->first + i;
        book_out_t r = it_trade((uint32_t)(id % 2), t0 + (int64_t)i * 1000, id,
                                6000000 + (int64_t)(id % 1000), 1000 + (int64_t)id, 1);
        while (!tg_ring_spsc_push(pr->f->ring, &r)) {
            atomic_fetch_add_explicit(&pr->full, 1, memory_order_relaxed);
            it_sleep_ms(1);
        }
        atomic_store_explicit(&pr->sent, i + 1, memory_order_relaxed);
        if (pr->per_10ms && (i + 1) % (uint64_t)pr->per_10ms == 0)
            it_sleep_ms(10);
    }
    return NULL;
}

#define STAT(f, x) TG_STAT_GET(store_pg_stats((f)->w)->x)

static bool wait_for(fx_t *f, uint64_t committed, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 20) {
        if (STAT(f, rows_committed) >= committed && STAT(f, spill_pending_records) == 0)
            return true;
        it_sleep_ms(20);
    }
    return false;
}

static void check_exactly_once(fx_t *f, uint64_t n)
{
    PGconn *a = it_admin();
    assert_non_null(a);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) || '/' || count(DISTINCT trade_id) || '/' || min(trade_id) || '/' ||"
             " max(trade_id) FROM %s.trades",
             f->schema);
    char want[96];
    snprintf(want, sizeof want, "%llu/%llu/1/%llu", (unsigned long long)n, (unsigned long long)n,
             (unsigned long long)n);
    assert_string_equal(it_q(a, sql), want);
    PQfinish(a);
}

/* The writer (stopped) committed n rows, lost none at stop, and the table holds trades 1..n
 * once each. */
static void assert_committed_once(fx_t *f, uint64_t n)
{
    assert_int_equal(STAT(f, rows_committed), n);
    assert_int_equal(STAT(f, lost_at_stop), 0);
    check_exactly_once(f, n);
}

static void print_stats(fx_t *f, const char *what)
{
    fprintf(stderr,
            "%s: committed %llu dup %llu batches %llu spilled %llu/%llu rows replayed %llu "
            "reconnects %llu timeouts %llu errors %llu\n",
            what, (unsigned long long)STAT(f, rows_committed),
            (unsigned long long)STAT(f, rows_duplicate), (unsigned long long)STAT(f, batches),
            (unsigned long long)STAT(f, spill_batches), (unsigned long long)STAT(f, spill_rows),
            (unsigned long long)STAT(f, replay_batches), (unsigned long long)STAT(f, reconnects),
            (unsigned long long)STAT(f, timeouts), (unsigned long long)STAT(f, errors));
}

/* Start the writer and a producer thread of trades 1..40000 at ~5000/s (~8 s); return once
 * 5000 are committed. */
static void stream_started(fx_t *f, producer_t *pr, pthread_t *th)
{
    start_writer(f, 0);
    memset(pr, 0, sizeof(*pr));
    pr->f = f;
    pr->first = 1;
    pr->n = 40000;
    pr->per_10ms = 50;
    pthread_create(th, NULL, produce, pr);
    while (STAT(f, rows_committed) < 5000)
        it_sleep_ms(10);
}

static void test_server_killed_mid_stream_loses_and_duplicates_nothing(void **state)
{
    fx_t *f = *state;
    producer_t pr;
    pthread_t th;
    stream_started(f, &pr, &th);
    assert_int_equal(it_pg_stop(), 0);
    uint64_t at_kill = atomic_load(&pr.sent);
    it_sleep_ms(4000);
    uint64_t spilled_while_down = STAT(f, spill_rows);
    assert_int_equal(it_pg_start(), 0);
    pthread_join(th, NULL);
    bool ok = wait_for(f, 40000, 60000);
    print_stats(f, "kill");
    assert_true(ok);
    assert_int_equal(store_pg_stop(f->w), 0);
    assert_true(atomic_load(&pr.sent) > at_kill + 10000); /* the stream went on meanwhile */
    assert_true(spilled_while_down > 10000);
    assert_true(STAT(f, reconnects) >= 1);
    assert_true(STAT(f, replay_batches) >= 1);
    assert_int_equal(STAT(f, spill_pending_records), 0);
    assert_committed_once(f, 40000);
}

static void test_slow_server_spills_then_catches_up(void **state)
{
    fx_t *f = *state;
    start_writer(f, 300);
    producer_t pr = {.f = f, .first = 1, .n = 1000};
    produce(&pr);
    assert_true(wait_for(f, 1000, 10000));

    PGconn *locker = it_admin();
    char sql[256];
    snprintf(sql, sizeof sql, "BEGIN; LOCK TABLE %s.trades IN ACCESS EXCLUSIVE MODE", f->schema);
    it_exec(locker, sql);
    producer_t pr2 = {.f = f, .first = 1001, .n = 4000, .per_10ms = 20}; /* ~2 s */
    produce(&pr2);
    for (int t = 0; t < 5000 && STAT(f, spill_batches) < 2; t += 20)
        it_sleep_ms(20);
    uint64_t spilled = STAT(f, spill_batches), timeouts = STAT(f, timeouts);
    uint64_t committed_locked = STAT(f, rows_committed);
    it_exec(locker, "COMMIT");
    PQfinish(locker);
    bool ok = wait_for(f, 5000, 30000);
    print_stats(f, "slow");
    assert_true(ok);
    assert_true(spilled >= 2);
    assert_true(timeouts >= 1);
    assert_int_equal(committed_locked, 1000); /* nothing got through the lock */
    assert_int_equal(store_pg_stop(f->w), 0);
    assert_int_equal(STAT(f, rows_committed), 5000);
    assert_int_equal(STAT(f, reconnects), 0); /* slow is not down */
    check_exactly_once(f, 5000);
}

static void test_full_journal_backpressures_the_producer_and_drops_nothing(void **state)
{
    fx_t *f = *state;
    start_writer_j(f, 0, 256 * 1024); /* ~2500 trade rows fit in the journal */
    producer_t pr = {.f = f, .first = 1, .n = 20000, .per_10ms = 100}; /* ~10000/s */
    pthread_t th;
    assert_int_equal(it_pg_stop(), 0);
    pthread_create(&th, NULL, produce, &pr);
    for (int t = 0; t < 10000 && !atomic_load(&pr.full); t += 20)
        it_sleep_ms(20);
    it_sleep_ms(500);
    uint64_t blocked = STAT(f, blocked), full = STAT(f, spill_full);
    uint64_t producer_full = atomic_load(&pr.full), sent = atomic_load(&pr.sent);
    assert_int_equal(it_pg_start(), 0);
    pthread_join(th, NULL);
    bool ok = wait_for(f, 20000, 60000);
    print_stats(f, "journal full");
    assert_true(ok);
    assert_true(blocked >= 1);
    assert_true(full >= 1);
    assert_true(producer_full > 0); /* the ring filled up: backpressure */
    assert_true(sent < 20000);      /* the producer was held back */
    assert_true(STAT(f, spill_batches) > 0);
    assert_int_equal(store_pg_stop(f->w), 0);
    assert_committed_once(f, 20000);
}

static void test_stop_while_down_spills_everything_and_next_start_replays_it(void **state)
{
    fx_t *f = *state;
    start_writer(f, 0);
    assert_int_equal(it_pg_stop(), 0);
    producer_t pr = {.f = f, .first = 1, .n = 3000};
    produce(&pr);
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(store_pg_stop(f->w), 0); /* drains the ring, spills, returns */
    assert_true(tg_clock_mono_ns() - t0 < 5 * TG_NS_PER_SEC);
    assert_int_equal(STAT(f, spill_rows), 3000);
    assert_int_equal(STAT(f, rows_committed), 0);
    assert_int_equal(STAT(f, lost_at_stop), 0);
    assert_int_equal(tg_ring_count(f->ring), 0);
    store_pg_destroy(&f->w);
    assert_int_equal(it_pg_start(), 0);
    start_writer(f, 0); /* same journal directory: replayed at start */
    bool ok = wait_for(f, 3000, 30000);
    print_stats(f, "stop while down");
    assert_true(ok);
    assert_int_equal(STAT(f, replay_rows), 3000);
    check_exactly_once(f, 3000);
}

/* Rows in the table (server side: a batch the server committed after the client gave up on
 * it counts here but not in rows_committed). */
static long long db_rows(const fx_t *f)
{
    PGconn *a = it_admin();
    if (!a)
        return -1;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades", f->schema);
    long long n = it_qi(a, sql);
    PQfinish(a);
    return n;
}

static bool wait_db(fx_t *f, long long n, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 100) {
        if (STAT(f, spill_pending_records) == 0 && tg_ring_count(f->ring) == 0 && db_rows(f) == n)
            return true;
        it_sleep_ms(100);
    }
    return false;
}

static void test_hung_server_is_detected_spilled_and_caught_up(void **state)
{
    fx_t *f = *state;
    f->io_ms = 1000;
    producer_t pr;
    pthread_t th;
    stream_started(f, &pr, &th);
    uint64_t full0 = atomic_load(&pr.full), spilled0 = STAT(f, spill_rows);
    int64_t t0 = tg_clock_mono_ns();
    freeze();
    int64_t detect = -1;
    for (int t = 0; t < 10000 && detect < 0; t += 5) {
        if (STAT(f, io_timeouts) >= 1)
            detect = (tg_clock_mono_ns() - t0) / TG_NS_PER_MS;
        it_sleep_ms(5);
    }
    while (tg_clock_mono_ns() - t0 < 4 * TG_NS_PER_SEC)
        it_sleep_ms(10);
    uint64_t held_ms = atomic_load(&pr.full) - full0; /* the producer sleeps 1 ms per refusal */
    uint64_t spilled = STAT(f, spill_rows) - spilled0, connected = STAT(f, connected);
    uint64_t sent = atomic_load(&pr.sent);
    bool was_frozen = atomic_load(&frozen);
    thaw();
    pthread_join(th, NULL);
    bool ok = wait_db(f, 40000, 60000);
    print_stats(f, "hung");
    fprintf(stderr,
            "hung 4 s: detected after %lld ms (io_timeout 1000), producer held %llu ms, %llu rows "
            "spilled meanwhile, %llu sent\n",
            (long long)detect, (unsigned long long)held_ms, (unsigned long long)spilled,
            (unsigned long long)sent);
    assert_true(was_frozen);           /* the 15 s safety thaw did not fire */
    assert_true(detect >= 0);          /* seen as hung, not waited on forever */
    assert_true(detect < 1000 + 1500); /* within io_timeout_ms (+ scheduling margin) */
    assert_int_equal(connected, 0);    /* /health: not connected */
    assert_true(held_ms < 1000);       /* the builder's side was not stalled by the hang */
    assert_true(spilled > 10000);
    assert_true(ok);
    assert_true(STAT(f, reconnects) >= 1);
    assert_int_equal(store_pg_stop(f->w), 0);
    assert_int_equal(STAT(f, lost_at_stop), 0);
    check_exactly_once(f, 40000);
}

static void test_stop_while_hung_is_bounded_and_the_journal_keeps_everything(void **state)
{
    fx_t *f = *state;
    f->stop_ms = 1000; /* io_timeout_ms stays at its default, 5000 */
    start_writer(f, 0);
    producer_t pr = {.f = f, .first = 1, .n = 1000};
    produce(&pr);
    assert_true(wait_for(f, 1000, 10000));
    uint64_t spilled0 = STAT(f, spill_rows);
    freeze();
    producer_t pr2 = {.f = f, .first = 1001, .n = 3000};
    produce(&pr2);
    it_sleep_ms(300); /* the writer is now waiting for the hung server */
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(store_pg_stop(f->w), 0);
    int64_t stop_ms = (tg_clock_mono_ns() - t0) / TG_NS_PER_MS;
    bool was_frozen = atomic_load(&frozen);
    print_stats(f, "stop while hung");
    fprintf(stderr, "stop while hung: %lld ms (stop_timeout_ms 1000), %llu rows in the journal\n",
            (long long)stop_ms, (unsigned long long)STAT(f, spill_rows));
    assert_true(was_frozen);
    assert_true(stop_ms < 1000 + 500);
    assert_int_equal(STAT(f, lost_at_stop), 0);
    assert_int_equal(STAT(f, spill_rows) - spilled0, 3000);
    assert_int_equal(tg_ring_count(f->ring), 0);
    store_pg_destroy(&f->w);
    thaw();
    start_writer(f, 0); /* same journal: replayed */
    bool ok = wait_db(f, 4000, 30000);
    print_stats(f, "after restart");
    assert_true(ok);
    assert_true(STAT(f, replay_rows) >= 3000);
    check_exactly_once(f, 4000);
}

int main(void)
{
    if (!getenv("TG_TEST_PG_DSN") || !getenv("TG_TEST_PG_DATA") || !getenv("TG_TEST_PG_BIN"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_killed_mid_stream_loses_and_duplicates_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_server_spills_then_catches_up, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_full_journal_backpressures_the_producer_and_drops_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_stop_while_down_spills_everything_and_next_start_replays_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hung_server_is_detected_spilled_and_caught_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_stop_while_hung_is_bounded_and_the_journal_keeps_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
