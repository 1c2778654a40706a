/* SPDX-License-Identifier: MIT */
/*
 * Coinbase (legacy Exchange feed) handler against its recording and the tardis oracle: final
 * top-10 books, trades (count, aggressor sides, amount), no gaps on clean data, a removed match
 * detected as a trade-id gap, and mutated frames accounted for without a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "book/tg_dec.h"
#include "book/tg_instr.h"

static char g_paths[8][512];
static int g_n;

static int setup(void **state)
{
    g_n = fv_list("coinbase", g_paths, 8);
    return g_n > 0 ? 0 : -1;
}

/* Every one of the n oracle levels l parses (at in's scales) to side s's level exactly. */
static void side_equals(const ref_side_t *s, const oracle_level_t *l, int n, const tg_instr_t *in)
{
    for (int k = 0; k < n; k++) {
        int64_t px, sz;
        assert_int_equal(oracle_dec(l[k].px, in->px_scale, &px, NULL), 0);
        assert_int_equal(oracle_dec(l[k].sz, in->sz_scale, &sz, NULL), 0);
        assert_int_equal(s->px[k], px);
        assert_int_equal(s->sz[k], sz);
    }
}

/* Every product's book of the run r is the oracle's exactly, and so are its trades; some have
 * books and some trades. */
static void books_and_trades_equal_the_oracle(const fv_run_t *r, oracle_t *o, const char *path)
{
    int books = 0, trades = 0;
    for (uint32_t i = 0; i < r->off->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(r->off->reg, r->off->h.instr[i]);
        const oracle_sym_t *y = oracle_find(o, in->symbol);
        assert_non_null(y);
        const ref_book_t *b = &r->book[in->id];
        assert_true(b->have_snapshot);
        vh_assert_depth(b, y);
        side_equals(&b->bid, y->bids, y->n_bids, in);
        side_equals(&b->ask, y->asks, y->n_asks, in);
        books += y->n_bids > 0;
        fv_assert_trades_equal(r, in, y);
        trades += y->trades != 0;
    }
    assert_true(books > 0 && trades > 0);
}

static void test_coinbase_books_and_trades_match_the_oracle(void **state)
{
    fv_each_with_oracle(g_paths, g_n, books_and_trades_equal_the_oracle);
}

static void test_coinbase_clean_recording_has_no_gaps_and_no_errors(void **state)
{
    fv_assert_clean_all(g_paths, g_n, FV_CLEAN_SNAPSHOTS | FV_CLEAN_NO_STALE);
}

/* remove the n-th "type":"match" line */
static char *drop_match(const char *path, int which, size_t *len_out)
{
    size_t len = 0;
    char *t = fv_load_text(path, &len);
    assert_non_null(t);
    fv_drop_line(t, &len, fv_nth(t, "{\"type\":\"match\"", which + 1));
    *len_out = len;
    return t;
}

static void test_coinbase_a_removed_match_is_counted_as_a_gap(void **state)
{
    /* find a match whose product trades again later, so the hole is visible */
    for (int f = 0; f < g_n; f++) {
        size_t len = 0;
        char *t = drop_match(g_paths[f], 5, &len);
        fv_run_t r = {0};
        assert_int_equal(fv_run(&r, NULL, t, len, NULL), 0);
        assert_int_equal(TG_STAT_GET(r.off->stats.gaps), 1);
        assert_int_equal(fv_errors(&r.off->stats), 0);
        fv_free(&r);
        free(t);
    }
}

static void test_coinbase_mutated_frames_never_crash_and_are_all_accounted(void **state)
{
    for (int f = 0; f < g_n; f++) {
        feed_stats_t st;
        size_t fed = fv_fuzz(g_paths[f], 8000, 777 + (uint64_t)f, &st);
        assert_int_equal(fed, 8000);
        fv_assert_fuzz_counted(&st, fed);
    }
}

static void test_coinbase_subscribes_level2_and_matches_for_all_products(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: coinbase\n# symbols: BTC-USD,ETH-EUR\n";
    fv_run_t r = {0};
    assert_int_equal(fv_run(&r, NULL, rec, sizeof(rec) - 1, NULL), 0);
    feed_handler_t *h = &r.off->h;
    fv_cap_t *c = fv_open_captured(h);
    assert_int_equal(c->n_sent, 1);
    assert_string_equal(c->sent[0], "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\","
                                    "\"ETH-EUR\"],\"channels\":[\"level2\",\"matches\"]}");
    free(c);
    fv_free(&r);
}

static void test_coinbase_times_are_converted_to_ns_exactly(void **state)
{
    static const char rec[] =
        "# tgrec 1\n# venue: coinbase\n# symbols: BTC-USD\n"
        "1 {\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"bids\":[[\"10.5\",\"1\"]],"
        "\"asks\":[[\"11\",\"2\"]]}\n"
        "2 {\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\",\"10.6\","
        "\"3\"]],\"time\":\"2021-04-17T16:43:37.075687Z\"}\n"
        "3 {\"type\":\"match\",\"trade_id\":7,\"side\":\"sell\",\"size\":\"0.5\",\"price\":"
        "\"11\",\"product_id\":\"BTC-USD\",\"sequence\":50,\"time\":\"2000-02-29T00:00:00Z\"}\n"
        "4 {\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\",\"10.6\","
        "\"3\"]],\"time\":\"2021-13-17T16:43:37Z\"}\n";
    fv_run_t r;
    fv_run_text(&r, rec, sizeof(rec) - 1, NULL);
    /* date -u -d 2021-04-17T16:43:37Z +%s = 1618677817; 2000-02-29 = 951782400 */
    int lv = 0, tr = 0;
    for (size_t i = 0; i < r.n_ev; i++) {
        const tg_event_t *e = &r.ev[i];
        if (e->kind == TG_EV_LEVEL && !(e->flags & TG_EVF_SNAPSHOT)) {
            assert_int_equal(e->ts_exch, 1618677817075687000LL);
            lv++;
        }
        if (e->kind == TG_EV_TRADE) {
            assert_int_equal(e->ts_exch, 951782400000000000LL);
            assert_int_equal(e->side, TG_SIDE_BUY); /* maker sold */
            assert_int_equal(e->u.trade_id, 7);
            assert_int_equal(e->seq, 50);
            tr++;
        }
    }
    assert_int_equal(lv, 1);
    assert_int_equal(tr, 1);
    /* month 13: a field error, and the book (valid until then) is invalidated */
    assert_int_equal(TG_STAT_GET(r.off->stats.err_field), 1);
    assert_int_equal(r.gap_events, 1);
    assert_int_equal(TG_STAT_GET(r.off->stats.resyncs), 1);
    fv_free(&r);
}

/* Mixed places in one message (2, then 12), 11-place and 12-place values, prices up to 1e7 and
 * sizes 1e-8 .. 9.2e10, trades that raise a scale without breaking the trade-id/sequence
 * chain; a size of 1e12 at 8 places cannot be held: FAULT, counted err_decimal. */
static void test_coinbase_extreme_scales_books_and_trades_are_exact(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("coinbase", "SHIB-USD,BTC-USD", &x);
    uint32_t shib = xs_id(o, "SHIB-USD"), btc = xs_id(o, "BTC-USD");
    assert_int_equal(xs_feed(o, "{\"type\":\"snapshot\",\"product_id\":\"SHIB-USD\",\"bids\":[["
                                "\"0.12\",\"1\"],[\"0.000000000001\",\"5\"]],\"asks\":[["
                                "\"0.00000074408\",\"3417800000\"],[\"0.13\",\"0.00000001\"]]}"),
                     0);
    assert_int_equal(feed_px_scale(&o->h, shib), 12);
    size_t from = 0;
    static const char *const ev1[][3] = {{"0.12", "1", "b"},
                                         {"0.000000000001", "5", "b"},
                                         {"0.00000074408", "3417800000", "a"},
                                         {"0.13", "0.00000001", "a"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev1, 4);
    assert_int_equal(
        xs_feed(o, "{\"type\":\"l2update\",\"product_id\":\"SHIB-USD\",\"changes\":[[\"buy\","
                   "\"0.12\",\"0\"],[\"sell\",\"0.000000744081\",\"92233720368\"]],\"time\":"
                   "\"2021-04-17T16:43:37.075687Z\"}"),
        0);
    static const char *const ev2[][3] = {{"0.12", "0", "b"},
                                         {"0.000000744081", "92233720368", "a"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 2);
    static const char *const sa[][2] = {
        {"0.00000074408", "3417800000"}, {"0.000000744081", "92233720368"}, {"0.13", "0.00000001"}};
    static const char *const sb[][2] = {{"0.000000000001", "5"}};
    xs_book_side(x, shib, 0, sa, 3);
    xs_book_side(x, shib, 1, sb, 1);
    assert_int_equal(xs_feed(o, "{\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"bids\":[["
                                "\"9999999.99\",\"0.00000001\"]],\"asks\":[[\"10000000\","
                                "\"92233720368\"]]}"),
                     0);
    static const char *const ba[][2] = {{"10000000", "92233720368"}};
    xs_book_side(x, btc, 0, ba, 1);
    assert_int_equal(
        xs_feed(o, "{\"type\":\"match\",\"trade_id\":10,\"maker_order_id\":\"a\","
                   "\"taker_order_id\":\"b\",\"side\":\"sell\",\"size\":\"0.00000001\",\"price\":"
                   "\"10000000\",\"product_id\":\"BTC-USD\",\"sequence\":50,\"time\":"
                   "\"2021-04-17T16:43:37.075687Z\"}"),
        0);
    /* 9 places: the price scale rises, the frame is parsed again, the trade counted once */
    assert_int_equal(
        xs_feed(o, "{\"type\":\"match\",\"trade_id\":11,\"maker_order_id\":\"a\","
                   "\"taker_order_id\":\"b\",\"side\":\"buy\",\"size\":\"92233720368\",\"price\":"
                   "\"9999999.123456789\",\"product_id\":\"BTC-USD\",\"sequence\":51,\"time\":"
                   "\"2021-04-17T16:43:37.075688Z\"}"),
        0);
    assert_int_equal(feed_px_scale(&o->h, btc), 9);
    static const char *const tr[][3] = {{"10000000", "0.00000001", "b"},
                                        {"9999999.123456789", "92233720368", "a"}};
    size_t tf = 0;
    xs_expect(x, &tf, TG_EV_TRADE, tr, 2);
    assert_int_equal(x->trades, 2);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 0);
    assert_int_equal(TG_STAT_GET(o->stats.handled), 5);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(x->unstamped, 0);
    assert_int_equal(x->gaps, 0);
    /* 1e12 at 8 size places does not fit int64 */
    assert_int_equal(
        xs_feed(o, "{\"type\":\"l2update\",\"product_id\":\"SHIB-USD\",\"changes\":[[\"buy\","
                   "\"0.1\",\"1000000000000\"]],\"time\":\"2021-04-17T16:43:38Z\"}"),
        TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(x->faults, 1);
    xs_book_side(x, shib, 1, sb, 1);
    xs_close(&o, x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coinbase_books_and_trades_match_the_oracle),
        cmocka_unit_test(test_coinbase_clean_recording_has_no_gaps_and_no_errors),
        cmocka_unit_test(test_coinbase_a_removed_match_is_counted_as_a_gap),
        cmocka_unit_test(test_coinbase_mutated_frames_never_crash_and_are_all_accounted),
        cmocka_unit_test(test_coinbase_subscribes_level2_and_matches_for_all_products),
        cmocka_unit_test(test_coinbase_times_are_converted_to_ns_exactly),
        cmocka_unit_test(test_coinbase_extreme_scales_books_and_trades_are_exact),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
