/* SPDX-License-Identifier: MIT */
/*
 * BitMEX handler (feeds/feed_bitmex.c) against the recorded session (orderBookL2 partial +
 * insert/update/delete by id, trade) and the tardis-dev oracle: books, trades, the id -> price
 * map, unknown ids, bad input, and mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/xs_cases.h"
#include "book/tg_dec.h"
#include "feeds/venues/venues.h"

/* The recording (under $TG_RECORDINGS) and its oracle (under $TG_PEER_EXPECTED). */
#define BM_REC    "cryptofeed_1312c062_BITMEX-d944be.tgrec.zst"
#define BM_FILE   "bitmex/" BM_REC
#define BM_ORACLE BM_REC ".result.json"

static void test_bitmex_is_found_by_name(void **state)
{
    vh_assert_venue("bitmex", &feed_venue_bitmex, "wss://ws.bitmex.com/realtime", -1);
}

static void test_bitmex_books_and_trades_equal_the_oracle(void **state)
{
    oracle_t orc;
    feed_offline_t *o = NULL;
    long trades;
    vrun_t *v = vh_oracle_clean_run(BM_ORACLE, BM_FILE, 10, VH_OC_BOOK_MSGS | VH_OC_AMOUNTS, &orc,
                                    &o, &trades);
    assert_int_equal(trades, orc.trades);
    vrun_close(&o, v);
    oracle_free(&orc);
}

static void test_bitmex_update_and_delete_find_prices_by_id_and_unknown_ids_resync(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(BM_FILE), &v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "XBTM21", 6);
    assert_int_equal(
        vh_feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"filter\":{\"symbol\":"
                    "\"XBTM21\"},\"data\":[{\"symbol\":\"XBTM21\",\"id\":1,\"side\":\"Sell\","
                    "\"size\":5,\"price\":63700.5},{\"symbol\":\"XBTM21\",\"id\":2,\"side\":"
                    "\"Buy\",\"size\":7,\"price\":63690}]}"),
        0);
    assert_int_equal(vh_feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"update\",\"data\":[{"
                                 "\"symbol\":\"XBTM21\",\"id\":1,\"side\":\"Sell\",\"size\":9}]}"),
                     0);
    assert_int_equal(v->book[id].ask.n, 1);
    assert_int_equal(v->book[id].ask.px[0], 6370050000000);
    assert_int_equal(v->book[id].ask.sz[0], 90000);
    assert_int_equal(vh_feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"delete\",\"data\":[{"
                                 "\"symbol\":\"XBTM21\",\"id\":2,\"side\":\"Buy\"}]}"),
                     0);
    assert_int_equal(v->book[id].bid.n, 0);
    uint64_t sent = o->sent;
    assert_int_equal(vh_feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"delete\",\"data\":[{"
                                 "\"symbol\":\"XBTM21\",\"id\":2,\"side\":\"Buy\"}]}"),
                     0);
    assert_int_equal(v->gaps[id], 1); /* id 2 is gone: the book is out of sync */
    assert_int_equal(o->sent, sent + 2);
    vrun_close(&o, v);
}

static void test_bitmex_bad_input_is_counted(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(BM_FILE), &v);
    static const vh_frame_rc_t bad[] = {
        {"{\"table\":", TG_EJSON},
        {"{\"status\":400,\"error\":\"Unknown table: foo\"}", TG_EPROTO},
        {"{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{\"timestamp\":\"2021-04-05T18:"
         "41:18.601Z\",\"symbol\":\"FOO\",\"side\":\"Buy\",\"size\":1,\"price\":1}]}",
         TG_ESYMBOL},
        /* feed_dec: no scale holds it (was TG_EDEC_SYNTAX) */
        {"{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{\"timestamp\":\"2021-04-05T18:"
         "41:18.601Z\",\"symbol\":\"TRXM21\",\"side\":\"Buy\",\"size\":1,\"price\":1e999}]}",
         TG_EDEC_RANGE},
    };
    vh_frames_rc(o, 1000, bad, sizeof(bad) / sizeof(bad[0]));
    int64_t trx = tg_instr_reg_find(o->reg, o->h.venue_id, "TRXM21", 6);
    assert_int_equal(v->gaps[trx], 1); /* feed_dec's FAULT gap: the book cannot hold it */
    assert_true(v->last_gap.flags & TG_EVF_FAULT);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(vh_feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                                 "\"timestamp\":\"2021-13-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                                 "\"side\":\"Buy\",\"size\":1,\"price\":1}]}"),
                     TG_EFIELD);
    fv_assert_errs(&o->stats, 1, 1, 1, 1, 1);
    assert_int_equal(v->events, 1); /* only that FAULT gap */
    /* exact exchange time */
    assert_int_equal(vh_feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                                 "\"timestamp\":\"2021-04-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                                 "\"side\":\"Sell\",\"size\":7415,\"price\":0.00000216}]}"),
                     0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "TRXM21", 6);
    assert_int_equal(v->trades[id], 1);
    assert_int_equal(v->sells[id], 1);
    vrun_close(&o, v);
}

static uint64_t rng = 0x1234567887654321ull;
static void test_bitmex_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    (void)vh_fuzz_file(vh_rec(BM_FILE), vh_fuzz_iters(&rng, 10000), &rng, vh_mutate_bytes);
}

#define BMB(act) "{\"table\":\"orderBookL2\",\"action\":\"" act "\",\"data\":["

/* TRXU21 quotes 10 places (0.0000016425) and JSON exponents (1.65e-06): the partial raises
 * the price scale; updates and deletes by id take their price from the id map, which follows
 * every later raise (12, then 13 places in a frame that also resolves ids) exactly. */
static void test_bitmex_extreme_scales_trxu21_book_and_id_map_are_exact(void **state)
{
    static const char partial[] =
        "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"keys\":[\"symbol\","
        "\"id\",\"side\"],\"filter\":{\"symbol\":\"TRXU21\"},\"data\":["
        "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":\"Sell\",\"size\":1000,"
        "\"price\":0.0000016425},{\"symbol\":\"TRXU21\",\"id\":8799999200,\"side\":"
        "\"Sell\",\"size\":5,\"price\":1.65e-06},{\"symbol\":\"TRXU21\",\"id\":"
        "8799999300,\"side\":\"Buy\",\"size\":0.00000001,\"price\":0.00000164},"
        "{\"symbol\":\"TRXU21\",\"id\":8799999400,\"side\":\"Buy\",\"size\":7415,"
        "\"price\":1.6E-6}]}";
    xs_run_t *x;
    feed_offline_t *o = xs_open("bitmex", "TRXU21,XBTUSD", &x);
    uint32_t id = xs_id(o, "TRXU21");
    assert_int_equal(xs_feed(o, partial), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 10);
    assert_int_equal(feed_sz_scale(&o->h, id), 8);
    size_t from = 0;
    /* the partial's levels: its asks, then its bids */
    static const char *const a1[][2] = {{"0.0000016425", "1000"}, {"0.00000165", "5"}};
    static const char *const b1[][2] = {{"0.00000164", "0.00000001"}, {"0.0000016", "7415"}};
    xs_expect_snapshot(x, &from, a1, 2, b1, 2);
    /* each frame in turn (taken), then the price scale it leaves when px >= 0 */
    static const struct {
        const char *f;
        int px;
    } steps[] = {
        /* update by id: the price comes from the map */
        {BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":\"Sell\",\"size\":2000}]"
                       "}",
         -1},
        /* 12 places: the map is rescaled */
        {BMB("insert") "{\"symbol\":\"TRXU21\",\"id\":8799999150,\"side\":\"Sell\",\"size\":3,"
                       "\"price\":0.000001642512}]}",
         12},
        {BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999200,\"side\":\"Sell\",\"size\":6}]}",
         -1},
        /* one frame: an id resolved from the map, then a value needing 13 places */
        {BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999300,\"side\":\"Buy\",\"size\":2},"
                       "{\"symbol\":\"TRXU21\",\"id\":8799999350,\"side\":\"Buy\",\"size\":1,"
                       "\"price\":0.0000016399999}]}",
         13},
        {BMB("delete") "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":\"Sell\"}]}", -1},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        assert_int_equal(xs_feed(o, steps[i].f), 0);
        if (steps[i].px >= 0)
            assert_int_equal(feed_px_scale(&o->h, id), steps[i].px);
    }
    static const char *const ev2[][3] = {
        {"0.0000016425", "2000", "a"}, {"0.000001642512", "3", "a"},  {"0.00000165", "6", "a"},
        {"0.00000164", "2", "b"},      {"0.0000016399999", "1", "b"}, {"0.0000016425", "0", "a"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 6);
    assert_null(xs_next(x, &from, TG_EV_LEVEL));
    static const char *const wa[][2] = {{"0.000001642512", "3"}, {"0.00000165", "6"}};
    static const char *const wb[][2] = {
        {"0.00000164", "2"}, {"0.0000016399999", "1"}, {"0.0000016", "7415"}};
    xs_book_side(x, id, 0, wa, 2);
    xs_book_side(x, id, 1, wb, 3);
    xs_assert_clean_close(&o, x, 6);
}

/* Prices up to 1e7 and sizes up to 1e12 (contracts, 4 places) with trades; then a price of
 * 1e-12 raises the scale so far that the map's 1e7 no longer fits int64: that book resyncs. */
static void test_bitmex_extreme_scales_large_values_and_a_map_that_cannot_follow(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("bitmex", "TRXU21,XBTUSD", &x);
    uint32_t id = xs_id(o, "XBTUSD");
    assert_int_equal(
        xs_feed(o, "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"filter\":{\"symbol\":"
                   "\"XBTUSD\"},\"data\":[{\"symbol\":\"XBTUSD\",\"id\":1,\"side\":\"Sell\","
                   "\"size\":1000000000000,\"price\":10000000},{\"symbol\":\"XBTUSD\",\"id\":2,"
                   "\"side\":\"Buy\",\"size\":0.5,\"price\":9999999.5}]}"),
        0);
    static const char *const wa[][2] = {{"10000000", "1000000000000"}};
    static const char *const wb[][2] = {{"9999999.5", "0.5"}};
    xs_book_side(x, id, 0, wa, 1);
    xs_book_side(x, id, 1, wb, 1);
    assert_int_equal(
        xs_feed(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{\"timestamp\":"
                   "\"2021-04-05T18:41:18.601Z\",\"symbol\":\"XBTUSD\",\"side\":\"Buy\",\"size\":"
                   "1000000000000,\"price\":10000000,\"trdMatchID\":\"a\"},{\"timestamp\":"
                   "\"2021-04-05T18:41:18.602Z\",\"symbol\":\"XBTUSD\",\"side\":\"Sell\",\"size\":"
                   "0.0001,\"price\":9999999.5,\"trdMatchID\":\"b\"}]}"),
        0);
    size_t from = 0;
    static const char *const tr[][3] = {{"10000000", "1000000000000", "b"},
                                        {"9999999.5", "0.0001", "a"}};
    xs_expect(x, &from, TG_EV_TRADE, tr, 2);
    assert_int_equal(x->gaps, 0);
    uint64_t sent = o->sent;
    assert_int_equal(xs_feed(o, BMB("insert") "{\"symbol\":\"XBTUSD\",\"id\":3,\"side\":\"Buy\","
                                              "\"size\":1,\"price\":0.000000000001}]}"),
                     0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    assert_int_equal(x->gaps, 1); /* resynced: the map could not follow the new scale */
    assert_int_equal(o->sent, sent + 2);
    assert_int_equal(x->book[id].bid.n, 1); /* the insert was not applied */
    assert_int_equal(vrun_errors(&o->stats), 0);
    xs_close(&o, x);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_bitmex_is_found_by_name),
        cmocka_unit_test(test_bitmex_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitmex_update_and_delete_find_prices_by_id_and_unknown_ids_resync),
        cmocka_unit_test(test_bitmex_bad_input_is_counted),
        cmocka_unit_test(test_bitmex_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_bitmex_extreme_scales_trxu21_book_and_id_map_are_exact),
        cmocka_unit_test(test_bitmex_extreme_scales_large_values_and_a_map_that_cannot_follow))
