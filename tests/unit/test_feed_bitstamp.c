/* SPDX-License-Identifier: MIT */
/*
 * Bitstamp handler (feeds/feed_bitstamp.c) against the recorded session (in-band REST
 * snapshots + diff_order_book + live_trades) and the tardis-dev oracle: books, trades, the
 * microtimestamp sync rule, buffering before the snapshot, out-of-order diffs, bad input, and
 * mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/xs_cases.h"
#include "book/tg_dec.h"
#include "feeds/venues/venues.h"

#define BS_FILE   "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec"
#define BS_ORACLE "cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec.result.json"

static void test_bitstamp_is_found_by_name(void **state)
{
    vh_assert_venue("bitstamp", &feed_venue_bitstamp, "wss://ws.bitstamp.net", -1);
}

static void test_bitstamp_books_and_trades_equal_the_oracle(void **state)
{
    oracle_t orc;
    feed_offline_t *o = NULL;
    /* tardis upper-cases symbols; whole books as deep as tardis' */
    vrun_t *v = vh_oracle_clean_run(BS_ORACLE, BS_FILE, 10,
                                    VH_OC_NOCASE | VH_OC_AMOUNTS | VH_OC_BOOK_MSGS, &orc, &o, NULL);
    /* README: 3091 diffs newer than their snapshot, 111 older (to drop at sync) */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 111);
    assert_int_equal(vrun_book_msgs(v), 3101);
    vrun_close(&o, v);
    oracle_free(&orc);
}

static void test_bitstamp_diffs_before_the_snapshot_are_buffered_then_filtered(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    /* open on the recording only for its registry; frames below are synthetic */
    assert_int_equal(feed_offline_open(&o, vh_rec(BS_FILE), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    uint64_t gets = o->rest_gets;
    assert_int_equal(vh_feed1(o, "{\"event\":\"bts:subscription_succeeded\",\"channel\":"
                                 "\"diff_order_book_ethgbp\",\"data\":{}}"),
                     0);
    assert_int_equal(o->rest_gets, gets + 1); /* snapshot requested once subscribed */
    assert_int_equal(vh_feed1(o,
                              "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"100\",\"bids\":"
                              "[[\"1500.00\",\"1.0\"]],\"asks\":[]},\"channel\":"
                              "\"diff_order_book_ethgbp\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(vh_feed1(o,
                              "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"300\",\"bids\":"
                              "[[\"1501.00\",\"2.0\"]],\"asks\":[]},\"channel\":"
                              "\"diff_order_book_ethgbp\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.buffered), 2);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "ethgbp", 6);
    assert_int_equal(v->book[id].bid.n, 0);
    assert_int_equal(
        vh_feed1(o, "{\"stream\":\"diff_order_book_ethgbp@depthSnapshot\",\"generated\":true,"
                    "\"data\":{\"timestamp\": \"1\", \"microtimestamp\": \"200\", \"bids\": "
                    "[[\"1499.00\", \"3.0\"]], \"asks\": [[\"1510.00\", \"1.0\"]]}}"),
        0);
    /* diff 100 dropped (older than snapshot 200), diff 300 applied */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(v->book[id].bid.n, 2);
    assert_int_equal(v->book[id].bid.px[0], 150100000000);
    /* out of order afterwards: gap and a new snapshot request */
    gets = o->rest_gets;
    assert_int_equal(vh_feed1(o,
                              "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"250\",\"bids\":"
                              "[],\"asks\":[]},\"channel\":\"diff_order_book_ethgbp\",\"event\":"
                              "\"data\"}"),
                     0);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(o->rest_gets, gets + 1);
    vrun_close(&o, v);
}

static void test_bitstamp_rest_snapshot_answers_and_failures(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(BS_FILE), &v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "bcheur", 6);
    uint32_t tag = 0;
    while (o->h.instr[tag] != (uint32_t)id)
        tag++;
    assert_int_equal(vh_feed1(o, "{\"event\":\"bts:subscription_succeeded\",\"channel\":"
                                 "\"diff_order_book_bcheur\",\"data\":{}}"),
                     0);
    uint64_t gets = o->rest_gets;
    /* a failed request is counted and asked again on the tick (after the retry delay) */
    assert_int_equal(vh_rest1(o, tag, 503, "", 1), TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    o->venue->on_tick(&o->h, 2);
    assert_int_equal(o->rest_gets, gets + 1);
    const char *body = "{\"timestamp\": \"1617654357\", \"microtimestamp\": \"1617654357670785\", "
                       "\"bids\": [[\"519.17\", \"18.00000000\"]], \"asks\": [[\"519.74\", "
                       "\"37.41504330\"]]}";
    assert_int_equal(vh_rest1(o, tag, 200, body, 3), 0);
    assert_int_equal(v->snapshots[id], 1);
    assert_int_equal(v->book[id].bid.px[0], 51917000000);
    assert_int_equal(v->book[id].ask.sz[0], 3741504330);
    o->venue->on_tick(&o->h, 4);
    assert_int_equal(o->rest_gets, gets + 1); /* synced: nothing more to ask */
    /* the stale microtimestamp rule applies to diffs after a REST snapshot too */
    assert_int_equal(vh_feed1(o,
                              "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":"
                              "\"1617654357670785\",\"bids\":[[\"519.18\",\"1.0\"]],\"asks\":[]},"
                              "\"channel\":\"diff_order_book_bcheur\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    vrun_close(&o, v);
}

static void test_bitstamp_bad_input_is_counted(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(BS_FILE), &v);
    assert_int_equal(vh_feed1(o, "{\"data\":{"), TG_EJSON);
    assert_int_equal(vh_feed1(o, "{\"data\":{\"microtimestamp\":\"1\",\"bids\":[]},\"channel\":"
                                 "\"diff_order_book_dogeusd\",\"event\":\"data\"}"),
                     TG_ESYMBOL);
    assert_int_equal(vh_feed1(o, "{\"event\":\"bts:error\",\"data\":{\"code\":null}}"), TG_EPROTO);
    assert_int_equal(
        vh_feed1(o, "{\"channel\":\"live_trades_ethgbp\",\"data\":{\"amount_str\":\"x\","
                    "\"price_str\":\"1\",\"microtimestamp\":\"1\",\"type\":0,\"id\":1},\"event\":"
                    "\"trade\"}"),
        TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(v->events, 0);
    vrun_close(&o, v);
}

static uint64_t rng = 0x1234567887654321ull;
static void test_bitstamp_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    (void)vh_fuzz_file(vh_rec(BS_FILE), vh_fuzz_iters(&rng, 10000), &rng, vh_mutate_bytes);
}

#define BSD(pair, micro, bids, asks)                                                               \
    "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"" micro "\",\"bids\":" bids               \
    ",\"asks\":" asks "},\"channel\":\"diff_order_book_" pair "\",\"event\":\"data\"}"

/* Diffs buffered before the snapshot are kept at the pair's scale: two raises while they wait
 * (a diff with 9 places, then a snapshot with 11) rescale them exactly (bs_on_rescale), and
 * the replay after the snapshot is exact. */
static void test_bitstamp_extreme_scales_buffered_diffs_follow_the_raised_scale(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("bitstamp", "shibusd,btcusd", &x);
    uint32_t id = xs_id(o, "shibusd");
    assert_int_equal(xs_feed(o, BSD("shibusd", "100", "[[\"0.00001234\",\"1000000\"]]", "[]")), 0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "300", "[[\"0.00001235\",\"2000000\"]]",
                                    "[[\"0.0000124\",\"92233720368\"]]")),
                     0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "400", "[]", "[[\"0.0000124\",\"0\"]]")), 0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "500", "[[\"0.000012355\",\"1\"]]", "[]")), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 9);
    assert_int_equal(TG_STAT_GET(o->stats.buffered), 4);
    assert_int_equal(x->nev, 0);
    uint64_t frames = TG_STAT_GET(o->stats.frames);
    assert_int_equal(
        xs_feed(o, "{\"stream\":\"diff_order_book_shibusd@depthSnapshot\",\"generated\":true,"
                   "\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"200\",\"bids\":[["
                   "\"0.00001233\",\"5\"]],\"asks\":[[\"0.0000125\",\"1.5\"],[\"0.00001241234\","
                   "\"0.00000001\"]]}}"),
        0);
    assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
    assert_int_equal(feed_px_scale(&o->h, id), 11);
    size_t from = 0;
    static const char *const ev[][3] = {{"0.00001233", "5", "b"},
                                        {"0.0000125", "1.5", "a"},
                                        {"0.00001241234", "0.00000001", "a"},
                                        {"0.00001235", "2000000", "b"},
                                        {"0.0000124", "92233720368", "a"},
                                        {"0.0000124", "0", "a"},
                                        {"0.000012355", "1", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev, 7);
    assert_null(xs_next(x, &from, TG_EV_LEVEL));
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1); /* diff 100 */
    static const char *const wb[][2] = {
        {"0.000012355", "1"}, {"0.00001235", "2000000"}, {"0.00001233", "5"}};
    static const char *const wa[][2] = {{"0.00001241234", "0.00000001"}, {"0.0000125", "1.5"}};
    xs_book_side(x, id, 1, wb, 3);
    xs_book_side(x, id, 0, wa, 2);
    /* synced: a diff with 12 places and one with 1e7 */
    assert_int_equal(xs_feed(o, BSD("shibusd", "600", "[[\"0.000012345678\",\"3\"]]", "[]")), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    static const char *const ev2[][3] = {{"0.000012345678", "3", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 1);
    xs_assert_sound(o, x);
    /* an amount no scale of this book holds (1e12 at 8 places): err_decimal (it was err_json
     * before feed_count_error), FAULT, and a new snapshot is asked for */
    uint64_t gets = o->rest_gets;
    assert_int_equal(xs_feed(o, BSD("shibusd", "700", "[[\"0.00001\",\"1000000000000\"]]", "[]")),
                     TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(x->faults, 1);
    assert_int_equal(o->rest_gets, gets + 1);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    xs_close(&o, x);
}

/* A buffered size that a raised size scale cannot hold (92233720368 at 9 places): the pair's
 * buffer is dropped and remembered as lost, a snapshot older than it is refused, a newer one
 * is used. REST answers that raise a scale are counted once. Trades at 1e7 x 1e-8. */
static void test_bitstamp_extreme_scales_unholdable_buffer_and_rest_snapshot(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("bitstamp", "shibusd,btcusd", &x);
    uint32_t id = xs_id(o, "btcusd");
    uint32_t tag = 0;
    while (o->h.instr[tag] != id)
        tag++;
    assert_int_equal(xs_feed(o, BSD("btcusd", "300", "[[\"10000000\",\"92233720368\"]]", "[]")), 0);
    assert_int_equal(xs_feed(o, BSD("btcusd", "400", "[[\"9999999\",\"0.000000001\"]]", "[]")), 0);
    assert_int_equal(feed_sz_scale(&o->h, id), 9);
    uint64_t gets = o->rest_gets, frames = TG_STAT_GET(o->stats.frames);
    const char *old = "{\"timestamp\":\"1\",\"microtimestamp\":\"250\",\"bids\":[[\"9999998\","
                      "\"1\"]],\"asks\":[[\"10000001.5\",\"0.00000001\"]]}";
    assert_int_equal(vh_rest1(o, tag, 200, old, 1), 0);
    assert_int_equal(x->nev, 0); /* older than the lost diff 300: not used */
    assert_int_equal(o->rest_gets, gets + 1);
    const char *body = "{\"timestamp\":\"1\",\"microtimestamp\":\"350\",\"bids\":[[\"9999998\","
                       "\"1\"]],\"asks\":[[\"10000001.5\",\"0.00000001\"],[\"10000002\","
                       "\"0.0000000001\"]]}";
    assert_int_equal(vh_rest1(o, tag, 200, body, 2), 0);
    assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 2); /* once each */
    assert_int_equal(feed_sz_scale(&o->h, id), 10);
    static const char *const wb[][2] = {{"9999999", "0.000000001"}, {"9999998", "1"}};
    static const char *const wa[][2] = {{"10000001.5", "0.00000001"}, {"10000002", "0.0000000001"}};
    xs_book_side(x, id, 1, wb, 2);
    xs_book_side(x, id, 0, wa, 2);
    assert_int_equal(
        xs_feed(o, "{\"channel\":\"live_trades_btcusd\",\"data\":{\"amount_str\":\"0.00000001\","
                   "\"price_str\":\"10000000\",\"microtimestamp\":\"1\",\"type\":1,\"id\":1},"
                   "\"event\":\"trade\"}"),
        0);
    size_t from = 0;
    static const char *const tr[][3] = {{"10000000", "0.00000001", "a"}};
    xs_expect(x, &from, TG_EV_TRADE, tr, 1);
    xs_assert_sound(o, x);
    xs_close(&o, x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitstamp_is_found_by_name),
        cmocka_unit_test(test_bitstamp_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitstamp_diffs_before_the_snapshot_are_buffered_then_filtered),
        cmocka_unit_test(test_bitstamp_rest_snapshot_answers_and_failures),
        cmocka_unit_test(test_bitstamp_bad_input_is_counted),
        cmocka_unit_test(test_bitstamp_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_bitstamp_extreme_scales_buffered_diffs_follow_the_raised_scale),
        cmocka_unit_test(test_bitstamp_extreme_scales_unholdable_buffer_and_rest_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
