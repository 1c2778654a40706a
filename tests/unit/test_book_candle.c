/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of book_candle: bucket alignment, boundaries, empty intervals, late trades,
 * day rollover and exact vwap (checked against a brute-force long-division reference).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "book/book_candle.h"
#include "book/tg_clock.h"

#define S   TG_NS_PER_SEC
#define MIN (60 * S)

typedef struct sink {
    book_out_candle_t c[64];
    int n;
} sink_t;

static void collect(void *ctx, const book_out_candle_t *c)
{
    sink_t *s = ctx;
    if (s->n < 64)
        s->c[s->n++] = *c;
}

static void one_minute(book_candles_t *cs)
{
    book_candle_cfg_t cfg = {.interval_ns = {MIN}, .n_intervals = 1};
    book_candles_init(cs, &cfg);
}

static void test_candle_trades_in_one_bucket_form_ohlcv(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    int64_t t0 = 1700000000LL * S; /* 22:13:20, mid-minute */
    book_candles_trade(&cs, t0, 100, 5, TG_SIDE_BUY, collect, &s);
    book_candles_trade(&cs, t0 + 1, 120, 1, TG_SIDE_SELL, collect, &s);
    book_candles_trade(&cs, t0 + 2, 90, 2, TG_SIDE_SELL, collect, &s);
    book_candles_trade(&cs, t0 + 3, 110, 2, TG_SIDE_NONE, collect, &s);
    assert_int_equal(s.n, 0);
    book_out_candle_t c;
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_int_equal(c.start_ns, 1699999980LL * S);
    assert_int_equal(c.open, 100);
    assert_int_equal(c.high, 120);
    assert_int_equal(c.low, 90);
    assert_int_equal(c.close, 110);
    assert_int_equal(c.volume, 10);
    assert_int_equal(c.buy_volume, 5);
    assert_int_equal(c.sell_volume, 3);
    assert_int_equal(c.trades, 4);
    assert_int_equal(c.closed, 0);
    /* (500 + 120 + 180 + 220) / 10 = 102 */
    assert_int_equal(c.vwap, 102);
}

static void test_candle_trade_exactly_on_the_boundary_opens_the_next_bucket(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    book_candles_trade(&cs, 10 * MIN + 59 * S, 100, 1, TG_SIDE_BUY, collect, &s);
    book_candles_trade(&cs, 11 * MIN, 200, 1, TG_SIDE_BUY, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].start_ns, 10 * MIN);
    assert_int_equal(s.c[0].close, 100);
    assert_int_equal(s.c[0].closed, 1);
    book_out_candle_t c;
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_int_equal(c.start_ns, 11 * MIN);
    assert_int_equal(c.open, 200);
}

static void
test_candle_closes_on_clock_without_trades_and_empty_intervals_give_no_rows(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    book_candles_trade(&cs, 5 * MIN + 1, 100, 1, TG_SIDE_BUY, collect, &s);
    book_candles_advance(&cs, 6 * MIN - 1, collect, &s);
    assert_int_equal(s.n, 0);
    book_candles_advance(&cs, 6 * MIN, collect, &s); /* end reached: closes */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].start_ns, 5 * MIN);
    book_candles_advance(&cs, 60 * MIN, collect, &s); /* 54 empty minutes: nothing */
    assert_int_equal(s.n, 1);
    book_out_candle_t c;
    assert_false(book_candles_forming(&cs, 0, &c));
    book_candles_trade(&cs, 60 * MIN + 5, 300, 1, TG_SIDE_SELL, collect, &s);
    book_candles_advance(&cs, 61 * MIN, collect, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.c[1].start_ns, 60 * MIN);
    assert_int_equal(s.c[1].open, 300);
}

static void test_candle_late_trade_is_counted_and_goes_to_the_current_candle(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    book_candles_trade(&cs, 1 * MIN + 1, 100, 1, TG_SIDE_BUY, collect, &s);
    book_candles_trade(&cs, 2 * MIN + 1, 110, 1, TG_SIDE_BUY, collect, &s);
    assert_int_equal(s.n, 1);
    bool late = book_candles_trade(&cs, 1 * MIN + 30 * S, 50, 3, TG_SIDE_SELL, collect, &s);
    assert_true(late);
    assert_int_equal(cs.late, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].volume, 1); /* the closed candle is final */
    book_out_candle_t c;
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_int_equal(c.start_ns, 2 * MIN);
    assert_int_equal(c.volume, 4);
    assert_int_equal(c.low, 50);
    assert_int_equal(c.close, 110); /* older than the newest trade: not the close */
    assert_int_equal(c.trades, 2);
    /* out of order inside the bucket: not late, not the close either */
    assert_false(book_candles_trade(&cs, 2 * MIN, 120, 1, TG_SIDE_BUY, collect, &s));
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_int_equal(c.close, 110);
    assert_int_equal(c.high, 120);
}

static void test_candle_day_rolls_over_at_midnight_utc(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    book_candle_cfg_t cfg;
    book_candle_cfg_defaults(&cfg);
    book_candles_init(&cs, &cfg);
    int64_t midnight = 1700006400LL * S; /* 2023-11-15 00:00:00 UTC */
    book_candles_trade(&cs, midnight - 1, 100, 1, TG_SIDE_BUY, collect, &s);
    book_candles_trade(&cs, midnight, 101, 1, TG_SIDE_BUY, collect, &s);
    /* 1s, 1m, 5m, 1h and 1d all close at midnight */
    assert_int_equal(s.n, 5);
    assert_int_equal(s.c[4].interval_ns, 86400 * S);
    assert_int_equal(s.c[4].start_ns, midnight - 86400 * S);
    assert_int_equal(s.c[3].start_ns, midnight - 3600 * S);
    assert_int_equal(book_candle_bucket(-1, MIN), -MIN);
    assert_int_equal(book_candle_bucket(-MIN, MIN), -MIN);
}

static int64_t ref_vwap(__int128 num, int64_t den)
{
    /* reference: schoolbook digits of |num| / den, then round half away from zero */
    int neg = num < 0;
    unsigned __int128 a = neg ? (unsigned __int128)(-num) : (unsigned __int128)num;
    unsigned __int128 q = 0, r = 0;
    for (int bit = 127; bit >= 0; bit--) {
        r = (r << 1) | ((a >> bit) & 1);
        q <<= 1;
        if (r >= (unsigned __int128)den) {
            r -= (unsigned __int128)den;
            q |= 1;
        }
    }
    if (2 * r >= (unsigned __int128)den)
        q++;
    return neg ? -(int64_t)q : (int64_t)q;
}

static void test_candle_vwap_is_exact_for_large_notionals(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    /* BTC at 8 decimals: 61837.63 x 1234.56789012 many times exceeds int64 notional */
    int64_t px[] = {6183763000000LL, 6183764000000LL, 6183761000000LL};
    int64_t sz[] = {123456789012LL, 1LL, 99999999999LL};
    __int128 num = 0;
    int64_t vol = 0;
    for (int k = 0; k < 3000; k++) {
        int i = k % 3;
        book_candles_trade(&cs, MIN + k, px[i], sz[i], TG_SIDE_BUY, collect, &s);
        num += (__int128)px[i] * sz[i];
        vol += sz[i];
    }
    book_out_candle_t c;
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_true(c.notional == num);
    assert_int_equal(c.vwap, ref_vwap(num, vol));
    /* half rounds away from zero */
    assert_int_equal(book_candle_vwap(5, 2), 3);
    assert_int_equal(book_candle_vwap(-5, 2), -3);
    assert_int_equal(book_candle_vwap(7, 3), 2);
    assert_int_equal(book_candle_vwap(0, 0), 0);
}

static void test_candle_interval_text_parses(void **state)
{
    int64_t ns;
    assert_int_equal(book_candle_parse_interval("1m", &ns), 0);
    assert_int_equal(ns, MIN);
    assert_int_equal(book_candle_parse_interval("1d", &ns), 0);
    assert_int_equal(ns, 86400 * S);
    assert_int_equal(book_candle_parse_interval("250ms", &ns), 0);
    assert_int_equal(ns, 250 * TG_NS_PER_MS);
    assert_int_equal(book_candle_parse_interval("5x", &ns), -EINVAL);
    assert_int_equal(book_candle_parse_interval("0s", &ns), -EINVAL);
}

static void test_candle_old_first_trade_after_book_time_opens_its_own_bar(void **state)
{
    book_candles_t cs;
    sink_t s = {0};
    one_minute(&cs);
    int64_t m0 = 1699999980LL * S;                                 /* a minute boundary */
    book_candles_advance(&cs, m0 + 2 * MIN + 50 * S, collect, &s); /* book messages */
    /* the venue repeats its last trade, from two minutes ago, on subscribe */
    assert_false(book_candles_trade(&cs, m0 + 5 * S, 100, 1, TG_SIDE_BUY, collect, &s));
    assert_int_equal(cs.late, 0);
    book_out_candle_t c;
    assert_true(book_candles_forming(&cs, 0, &c));
    assert_int_equal(c.start_ns, m0);
    /* the next later time closes it as its own bar */
    book_candles_advance(&cs, m0 + 2 * MIN + 51 * S, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0].start_ns, m0);
    assert_int_equal(s.c[0].trades, 1);
    /* a trade of a minute already emitted, closed by a clock, revises that bar: never a
       second bar for that minute */
    assert_false(book_candles_trade(&cs, m0 + 6 * S, 101, 1, TG_SIDE_BUY, collect, &s));
    assert_int_equal(cs.late, 0);
    assert_int_equal(cs.revised, 1);
    assert_false(book_candles_forming(&cs, 0, &c));
    book_candles_flush_revisions(&cs, collect, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.c[1].start_ns, m0);
    assert_int_equal(s.c[1].trades, 2);
    assert_int_equal(s.c[1].revision, 1);
    assert_int_equal(s.c[1].close, 101);
}

/* Candles allocated for their intervals only (book_candles_size(), as the builder does): init,
 * trades, closes, revisions, forming and rescale touch iv[0, n) only (ASan: a byte past the
 * allocation is an error), and give what a full book_candles_t gives. */
static void test_candles_sized_for_their_intervals_stay_inside_and_match_a_full_struct(void **st)
{
    static const uint32_t ns[] = {0, 1, 2, 5, BOOK_CANDLE_IV_MAX};
    for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
        book_candle_cfg_t cfg = {.n_intervals = ns[k]};
        for (uint32_t i = 0; i < ns[k]; i++)
            cfg.interval_ns[i] = (int64_t)(i + 1) * S;
        book_candles_t *cs = malloc(book_candles_size(ns[k]));
        book_candles_t full;
        assert_non_null(cs);
        assert_true(book_candles_size(ns[k]) <= sizeof(full));
        book_candles_init(cs, &cfg);
        book_candles_init(&full, &cfg);
        sink_t a = {0}, b = {0};
        int64_t t0 = 1000 * S;
        for (int j = 0; j < 40; j++) {
            int64_t ts = t0 + j * (S / 4) - (j % 7 == 3 ? 3 * S : 0); /* some late trades */
            book_candles_trade(cs, ts, 100 + j, 1 + j % 3, TG_SIDE_BUY, collect, &a);
            book_candles_trade(&full, ts, 100 + j, 1 + j % 3, TG_SIDE_BUY, collect, &b);
            book_candles_flush_revisions(cs, collect, &a);
            book_candles_flush_revisions(&full, collect, &b);
        }
        assert_int_equal(book_candles_rescale(cs, 2, 1), 0);
        assert_int_equal(book_candles_rescale(&full, 2, 1), 0);
        book_candles_advance(cs, t0 + 30 * S, collect, &a);
        book_candles_advance(&full, t0 + 30 * S, collect, &b);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.c, b.c, (size_t)a.n * sizeof(a.c[0]));
        assert_int_equal(cs->n, ns[k]);
        for (uint32_t i = 0; i < ns[k]; i++) {
            book_out_candle_t x, y;
            bool fx = book_candles_forming(cs, i, &x);
            assert_int_equal(fx, book_candles_forming(&full, i, &y));
            if (fx)
                assert_memory_equal(&x, &y, sizeof(x));
        }
        if (ns[k])
            assert_true(a.n > 0);
        free(cs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candle_trades_in_one_bucket_form_ohlcv),
        cmocka_unit_test(test_candle_trade_exactly_on_the_boundary_opens_the_next_bucket),
        cmocka_unit_test(
            test_candle_closes_on_clock_without_trades_and_empty_intervals_give_no_rows),
        cmocka_unit_test(test_candle_late_trade_is_counted_and_goes_to_the_current_candle),
        cmocka_unit_test(test_candle_day_rolls_over_at_midnight_utc),
        cmocka_unit_test(test_candle_vwap_is_exact_for_large_notionals),
        cmocka_unit_test(test_candle_interval_text_parses),
        cmocka_unit_test(test_candle_old_first_trade_after_book_time_opens_its_own_bar),
        cmocka_unit_test(
            test_candles_sized_for_their_intervals_stay_inside_and_match_a_full_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
