/* SPDX-License-Identifier: MIT */
/*
 * A candle revised by late trades (docs/book.md, revision rule) replaces its row in
 * PostgreSQL: closed once, then revised in a later batch, or closed and revised twice inside
 * one batch; an older version replayed afterwards (a journal batch written again) never
 * overwrites a newer one. Real server (tests/fixtures/services.sh); both dedup modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "it_pg_util.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"

#define DAY0 1709251200000000000LL /* 2024-03-01 00:00:00 UTC */
#define MIN  60000000000LL

typedef it_pg_fx_t fx_t; /* no journal */

static int setup(void **state)
{
    return it_pg_fx_setup(state, "tg_it_candle_rev", 0);
}

/* A closed 1m candle of BTCUSDT (px 2, sz 8) at DAY0 + 5 min made of `trades` trades: price
 * 100.00 + i, size 1 each, so every version differs in every column. */
static book_out_t candle(uint32_t trades, uint16_t revision)
{
    book_out_t r;
    memset(&r, 0, sizeof r);
    r.kind = BOOK_OUT_CANDLE;
    r.instr = 0;
    r.ts_exch = DAY0 + 6 * MIN;
    r.ts_recv = DAY0 + 6 * MIN + (int64_t)revision * 1000000000;
    book_out_candle_t *c = &r.u.candle;
    c->start_ns = DAY0 + 5 * MIN;
    c->interval_ns = MIN;
    c->open = c->low = 10000;
    c->high = c->close = 10000 + (int64_t)trades - 1;
    for (uint32_t i = 0; i < trades; i++)
        c->notional += (__int128)(10000 + i) * 100000000;
    c->volume = c->buy_volume = (int64_t)trades * 100000000;
    c->vwap = (int64_t)(c->notional / c->volume);
    c->first_ts = c->start_ns + 1000;
    c->last_ts = c->start_ns + 1000 + (int64_t)trades;
    c->trades = trades;
    c->closed = 1;
    c->revision = revision;
    return r;
}

/* "trades|volume|high|close|count" of the stored candle rows. */
static const char *row(fx_t *f)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT max(trades) || '|' || max(volume) || '|' || max(high) || '|' || max(close) "
             "|| '|' || count(*) FROM %s.candles",
             f->schema);
    return it_q(f->admin, sql);
}

static void revision_case(void **state, store_pg_dedup_t mode)
{
    fx_t *f = *state;
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = getenv("TG_TEST_PG_DSN");
    c.schema = f->schema;
    c.reg = f->reg;
    c.dedup = mode;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    /* One batch per row: the versions (trades, revision) it holds, in order, and the row
     * expected after it. 2 trades closed by the wall clock; revised with 3 in the next batch;
     * two more revisions in one batch, the newer first (order must not matter); an old
     * version written again (a replayed journal batch) leaves the newest. */
    static const struct {
        uint32_t v[2][2];
        const char *want;
    } batches[] = {
        {{{2, 0}}, "2|2|100.01|100.01|1"},
        {{{3, 1}}, "3|3|100.02|100.02|1"},
        {{{5, 3}, {4, 2}}, "5|5|100.04|100.04|1"},
        {{{2, 0}}, "5|5|100.04|100.04|1"},
    };
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        for (int k = 0; k < 2 && batches[i].v[k][0]; k++) {
            book_out_t r = candle(batches[i].v[k][0], (uint16_t)batches[i].v[k][1]);
            assert_true(store_pg_push(w, &r) >= 0);
        }
        assert_int_equal(store_pg_flush(w), 0);
        assert_string_equal(row(f), batches[i].want);
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT (notional = 500.1) || '|' || (vwap = 100.02) || '|' || "
             "extract(epoch FROM recv_ts)::bigint "
             "FROM %s.candles",
             f->schema);
    /* notional 100.00+..+100.04 (size 1 each), vwap 100.02, received with revision 3 */
    assert_string_equal(it_q(f->admin, sql), "true|true|1709251563");
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->spill_batches), 0);
    store_pg_destroy(&w);
}

static void test_revised_candle_replaces_its_row_optimistic(void **state)
{
    revision_case(state, STORE_PG_DEDUP_OPTIMISTIC);
}

static void test_revised_candle_replaces_its_row_staged(void **state)
{
    revision_case(state, STORE_PG_DEDUP_STAGED);
}

int main(void)
{
    if (!getenv("TG_TEST_PG_DSN")) {
        fprintf(stderr, "TG_TEST_PG_DSN not set: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_revised_candle_replaces_its_row_optimistic, setup,
                                        it_pg_fx_teardown),
        cmocka_unit_test_setup_teardown(test_revised_candle_replaces_its_row_staged, setup,
                                        it_pg_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
