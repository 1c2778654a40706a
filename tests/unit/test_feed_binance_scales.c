/* SPDX-License-Identifier: MIT */
/*
 * Binance exact decimals at every scale: 11-place REST snapshots, 2- and 11-place levels in one
 * diff, 1e-12 .. 1e7 prices, 1e-8 .. 1e12 sizes, both parsers agreeing, buffered diffs keeping
 * their scale, re-parse after a scale change, a value no scale holds faulting the book.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_checks.h"
#include "tests/fixtures/binance_frames.h"

/* ---- exact decimals at every scale ---- */

static void test_binance_rest_snapshot_of_11_places_and_a_diff_mixing_2_and_11(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: SHIBUSDT,PEPEUSDT\n"
        "1 {\"stream\":\"pepeusdt@depthSnapshot\",\"generated\":true,\"data\":{"
        "\"lastUpdateId\":10,\"bids\":[[\"12.34\",\"1.5\"]],\"asks\":[[\""
        "12.35\",\"2\"]]}}\n";
    for (int path = 0; path < 2; path++) {
        fv_run_t r;
        fv_run_text(&r, rec, sizeof(rec) - 1, path ? bn_slow_only : NULL);
        feed_handler_t *h = &r.off->h;
        uint32_t shib = h->instr[0], pepe = h->instr[1];
        assert_int_equal(feed_px_scale(h, pepe), 8); /* "12.34" needs no more */
        /* the REST answer for SHIBUSDT (symbol 0 of this connection): 11-place prices */
        static const char body[] =
            "{\"lastUpdateId\":100,\"bids\":[[\"0.00000074408\",\"1000000000.5\"],[\"0."
            "00000074407\","
            "\"0.00000001\"]],\"asks\":[[\"0.00000074409\",\"12345678.12345678\"]]}";
        feed_bn_t *bn = h->vstate;
        size_t from = r.n_ev;
        assert_int_equal(feed_rest(h, (uint64_t)bn->gen << 32, 200, body, sizeof(body) - 1, 5, 5),
                         0);
        feed_flush(h);
        assert_int_equal(feed_px_scale(h, shib), 11);
        assert_int_equal(feed_sz_scale(h, shib), 8);
        static const vh_want_t w1[] = {{L_, B_, "0.00000074408", "1000000000.5"},
                                       {L_, B_, "0.00000074407", "0.00000001"},
                                       {L_, A_, "0.00000074409", "12345678.12345678"}};
        vh_assert_levels(&r, from, w1, 3);
        /* PEPEUSDT (live at scale 8): one diff, first level 2 places, a later one 11 */
        from = r.n_ev;
        bn_feed_text(
            h, "{\"stream\":\"pepeusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,"
               "\"s\":\"PEPEUSDT\",\"U\":11,\"u\":12,\"b\":[[\"12.33\",\"3\"],[\"0.00000074411\""
               ",\"7.25\"]],\"a\":[[\"12.36\",\"0.00000001\"],[\"99999.99\",\"1e3\"]]}}");
        assert_int_equal(feed_px_scale(h, pepe), 11);
        static const vh_want_t w2[] = {{L_, B_, "12.33", "3"},
                                       {L_, B_, "0.00000074411", "7.25"},
                                       {L_, A_, "12.36", "0.00000001"},
                                       {L_, A_, "99999.99", "1000"}};
        vh_assert_levels(&r, from, w2, 4);
        for (size_t i = from; i < r.n_ev; i++)
            assert_int_equal(r.ev[i].seq, 12); /* applied once, after the re-parse */
        /* SHIBUSDT diff at its new scale, trade at 11 places */
        from = r.n_ev;
        bn_feed_text(h,
                     "{\"stream\":\"shibusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,"
                     "\"s\":\"SHIBUSDT\",\"U\":101,\"u\":101,\"b\":[[\"0.00000074408\",\"0\"]],"
                     "\"a\":[]}}");
        bn_feed_text(h, "{\"stream\":\"shibusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":"
                        "\"SHIBUSDT\",\"t\":5,\"p\":\"0.00000074409\",\"q\":\"250000000.00000001\","
                        "\"T\":2,\"m\":true,\"M\":true}}");
        static const vh_want_t w3[] = {{L_, B_, "0.00000074408", "0"},
                                       {T_, A_, "0.00000074409", "250000000.00000001"}};
        vh_assert_levels(&r, from, w3, 2);
        const feed_stats_t *s = &r.off->stats;
        assert_int_equal(TG_STAT_GET(s->rescales), 2); /* SHIB price, PEPE price */
        assert_int_equal(TG_STAT_GET(s->gaps), 0);
        assert_int_equal(TG_STAT_GET(s->stale_dropped), 0);
        assert_int_equal(fv_errors(s), 0);
        assert_int_equal(TG_STAT_GET(s->frames), 5); /* 4 frames + the REST answer */
        assert_int_equal(TG_STAT_GET(s->handled), 5);
        assert_true(fv_accounted(s));
        /* each counted once in fast or slow, not again for the abandoned first parse */
        assert_int_equal(TG_STAT_GET(s->fast_path) + TG_STAT_GET(s->slow_path), 5);
        fv_free(&r);
    }
}

/* TINYUSDT from 1e-12; HUGEUSDT to 1e7 with sizes to 1e12 (scales 0/0 to start) */
static void test_binance_prices_from_1e_minus_12_to_1e7_and_sizes_to_1e12_are_exact(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance-futures\n# symbols: TINYUSDT,HUGEUSDT\n"
        "1 {\"stream\":\"tinyusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"0.01\",\"1\"],[\"0.000000000001\",\"0.00000001\"]],\"asks\":"
        "[[\"0.1000000000009\",\"90000000000\"]]}}\n"
        "2 {\"stream\":\"hugeusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"9999999\",\"1000000000000\"],[\"9999998.5\",\"0.5\"]],"
        "\"asks\":[[\"10000000\",\"999999999999.99\"],[\"10000000.01\",\"1\"]]}}\n"
        "3 {\"stream\":\"hugeusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":2,\"a\":1,\"s\":"
        "\"HUGEUSDT\",\"p\":\"10000000.00\",\"q\":\"1000000000000\",\"f\":1,\"l\":1,\"T\":2,\"m\":"
        "false}}\n"
        "4 {\"stream\":\"tinyusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":2,\"a\":2,\"s\":"
        "\"TINYUSDT\",\"p\":\"0.000000000002\",\"q\":\"0.00000001\",\"f\":1,\"l\":1,\"T\":2,\"m\":"
        "true}}\n";
    static const vh_want_t w[] = {
        {L_, B_, "0.01", "1"},
        {L_, B_, "0.000000000001", "0.00000001"},
        {L_, A_, "0.1000000000009", "90000000000"},
        {L_, B_, "9999999", "1000000000000"},
        {L_, B_, "9999998.5", "0.5"},
        {L_, A_, "10000000", "999999999999.99"},
        {L_, A_, "10000000.01", "1"},
        {T_, B_, "10000000", "1000000000000"},
        {T_, A_, "0.000000000002", "0.00000001"},
    };
    fv_run_t a;
    vh_run_exact(&a, rec, sizeof(rec) - 1, w, sizeof(w) / sizeof(w[0]), 13);
    fv_free(&a);
}

static void slow_huge_lots(feed_handler_t *h)
{
    vh_huge_lots(h);
    bn_slow_only(h);
}

static void test_binance_extreme_scales_same_events_on_both_parsers(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance-futures\n# symbols: TINYUSDT,HUGEUSDT\n"
        "1 {\"stream\":\"tinyusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"0.01\",\"1\"],[\"0.000000000001\",\"0.00000001\"]],\"asks\":"
        "[]}}\n"
        "2 {\"stream\":\"hugeusdt@depthSnapshot\",\"generated\":true,\"data\":{\"lastUpdateId\":5,"
        "\"E\":1,\"T\":1,\"bids\":[[\"9999999\",\"1000000000000\"]],\"asks\":[]}}\n"
        "3 "
        "{\"stream\":\"tinyusdt@depth@0ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":2,\"T\":2,\"s\":"
        "\"TINYUSDT\",\"U\":5,\"u\":6,\"pu\":4,\"b\":[[\"0.02\",\"2\"],[\"0.0000000000015\",\"3\"]]"
        ","
        "\"a\":[]}}\n";
    fv_run_t a = {0}, b = {0};
    a.keep_events = b.keep_events = 1;
    assert_int_equal(fv_run(&a, NULL, rec, sizeof(rec) - 1, vh_huge_lots), 0);
    assert_int_equal(fv_run(&b, NULL, rec, sizeof(rec) - 1, slow_huge_lots), 0);
    assert_int_equal(TG_STAT_GET(b.off->stats.fast_path), 0);
    assert_true(TG_STAT_GET(a.off->stats.fast_path) > 0);
    assert_int_equal(a.n_ev, b.n_ev);
    assert_memory_equal(a.ev, b.ev, a.n_ev * sizeof(tg_event_t));
    static const vh_want_t w[] = {
        {L_, B_, "0.01", "1"},
        {L_, B_, "0.000000000001", "0.00000001"},
        {L_, B_, "9999999", "1000000000000"},
        {L_, B_, "0.02", "2"},
        {L_, B_, "0.0000000000015", "3"},
    };
    vh_assert_levels(&a, 0, w, sizeof(w) / sizeof(w[0]));
    fv_free(&a);
    fv_free(&b);
}

static void test_binance_buffered_diffs_keep_the_scale_they_were_read_at(void **state)
{
    /* WAIT: diff 1 buffered at scale 8, diff 2 raises the scale to 11 while 1 is still
     * buffered; the snapshot replays both, each at its own scale, exactly */
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " BN_DIFF(99, 101, "[[\"2.5\",\"1.25\"]]", "[]") "2 " BN_DIFF(
            102, 103, "[[\"2.50000000001\",\"2\"]]",
            "[[\"3.00000000007\",\"0.00000001\"]]") "3 " BN_SNAP(100, "[[\"1.5\",\"5\"]]",
                                                                 "[[\"3.5\",\"5\"]]");
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->buffered), 2); /* not 3: the re-parse buffers once */
    assert_int_equal(TG_STAT_GET(s->stale_dropped), 0);
    assert_int_equal(TG_STAT_GET(s->gaps), 0);
    assert_int_equal(TG_STAT_GET(s->rescales), 1);
    assert_int_equal(TG_STAT_GET(s->handled), 3);
    assert_true(fv_accounted(s));
    static const vh_want_t w[] = {
        {L_, B_, "1.5", "5"},
        {L_, A_, "3.5", "5"},
        {L_, B_, "2.5", "1.25"},
        {L_, B_, "2.50000000001", "2"},
        {L_, A_, "3.00000000007", "0.00000001"},
    };
    vh_assert_levels(&r, 0, w, sizeof(w) / sizeof(w[0]));
    int at8 = 0, at11 = 0;
    for (size_t i = 0; i < r.n_ev; i++)
        if (r.ev[i].kind == TG_EV_LEVEL) {
            at8 += r.ev[i].px_scale == 8;
            at11 += r.ev[i].px_scale == 11;
            if (r.ev[i].seq == 101)
                assert_int_equal(r.ev[i].px_scale, 8); /* buffered before the raise */
        }
    assert_int_equal(at8, 1);
    assert_int_equal(at11, 4); /* the snapshot came after the raise */
    fv_free(&r);
}

static void test_binance_a_value_no_scale_holds_faults_the_book_and_applies_nothing(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: binance\n# symbols: BTCUSDT\n"
        "1 " BN_SNAP(100, "[[\"1.5\",\"5\"]]", "[]") "2 " BN_DIFF(
            101, 101, "[[\"1.6\",\"1\"],[\"1.0000000000000000001\",\"1\"]]", "[]") /* 19 */
        "3 " BN_DIFF(102, 102, "[[\"1.7\",\"1\"],[\"1.8\",\"100000000000000000000\"]]",
                     "[]") /* 1e20 */;
    fv_run_t r;
    const feed_stats_t *s = fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    assert_int_equal(TG_STAT_GET(s->err_decimal), 2);
    assert_true(TG_STAT_GET(s->unrepresentable) >= 1);
    assert_true(fv_accounted(s));
    int fault = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        fault += r.ev[i].kind == TG_EV_GAP && (r.ev[i].flags & TG_EVF_FAULT);
        if (r.ev[i].kind == TG_EV_LEVEL)
            assert_true(r.ev[i].flags & TG_EVF_SNAPSHOT); /* nothing of either diff */
    }
    assert_true(fault >= 1);
    const ref_book_t *b = &r.book[r.off->h.instr[0]];
    assert_int_equal(b->bid.n, 1);
    fv_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_rest_snapshot_of_11_places_and_a_diff_mixing_2_and_11),
        cmocka_unit_test(test_binance_prices_from_1e_minus_12_to_1e7_and_sizes_to_1e12_are_exact),
        cmocka_unit_test(test_binance_extreme_scales_same_events_on_both_parsers),
        cmocka_unit_test(test_binance_buffered_diffs_keep_the_scale_they_were_read_at),
        cmocka_unit_test(test_binance_a_value_no_scale_holds_faults_the_book_and_applies_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
