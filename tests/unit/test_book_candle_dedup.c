/* SPDX-License-Identifier: MIT */
/*
 * Candles from deduplicated trades, and revisions of bars a clock closed early (issue 15
 * item 4; rules in docs/book.md "Candles"). The dedup window is checked against a brute-force
 * model of "the last N keys"; the builder-level tests feed a reconnect's re-delivered trades
 * and a wall-clock close during a long backoff through the synchronous builder API and check
 * every candle against sums computed here from the unique trades.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/book_builder.h"
#include "book/book_candle.h"
#include "book/tg_clock.h"
#include "tests/fixtures/tu_reg.h"
#include "book/tg_rng.h"

#define S   TG_NS_PER_SEC
#define MIN (60 * S)

/* ---- the window on its own ------------------------------------------------------------- */

static void test_dedup_same_key_is_a_duplicate_other_ids_or_times_are_not(void **state)
{
    book_candle_dedup_t d;
    assert_int_equal(book_candle_dedup_init(&d, 16), 0);
    assert_int_equal(book_candle_dedup_check(&d, 7, 1000), BOOK_DEDUP_NEW);
    assert_int_equal(book_candle_dedup_check(&d, 7, 1000), BOOK_DEDUP_DUP);
    assert_int_equal(book_candle_dedup_check(&d, 7, 1001), BOOK_DEDUP_NEW); /* key has ts */
    assert_int_equal(book_candle_dedup_check(&d, 8, 1000), BOOK_DEDUP_NEW);
    /* no id (Kraken): never keyed, never a duplicate */
    assert_int_equal(book_candle_dedup_check(&d, 0, 1000), BOOK_DEDUP_NOKEY);
    assert_int_equal(book_candle_dedup_check(&d, 0, 1000), BOOK_DEDUP_NOKEY);
    book_candle_dedup_deinit(&d);
    book_candle_dedup_deinit(&d); /* twice: harmless */
    /* window 0: off */
    assert_int_equal(book_candle_dedup_init(&d, 0), 0);
    assert_int_equal(book_candle_dedup_check(&d, 7, 1000), BOOK_DEDUP_NOKEY);
    book_candle_dedup_deinit(&d);
}

/* Random (colliding) keys into a window of n, with re-deliveries from inside it: after
 * every insert the window holds exactly the last n new keys (backward-shift deletion keeps
 * every probe chain whole); checked in full every `every` inserts. */
static void window_run(uint32_t n, int total, int every)
{
    book_candle_dedup_t d;
    assert_int_equal(book_candle_dedup_init(&d, n), 0);
    assert_int_equal(d.max, n);
    assert_int_equal(d.cap, 16); /* grown as keys arrive */
    assert_int_equal(d.wide, n > 32768);
    book_candle_key_t *hist = calloc((size_t)total, sizeof(*hist));
    assert_non_null(hist);
    uint32_t nh = 0;
    uint64_t seed = 88172645463325252ull;
    for (int k = 0; k < total; k++) {
        if (nh && k % 7 == 0) { /* a re-delivery of one of the last n keys */
            uint32_t back = 1 + (uint32_t)(tg_rng_xorshift64(&seed) % (nh < n ? nh : n));
            book_candle_key_t key = hist[nh - back];
            assert_int_equal(book_candle_dedup_check(&d, key.id, key.ts), BOOK_DEDUP_DUP);
            continue;
        }
        /* ids from a small range so that probe chains collide; ts grow, so the key is new */
        uint64_t id = 1 + tg_rng_xorshift64(&seed) % 5000;
        assert_int_equal(book_candle_dedup_check(&d, id, k), BOOK_DEDUP_NEW);
        hist[nh++] = (book_candle_key_t){id, k};
        /* every key of the window is found again, none older; one slot per key (a removal
           that missed its slot, e.g. a wrong home after a doubling, would leave it) */
        if (k % every == 0) {
            uint32_t used = 0;
            for (uint32_t i = 0; i < 2 * d.cap; i++)
                used += (d.wide ? d.slot.w32[i] : d.slot.w16[i]) != 0;
            assert_int_equal(used, d.n);
            for (uint32_t j = nh > n ? nh - n : 0; j < nh; j++)
                assert_int_equal(book_candle_dedup_check(&d, hist[j].id, hist[j].ts),
                                 BOOK_DEDUP_DUP);
        }
    }
    assert_true(nh > n);
    assert_int_equal(d.cap, n); /* grew to the window, no further */
    /* a key that left the window: too old to tell (its id is not above every id seen) */
    assert_int_equal(book_candle_dedup_check(&d, hist[0].id, hist[0].ts), BOOK_DEDUP_UNKNOWN);
    /* an id above every id seen is new whatever its time */
    assert_int_equal(book_candle_dedup_check(&d, 1000000, 0), BOOK_DEDUP_NEW);
    free(hist);
    book_candle_dedup_deinit(&d);
}

static void test_dedup_window_remembers_exactly_the_last_n_keys(void **state)
{
    window_run(64, 20000, 97);      /* 16-bit slots */
    window_run(65536, 80000, 4099); /* 32-bit slots (a window above 32768 keys) */
}

/* ---- through the builder --------------------------------------------------------------- */

/* Only candle records are kept: the tests look at nothing else (trades are counted). */
#define FX_CANDLES 512

typedef struct fx {
    tg_instr_reg_t *reg;
    book_builder_t *b;
    uint32_t id;
    book_out_t rec[FX_CANDLES]; /* BOOK_OUT_CANDLE records, in order */
    int n;
    int trades_out; /* BOOK_OUT_TRADE records */
} fx_t;

static int keep_candles(void *ctx, const book_out_t *rec)
{
    fx_t *f = ctx;
    if (rec->kind == BOOK_OUT_TRADE)
        f->trades_out++;
    else if (rec->kind == BOOK_OUT_CANDLE && f->n < FX_CANDLES)
        f->rec[f->n++] = *rec;
    return 0;
}

/* Frees what setup made of f (any part of it; f may be NULL). */
static void fx_free(fx_t *f)
{
    if (!f)
        return;
    book_builder_destroy(&f->b);
    tg_instr_reg_destroy(&f->reg);
    free(f);
}

/* A builder with 1m and 1s candles over one instrument (prices 2 places, sizes 3). */
static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    book_builder_cfg_t bc;
    book_builder_cfg_defaults(&bc);
    bc.book_interval_ns = 0;
    bc.forming_min_gap_ns = 0;
    bc.candles = (book_candle_cfg_t){.interval_ns = {MIN, S}, .n_intervals = 2};
    bc.sinks[bc.n_sinks++] = (book_sink_cfg_t){.name = "candles",
                                               .fn = keep_candles,
                                               .ctx = f,
                                               .kinds = BOOK_SINK_TRADE | BOOK_SINK_CANDLE_CLOSED,
                                               .lossless = true};
    int rc = f ? tu_reg_one(&f->reg, "test", "AAA", 2, 3, &f->id, NULL) : -1;
    if (rc == 0) {
        bc.reg = f->reg;
        rc = book_builder_create(&f->b, &bc);
    }
    if (rc < 0) {
        fx_free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* One trade message. Exchange time ts; receive time (realtime and monotonic) recv. */
static void trade(fx_t *f, uint64_t id, int64_t ts, int64_t recv, int64_t px, int64_t sz)
{
    tg_event_t e = {.kind = TG_EV_TRADE,
                    .side = TG_SIDE_BUY,
                    .price = px,
                    .size = sz,
                    .instr = f->id,
                    .flags = TG_EVF_LAST,
                    .ts_exch = ts,
                    .ts_recv = recv,
                    .ts_mono = recv};
    e.u.trade_id = id;
    book_builder_apply(f->b, &e, 1);
}

/* The last closed candle record of interval iv starting at start (NULL: none). */
static const book_out_candle_t *closed_bar(const fx_t *f, int64_t iv, int64_t start, int *n)
{
    const book_out_candle_t *c = NULL;
    *n = 0;
    for (int i = 0; i < f->n; i++) {
        const book_out_candle_t *x = &f->rec[i].u.candle;
        if (f->rec[i].kind == BOOK_OUT_CANDLE && x->closed && x->interval_ns == iv &&
            x->start_ns == start) {
            c = x;
            (*n)++;
        }
    }
    return c;
}

static void test_redelivered_trades_after_a_reconnect_count_once_in_candles(void **state)
{
    fx_t *f = *state;
    int64_t m0 = 28000000LL * MIN, recv = m0 + 100 * TG_NS_PER_MS;
    /* trades 1..5 at 10 s steps, sizes 1..5 */
    for (uint64_t i = 1; i <= 5; i++)
        trade(f, i, m0 + (int64_t)i * 10 * S, recv + (int64_t)i * 10 * S, 1000 + (int64_t)i,
              (int64_t)i);
    /* the venue re-sends its last three trades after a reconnect, then a new one */
    for (uint64_t i = 3; i <= 5; i++)
        trade(f, i, m0 + (int64_t)i * 10 * S, recv + 55 * S, 1000 + (int64_t)i, (int64_t)i);
    trade(f, 6, m0 + 56 * S, recv + 56 * S, 990, 6);
    const book_builder_stats_t *st = book_builder_stats(f->b);
    assert_int_equal(TG_STAT_GET(st->dup_trades), 3);
    /* every trade record still goes out (the table keeps one row per key) */
    assert_int_equal(f->trades_out, 9);
    /* the minute holds the six unique trades: volume 1+..+6 = 21 */
    const book_candles_t *cs = book_builder_candles(f->b, f->id);
    book_out_candle_t c;
    assert_true(book_candles_forming(cs, 0, &c));
    assert_int_equal(c.trades, 6);
    assert_int_equal(c.volume, 21);
    assert_int_equal(c.high, 1005);
    assert_int_equal(c.low, 990);
    assert_int_equal(c.close, 990);
    __int128 n = 0;
    for (int64_t i = 1; i <= 5; i++)
        n += (__int128)(1000 + i) * i;
    n += 990 * 6;
    assert_true(c.notional == n);
    /* the 1 s bars closed in between were not counted again either: 5 closed, 1 trade each */
    for (int64_t i = 1; i <= 5; i++) {
        int k;
        const book_out_candle_t *b = closed_bar(f, S, m0 + i * 10 * S, &k);
        assert_non_null(b);
        assert_int_equal(b->trades, 1);
        assert_int_equal(b->volume, i);
        assert_int_equal(k, 1); /* and never revised by a duplicate */
    }
}

static void test_bar_closed_by_the_wall_clock_is_revised_by_its_late_trades(void **state)
{
    fx_t *f = *state;
    int64_t m0 = 28000000LL * MIN, lat = 50 * TG_NS_PER_MS;
    trade(f, 100, m0 + 10 * S, m0 + 10 * S + lat, 500, 2);
    trade(f, 101, m0 + 20 * S, m0 + 20 * S + lat, 510, 3);
    /* disconnected at +30 s; a long backoff: the wall clock closes the minute (end + grace) */
    book_builder_tick(f->b, m0 + 63 * S, m0 + 63 * S + lat);
    int k;
    const book_out_candle_t *b = closed_bar(f, MIN, m0, &k);
    assert_non_null(b);
    assert_int_equal(k, 1);
    assert_int_equal(b->trades, 2);
    assert_int_equal(b->revision, 0);
    /* reconnected at +90 s: the venue re-sends 101 and the two trades we missed (+40, +50) */
    trade(f, 101, m0 + 20 * S, m0 + 90 * S, 510, 3);
    trade(f, 102, m0 + 40 * S, m0 + 90 * S, 530, 1);
    trade(f, 103, m0 + 50 * S, m0 + 90 * S, 490, 4);
    const book_builder_stats_t *st = book_builder_stats(f->b);
    assert_int_equal(TG_STAT_GET(st->dup_trades), 1);
    assert_int_equal(TG_STAT_GET(st->late_trades), 0);
    b = closed_bar(f, MIN, m0, &k);
    assert_non_null(b);
    assert_int_equal(k, 3); /* first close, then one revision per round (two here) */
    assert_int_equal(b->revision, 2);
    /* the revised bar is what the unique trades of the minute make */
    assert_int_equal(b->trades, 4);
    assert_int_equal(b->volume, 10);
    assert_int_equal(b->open, 500);
    assert_int_equal(b->high, 530);
    assert_int_equal(b->low, 490);
    assert_int_equal(b->close, 490);
    assert_int_equal(b->last_ts, m0 + 50 * S);
    __int128 n = (__int128)500 * 2 + 510 * 3 + 530 * 1 + 490 * 4;
    assert_true(b->notional == n);
    assert_int_equal(b->vwap, book_candle_vwap(n, 10));
    /* the late trades did not land in a newer minute: nothing forms */
    book_out_candle_t c;
    assert_false(book_candles_forming(book_builder_candles(f->b, f->id), 0, &c));
    /* their 1 s bars, passed empty by the clock, are bars of their own */
    assert_non_null(closed_bar(f, S, m0 + 40 * S, &k));
    assert_true(book_candles_forming(book_builder_candles(f->b, f->id), 1, &c));
    assert_int_equal(c.start_ns, m0 + 50 * S);
    book_builder_tick(f->b, m0 + 95 * S, m0 + 95 * S); /* the next later time closes it */
    b = closed_bar(f, S, m0 + 50 * S, &k);
    assert_non_null(b);
    assert_int_equal(b->volume, 4);
    assert_int_equal(TG_STAT_GET(st->candle_revisions), 2);
}

static void test_revisions_of_one_round_are_emitted_once(void **state)
{
    fx_t *f = *state;
    int64_t m0 = 28000000LL * MIN, lat = 50 * TG_NS_PER_MS;
    trade(f, 1, m0 + 10 * S, m0 + 10 * S + lat, 500, 2);
    book_builder_tick(f->b, m0 + 63 * S, m0 + 63 * S + lat);
    /* a backfill page: five late trades of the minute in one message */
    tg_event_t e[5];
    for (int i = 0; i < 5; i++) {
        e[i] = (tg_event_t){.kind = TG_EV_TRADE,
                            .side = TG_SIDE_SELL,
                            .price = 400 + i,
                            .size = 1,
                            .instr = f->id,
                            .ts_exch = m0 + (20 + i) * S,
                            .ts_recv = m0 + 70 * S,
                            .ts_mono = m0 + 70 * S};
        e[i].u.trade_id = 2 + (uint64_t)i;
    }
    e[4].flags = TG_EVF_LAST;
    book_builder_apply(f->b, e, 5);
    int k;
    const book_out_candle_t *b = closed_bar(f, MIN, m0, &k);
    assert_int_equal(k, 2); /* first close + one revision with all five */
    assert_int_equal(b->revision, 1);
    assert_int_equal(b->trades, 6);
    assert_int_equal(b->sell_volume, 5);
}

static void test_candles_rescale_keeps_the_revisable_bar_exact(void **state)
{
    book_candles_t cs;
    book_candle_cfg_t cfg = {.interval_ns = {MIN}, .n_intervals = 1};
    book_candles_init(&cs, &cfg);
    book_candles_trade(&cs, 10 * S, 123, 4, TG_SIDE_BUY, NULL, NULL);
    book_candles_advance(&cs, MIN + 3 * S, NULL, NULL); /* closed by a clock */
    assert_int_equal(book_candles_rescale(&cs, 1, 2), 0);
    /* a late trade at the new scales revises the old bar at the new scales */
    assert_false(book_candles_trade(&cs, 20 * S, 1235, 100, TG_SIDE_BUY, NULL, NULL));
    assert_int_equal(cs.iv[0].done.volume, 500);
    assert_int_equal(cs.iv[0].done.low, 1230);
    assert_int_equal(cs.iv[0].done.high, 1235);
    assert_true(cs.iv[0].done.notional == (__int128)1230 * 400 + (__int128)1235 * 100);
}

static void test_bar_closed_by_a_later_trade_keeps_the_tardis_rule(void **state)
{
    /* a venue's out-of-order trade after a newer minute's trade: the current bar takes it
       (late), the closed bar stays as it was (the golden oracle's rule) */
    book_candles_t cs;
    book_candle_cfg_t cfg = {.interval_ns = {MIN}, .n_intervals = 1};
    book_candles_init(&cs, &cfg);
    book_candles_trade(&cs, 10 * S, 100, 1, TG_SIDE_BUY, NULL, NULL);
    book_candles_trade(&cs, MIN + 1, 110, 1, TG_SIDE_BUY, NULL, NULL);
    assert_true(book_candles_trade(&cs, 30 * S, 90, 1, TG_SIDE_BUY, NULL, NULL));
    assert_int_equal(cs.late, 1);
    assert_int_equal(cs.rev_dirty, 0);
    assert_int_equal(cs.iv[0].c.trades, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup_same_key_is_a_duplicate_other_ids_or_times_are_not),
        cmocka_unit_test(test_dedup_window_remembers_exactly_the_last_n_keys),
        cmocka_unit_test_setup_teardown(
            test_redelivered_trades_after_a_reconnect_count_once_in_candles, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bar_closed_by_the_wall_clock_is_revised_by_its_late_trades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revisions_of_one_round_are_emitted_once, setup,
                                        teardown),
        cmocka_unit_test(test_candles_rescale_keeps_the_revisable_bar_exact),
        cmocka_unit_test(test_bar_closed_by_a_later_trade_keeps_the_tardis_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
