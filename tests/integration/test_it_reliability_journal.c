/* SPDX-License-Identifier: MIT */
/*
 * Journal damage, end to end against a real PostgreSQL (docs/RELIABILITY.md): a writer that
 * cannot reach its server spills five batches; the journal is then damaged on disk (a torn
 * tail: the last record cut short, as a crash during an append leaves it; a corrupted record:
 * one byte flipped in the middle of the second); a new writer on the same directory counts
 * both (tickgate_spill_torn_total, tickgate_spill_corrupt_total and their bytes), logs them
 * with counts, and replays the other three batches, each row once.
 * Also: a reader on the journal's write segment keeps every record when the writer rolls to
 * a new segment under it (it used to drop the records appended after the reader opened it).
 * Returns 77 (skip) without TG_TEST_PG_DSN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "it_pg_util.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"
#include "storage/pg/store_spill.h"

#define BATCH 100

static char logs[8192];

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    size_t n = strlen(logs);
    snprintf(logs + n, sizeof logs - n, "[%d] %s\n", level, msg);
}

typedef struct fx {
    tg_instr_reg_t *reg;
    char dir[64], schema[64];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->reg = it_registry();
    snprintf(f->dir, sizeof f->dir, "/tmp/tg-it-relj-XXXXXX");
    snprintf(f->schema, sizeof f->schema, "tg_it_relj_%d", (int)getpid());
    logs[0] = 0;
    if (!f->reg || !mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    PGconn *a = it_admin();
    char e[256], cmd[128];
    if (a)
        store_pg_schema_drop(a, f->schema, e, sizeof e);
    PQfinish(a);
    tg_instr_reg_destroy(&f->reg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static store_pg_t *writer(fx_t *f, const char *conninfo)
{
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = conninfo;
    c.schema = f->schema;
    c.reg = f->reg;
    c.spill_dir = f->dir;
    c.batch_rows = BATCH;
    c.io_timeout_ms = 2000;
    c.log = log_cb;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    return w;
}

/* The journal's only segment file. */
static void seg_path(const fx_t *f, char *out, size_t cap)
{
    snprintf(out, cap, "%s/seg-%016llx.tgj", f->dir, 1ull);
}

static long long q1(const fx_t *f, const char *where)
{
    PGconn *a = it_admin();
    assert_non_null(a);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades WHERE %s", f->schema, where);
    long long n = it_qi(a, sql);
    PQfinish(a);
    return n;
}

static void test_torn_and_corrupted_journal_is_counted_logged_and_the_rest_replayed(void **st)
{
    fx_t *f = *st;
    /* 1. five batches into the journal: nobody listens on the port */
    char down[128];
    snprintf(down, sizeof down, "host=127.0.0.1 port=1 dbname=x user=x");
    store_pg_t *w = writer(f, down);
    int64_t t0 = tg_clock_realtime_ns();
    for (uint64_t id = 1; id <= 5 * BATCH; id++) {
        book_out_t r = it_trade(0, t0 + (int64_t)id * 1000, id, 6000000, 1000, 1);
        if (store_pg_push(w, &r) == 1)
            assert_int_equal(store_pg_flush(w), 0); /* spilled */
    }
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->spill_batches), 5);
    store_pg_destroy(&w);

    /* 2. damage: flip a payload byte of record 2, cut 10 bytes off record 5 */
    char seg[128];
    seg_path(f, seg, sizeof seg);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint32_t len1;
    assert_int_equal(pread(fd, &len1, 4, 4), 4); /* header: magic, length, recno, crc */
    off_t rec2 = 20 + (off_t)len1;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, rec2 + 20 + 200), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, rec2 + 20 + 200), 1);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal(ftruncate(fd, sb.st_size - 10), 0);
    close(fd);

    /* 3. a writer on the real server replays what is intact */
    logs[0] = 0;
    w = writer(f, getenv("TG_TEST_PG_DSN"));
    const store_pg_stats_t *s = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(s->spill_torn), 1);
    assert_true(TG_STAT_GET(s->spill_torn_bytes) > 0);
    /* the torn one is cut, the corrupted one is not counted */
    assert_int_equal(TG_STAT_GET(s->spill_pending_records), 3);
    assert_int_equal(store_pg_connect(w), 0);
    int n = store_pg_replay(w);
    fprintf(stderr,
            "replayed %d records (%" PRIu64 " rows); torn %" PRIu64 " (%" PRIu64
            " bytes), corrupt %" PRIu64 " (%" PRIu64 " bytes)\nlog:\n%s",
            n, TG_STAT_GET(s->replay_rows), TG_STAT_GET(s->spill_torn),
            TG_STAT_GET(s->spill_torn_bytes), TG_STAT_GET(s->spill_corrupt),
            TG_STAT_GET(s->spill_corrupt_bytes), logs);
    assert_int_equal(TG_STAT_GET(s->spill_corrupt), 1);
    assert_true(TG_STAT_GET(s->spill_corrupt_bytes) >= len1);
    assert_int_equal(TG_STAT_GET(s->replay_batches), 3);
    assert_int_equal(TG_STAT_GET(s->replay_rows), 3 * BATCH);
    assert_int_equal(TG_STAT_GET(s->spill_pending_records), 0);
    store_pg_destroy(&w);
    assert_int_equal(q1(f, "true"), 3 * BATCH);
    assert_int_equal(q1(f, "trade_id BETWEEN 101 AND 200"), 0); /* the corrupted batch */
    assert_int_equal(q1(f, "trade_id BETWEEN 401 AND 500"), 0); /* the torn batch */
    assert_int_equal(q1(f, "trade_id BETWEEN 1 AND 100"), BATCH);
    /* the counts are in the log lines */
    assert_non_null(strstr(logs, "torn tail cut: "));
    assert_null(strstr(logs, "torn tail cut: 0 "));
    assert_non_null(strstr(logs, "1 damaged regions"));
}

static void test_a_reader_on_the_write_segment_keeps_records_when_it_rolls(void **st)
{
    fx_t *f = *st;
    store_spill_cfg_t c;
    store_spill_cfg_defaults(&c);
    c.dir = f->dir;
    c.segment_bytes = 4096;
    c.fsync = 0;
    store_spill_t *s = NULL;
    assert_int_equal(store_spill_open(&s, &c, NULL, 0), 0);
    uint8_t pay[1000];
    uint32_t next = 0, got = 0;
    for (int i = 0; i < 2; i++) { /* two records in segment 1 */
        memset(pay, (int)next++, sizeof pay);
        struct iovec v = {pay, sizeof pay};
        assert_int_equal(store_spill_append(s, &v, 1), 0);
    }
    const uint8_t *p;
    size_t len;
    assert_int_equal(store_spill_peek(s, &p, &len), 0); /* the reader opens segment 1 */
    assert_int_equal(p[0], got++);
    assert_int_equal(store_spill_advance(s), 0);
    for (int i = 0; i < 4; i++) { /* one more in segment 1, then a roll to segment 2 */
        memset(pay, (int)next++, sizeof pay);
        struct iovec v = {pay, sizeof pay};
        assert_int_equal(store_spill_append(s, &v, 1), 0);
    }
    while (store_spill_peek(s, &p, &len) == 0) {
        assert_int_equal(p[0], got);
        got++;
        assert_int_equal(store_spill_advance(s), 0);
    }
    store_spill_close(&s);
    assert_int_equal(got, next); /* every record, in order */
}

int main(void)
{
    if (!getenv("TG_TEST_PG_DSN"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_torn_and_corrupted_journal_is_counted_logged_and_the_rest_replayed, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_a_reader_on_the_write_segment_keeps_records_when_it_rolls, setup, teardown),
    };
    return cmocka_run_group_tests_name("journal damage", tests, NULL, NULL);
}
