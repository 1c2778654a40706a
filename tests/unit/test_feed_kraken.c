/* SPDX-License-Identifier: MIT */
/*
 * Kraken websocket v1 handler (feeds/feed_kraken.c) against the recorded session in
 * ../shared/recordings/kraken and the tardis-dev oracle: every checksum "c" of the recording
 * verified on our book (truncated to the subscribed depth), final top-10 books equal to the
 * oracle, a corrupted level caught by the checksum, synthetic trades/two-object updates, bad
 * input counted, and thousands of mutated frames handled without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/xs_cases.h"
#include "book/tg_resync.h"
#include "book/tg_dec.h"
#include "feeds/feed_checksum.h"
#include "feeds/venues/venues.h"

#define KR_FILE   "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"
#define KR_ORACLE "cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec.result.json"

static char path[1024];

/* A strong reference: feed.c refers to the venues weakly, which does not pull a venue's object
 * out of the static library by itself. */

static void test_kraken_is_found_by_name(void **state)
{
    vh_assert_venue("kraken", &feed_venue_kraken, "wss://ws.kraken.com", -1);
}

static const char *rec_path(void)
{
    return vrun_path(path, sizeof(path), "TG_RECORDINGS", KR_FILE);
}

static void test_kraken_every_recorded_checksum_matches_our_book(void **state)
{
    feed_offline_t *o = NULL;
    /* README of the recordings: CRC32 "c" verified 4269/4269 updates */
    vrun_t *v = vh_run_checksums(rec_path(), 4269, &o);
    assert_int_equal(TG_STAT_GET(o->stats.checksum_msgs), 4269);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 10);
    /* oracle: 4279 book changes, 31 heartbeats + 10 subscriptionStatus + 1 systemStatus */
    assert_int_equal(vrun_book_msgs(v), 4279);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 42);
    /* the recording subscribed with depth 1000: that is the truncation depth */
    const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[0]);
    assert_int_equal(in->depth_limit, 1000);
    assert_ptr_equal(in->checksum, feed_kraken_checksum);
    vrun_close(&o, v);
}

static void test_kraken_final_top10_books_equal_the_oracle(void **state)
{
    oracle_t orc;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_run(KR_ORACLE, KR_FILE, &orc, &o);
    vh_oracle_books(v, o, &orc, 10, VH_OC_TRADES | VH_OC_SNAPSHOTS | VH_OC_BOOK_MSGS);
    vrun_close(&o, v);
    oracle_free(&orc);
}

static void test_kraken_corrupted_snapshot_level_fails_the_next_checksum(void **state)
{
    size_t len = 0;
    char *text = vrun_slurp(rec_path(), &len);
    assert_non_null(text);
    /* XMR/USD snapshot: best ask 354.80000000 x 1.40000000 -> size 1.50000000 */
    char *p = strstr(text, "[992,{\"as\":[[\"354.80000000\",\"1.40000000\"");
    assert_non_null(p);
    p = strstr(p, "\"1.40000000\"");
    p[3] = '5';
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open(&o, rec_path(), NULL, NULL, 0), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    vrun_run_text(o, text, len, v);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    assert_true(xmr >= 0);
    assert_true(v->ck_bad_instr[xmr] > 0);
    assert_int_equal(v->ck_bad, v->ck_bad_instr[xmr]); /* other pairs unaffected */
    /* the very first XMR/USD update after the snapshot already fails */
    assert_true(v->first_bad > 0);
    assert_true(v->ck_ok + v->ck_bad == 4269);
    free(text);
    vrun_close(&o, v);
}

typedef struct frame_case {
    const char *text;
    int rc_negative;
} frame_case_t;

static int open_kraken(feed_offline_t **o, vrun_t *v)
{
    int rc = feed_offline_open(o, rec_path(), NULL, NULL, 10);
    if (rc == 0) {
        vrun_init(v, (*o)->reg);
        (*o)->h.out.flush = vrun_sink;
        (*o)->h.out.ctx = v;
    }
    return rc;
}

static void test_kraken_two_object_update_and_republish_flag_apply_in_one_message(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "XBT/CHF", 7);
    assert_int_equal(
        vh_feed1(o, "[464,{\"as\":[[\"56218.30000\",\"0.15000000\",\"1618678117.243818\"]],"
                    "\"bs\":[[\"56200.00000\",\"1.00000000\",\"1618678117.000001\"]]},"
                    "\"book-10\",\"XBT/CHF\"]"),
        0);
    assert_int_equal(v->book[id].ask.n, 1);
    long msgs = v->msgs;
    /* ask republished ("r"), bid added; checksum over the resulting book */
    /* fiat-quoted pair: prices at scale 8 */
    assert_int_equal(tg_instr_reg_get(o->reg, (uint32_t)id)->px_scale, 8);
    tg_level_t bids[2] = {{5620100000000, 200000000}, {5620000000000, 100000000}};
    tg_level_t asks[1] = {{5621830000000, 25000000}};
    char c[80], frame[512];
    uint32_t want = feed_kraken_checksum_levels(bids, 2, asks, 1, 8, 8, 5, 8);
    snprintf(c, sizeof(c), "%u", want);
    snprintf(frame, sizeof(frame),
             "[464,{\"a\":[[\"56218.30000\",\"0.25000000\",\"1618678118.5\",\"r\"]]},"
             "{\"b\":[[\"56201.00000\",\"2.00000000\",\"1618678118.123456\"]],\"c\":\"%s\"},"
             "\"book-10\",\"XBT/CHF\"]",
             c);
    assert_int_equal(vh_feed1(o, frame), 0);
    assert_int_equal(v->msgs, msgs + 1); /* one exchange message */
    assert_int_equal(v->ck_ok, 1);
    assert_int_equal(v->ck_bad, 0);
    assert_int_equal(v->book[id].bid.n, 2);
    assert_int_equal(v->book[id].ask.sz[0], 25000000);
    vrun_close(&o, v);
}

static tg_event_t trade_ev[8];
static int trade_n;
static int trade_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n && trade_n < 8; i++)
        trade_ev[trade_n++] = ev[i];
    return 0;
}

static void test_kraken_trades_become_exact_trade_events(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    o->h.out.flush = trade_sink;
    trade_n = 0;
    assert_int_equal(
        vh_feed1(o,
                 "[337,[[\"354.80000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"l\",\"\"],"
                 "[\"354.70000000\",\"2.50000000\",\"1618678134.999999\",\"s\",\"m\",\"\"]],"
                 "\"trade\",\"XMR/USD\"]"),
        0);
    assert_int_equal(trade_n, 2);
    assert_int_equal(trade_ev[0].kind, TG_EV_TRADE);
    assert_int_equal(trade_ev[0].side, TG_SIDE_BUY);
    assert_int_equal(trade_ev[0].price, 35480000000);
    assert_int_equal(trade_ev[0].size, 1000000);
    assert_int_equal(trade_ev[0].ts_exch, 1618678134123456000LL);
    assert_int_equal(trade_ev[0].flags & TG_EVF_LAST, 0);
    assert_int_equal(trade_ev[1].side, TG_SIDE_SELL);
    assert_int_equal(trade_ev[1].ts_exch, 1618678134999999000LL);
    assert_int_equal(trade_ev[1].flags & TG_EVF_LAST, TG_EVF_LAST);
    assert_int_equal(TG_STAT_GET(o->stats.trades), 2);
    vrun_close(&o, v);
}

/* One taker order filling several makers: rows with the same time (two of them identical).
 * Each gets its own non-zero key, and the same message read again gets the same keys, so
 * PostgreSQL's key (instr, trade_id, ts) keeps every trade once. */
static void test_kraken_trades_at_one_time_get_distinct_stable_keys(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    o->h.out.flush = trade_sink;
    const char *msg =
        "[337,[[\"354.80000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"m\",\"\"],"
        "[\"354.80000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"m\",\"\"],"
        "[\"354.90000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"m\",\"\"],"
        "[\"354.80000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"m\",\"\"]],"
        "\"trade\",\"XMR/USD\"]";
    uint64_t first[4];
    for (int round = 0; round < 2; round++) {
        trade_n = 0;
        assert_int_equal(vh_feed1(o, msg), 0);
        assert_int_equal(trade_n, 4);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(trade_ev[i].ts_exch, 1618678134123456000LL);
            assert_true(trade_ev[i].u.trade_id != 0);
            for (int j = 0; j < i; j++)
                assert_true(trade_ev[i].u.trade_id != trade_ev[j].u.trade_id);
            if (round == 0)
                first[i] = trade_ev[i].u.trade_id;
            else
                assert_true(trade_ev[i].u.trade_id == first[i]);
        }
    }
    vrun_close(&o, v);
}

static void test_kraken_bad_input_is_counted_and_a_bad_level_resyncs(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    const char *snap = "[992,{\"as\":[[\"354.8\",\"1.4\",\"1618678133.020508\"]],"
                       "\"bs\":[[\"354.1\",\"1.0\",\"1618678133.020508\"]]},\"book-10\","
                       "\"XMR/USD\"]";
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(vh_feed1(o, "[992,{\"a\":[[\"354.8\",\"1.4\""), TG_EJSON);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(vh_feed1(o, "[992,{\"a\":[[354.8,\"1.4\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    assert_int_equal(v->gaps[xmr], 1); /* wrong type in a level: book invalid */
    assert_int_equal(vh_feed1(o, snap), 0);
    uint64_t sent = o->sent;
    assert_int_equal(vh_feed1(o, "[992,{\"b\":[[\"99999999999999999999\",\"1\",\"1.0\"]],"
                                 "\"c\":\"1\"},\"book-10\",\"XMR/USD\"]"),
                     TG_EDEC_RANGE); /* feed_dec: no scale holds it (was TG_EDEC_SYNTAX) */
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    /* the FAULT gap from feed_dec, then the handler's resync gap */
    assert_int_equal(v->gaps[xmr], 3);
    assert_int_equal(o->sent, sent + 2); /* unsubscribe + subscribe */
    /* updates before the new snapshot are dropped */
    assert_int_equal(
        vh_feed1(o, "[992,{\"b\":[[\"354.2\",\"1\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(vh_feed1(o, "[1,{\"b\":[[\"1\",\"1\",\"1.0\"]]},\"book-10\",\"DOGE/USD\"]"),
                     TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(vh_feed1(o, "{\"errorMessage\":\"Currency pair not supported\",\"event\":"
                                 "\"subscriptionStatus\",\"pair\":\"XX/YY\",\"status\":\"error\"}"),
                     TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(vh_feed1(o, "{\"event\":\"heartbeat\"}"), 0);
    assert_int_equal(vh_feed1(o, "[1,{},\"spread\",\"XMR/USD\"]"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(vh_feed1(o, ""), TG_EJSON);
    assert_int_equal(vh_feed1(o, "42"), TG_EJSON);
    vrun_close(&o, v);
}

static tg_resync_t resync_req;

static void test_kraken_builder_resync_request_resubscribes_the_pair_on_tick(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    o->h.resync = &resync_req;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    const char *snap = "[992,{\"as\":[[\"354.8\",\"1.4\",\"1618678133.020508\"]],"
                       "\"bs\":[[\"354.1\",\"1.0\",\"1618678133.020508\"]]},\"book-10\","
                       "\"XMR/USD\"]";
    assert_int_equal(vh_feed1(o, snap), 0);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    uint64_t sent = o->sent;
    o->venue->on_tick(&o->h, 1);
    assert_int_equal(o->sent, sent);               /* nothing asked yet */
    tg_resync_request(&resync_req, (uint32_t)xmr); /* the builder saw a checksum mismatch */
    o->venue->on_tick(&o->h, 2);
    assert_int_equal(o->sent, sent + 2); /* unsubscribe + subscribe */
    o->venue->on_tick(&o->h, 3);
    assert_int_equal(o->sent, sent + 2); /* acted on once */
    /* updates are dropped until the new snapshot */
    assert_int_equal(
        vh_feed1(o, "[992,{\"b\":[[\"354.2\",\"1\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(v->snapshots[xmr], 2);
    vrun_close(&o, v);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static void test_kraken_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    assert_true(vh_fuzz_file(rec_path(), vh_fuzz_iters(&rng, 20000), &rng, vh_mutate_json) > 0);
}

/* Kraken's checksum number from Kraken's own text: padded to dp decimals, '.' removed,
 * leading zeros stripped (independent of the handler and of feed_checksum's formatting). */
static size_t xs_kr_num(const char *s, int dp, char *out)
{
    char t[64];
    const char *dot = strchr(s, '.');
    size_t ip = dot ? (size_t)(dot - s) : strlen(s), fp = dot ? strlen(dot + 1) : 0;
    memcpy(t, s, ip);
    size_t n = ip;
    for (int i = 0; i < dp; i++)
        t[n++] = (size_t)i < fp ? dot[1 + i] : '0';
    size_t k = 0;
    while (k < n - 1 && t[k] == '0')
        k++;
    memcpy(out, t + k, n - k);
    return n - k;
}

/* CRC-32 of the Kraken checksum text: asks (best first) then bids, price then volume. */
static uint32_t xs_kr_ck(const char *const (*asks)[2], size_t na, const char *const (*bids)[2],
                         size_t nb, int px_dp, int sz_dp)
{
    char text[2048];
    size_t n = 0;
    for (size_t i = 0; i < na && i < 10; i++) {
        n += xs_kr_num(asks[i][0], px_dp, text + n);
        n += xs_kr_num(asks[i][1], sz_dp, text + n);
    }
    for (size_t i = 0; i < nb && i < 10; i++) {
        n += xs_kr_num(bids[i][0], px_dp, text + n);
        n += xs_kr_num(bids[i][1], sz_dp, text + n);
    }
    return feed_crc32(0, text, n);
}

/* An ELON/USD update of one ask level (px x sz, at time ts) with checksum ck, applied. */
static void elon_ask(feed_offline_t *o, const char *px, const char *sz, const char *ts, unsigned ck)
{
    char f[512];
    snprintf(f, sizeof(f),
             "[7,{\"a\":[[\"%s\",\"%s\",\"%s\"]],\"c\":\"%u\"},\"book-10\",\"ELON/USD\"]", px, sz,
             ts, ck);
    assert_int_equal(xs_feed(o, f), 0);
}

/* A pair quoted in USD (initial price scale 8) printing 11 decimals: the snapshot raises the
 * scale; the checksums (Kraken's fixed decimals) verify on the book at the raised scale, also
 * after an update that raises it again (12 decimals). */
static void test_kraken_extreme_scales_raised_scale_book_is_exact_and_checksums_verify(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("kraken", "ELON/USD,XBT/USD", &x);
    uint32_t id = xs_id(o, "ELON/USD");
    assert_int_equal(feed_px_scale(&o->h, id), 8);
    static const char *const a1[][2] = {{"0.00000074408", "3417800000.00000000"},
                                        {"0.00000074500", "1250000000.50000000"},
                                        {"0.00000075000", "12.00000000"}};
    static const char *const b1[][2] = {{"0.00000074380", "92233720.00000000"},
                                        {"0.00000074000", "0.00000001"},
                                        {"0.00000070000", "1.00000000"}};
    char f[2048];
    snprintf(f, sizeof(f),
             "[7,{\"as\":[[\"%s\",\"%s\",\"1618678133.020508\"],[\"%s\",\"%s\","
             "\"1618678133.020508\"],[\"%s\",\"%s\",\"1618678133.020508\"]],\"bs\":[[\"%s\","
             "\"%s\",\"1618678133.020508\"],[\"%s\",\"%s\",\"1618678133.020508\"],[\"%s\",\"%s\","
             "\"1618678133.020508\"]]},\"book-10\",\"ELON/USD\"]",
             a1[0][0], a1[0][1], a1[1][0], a1[1][1], a1[2][0], a1[2][1], b1[0][0], b1[0][1],
             b1[1][0], b1[1][1], b1[2][0], b1[2][1]);
    assert_int_equal(xs_feed(o, f), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 11);
    size_t from = 0;
    xs_expect_snapshot(x, &from, a1, 3, b1, 3);
    /* an update with a checksum at 11 decimals */
    static const char *const a2[][2] = {{"0.00000074408", "3417800000.00000000"},
                                        {"0.00000074410", "5.00000000"},
                                        {"0.00000074500", "1250000000.50000000"},
                                        {"0.00000075000", "12.00000000"}};
    elon_ask(o, "0.00000074410", "5.00000000", "1618678134.000001", xs_kr_ck(a2, 4, b1, 3, 11, 8));
    assert_int_equal(x->ck_ok, 1);
    /* the pair now prints 12 decimals: the update raises the scale again */
    static const char *const a3[][2] = {{"0.000000744080", "3417800000.00000000"},
                                        {"0.000000744085", "0.00000001"},
                                        {"0.000000744100", "5.00000000"},
                                        {"0.000000745000", "1250000000.50000000"},
                                        {"0.000000750000", "12.00000000"}};
    elon_ask(o, "0.000000744085", "0.00000001", "1618678135.000001", xs_kr_ck(a3, 5, b1, 3, 12, 8));
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    static const char *const ev3[][3] = {{"0.0000007441", "5", "a"},
                                         {"0.000000744085", "0.00000001", "a"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev3, 2);
    static const char *const want_a[][2] = {{"0.00000074408", "3417800000"},
                                            {"0.000000744085", "0.00000001"},
                                            {"0.0000007441", "5"},
                                            {"0.000000745", "1250000000.5"},
                                            {"0.00000075", "12"}};
    xs_book_side(x, id, 0, want_a, 5);
    assert_int_equal(x->ck_ok, 2);
    assert_int_equal(x->ck_bad, 0);
    /* a wrong checksum on the raised-scale book is still caught */
    elon_ask(o, "0.000000744085", "0.00000002", "1618678136.000001", xs_kr_ck(a3, 5, b1, 3, 12, 8));
    assert_int_equal(x->ck_bad, 1);
    xs_assert_clean_close(&o, x, 4);
}

/* Prices 1e-12 .. 1e7, sizes 1e-8 .. 9.2e10, mixed places in one message, trades at both ends;
 * a volume of 1e12 at the pair's 8 places cannot be held: FAULT, counted err_decimal. */
static void test_kraken_extreme_scales_mixed_places_and_ranges_are_exact(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("kraken", "TINY/XBT,BIG/USD", &x);
    uint32_t tiny = xs_id(o, "TINY/XBT"), big = xs_id(o, "BIG/USD");
    assert_int_equal(xs_feed(o, "[3,{\"as\":[[\"0.12\",\"1\",\"1.5\"],[\"0.123456789012\","
                                "\"0.00000001\",\"1.5\"],[\"9000000.5\",\"92233720368\",\"1.5\"]],"
                                "\"bs\":[[\"0.1\",\"5\",\"1.5\"],[\"0.000000000001\",\"1.5\","
                                "\"1.5\"]]},\"book-10\",\"TINY/XBT\"]"),
                     0);
    assert_int_equal(feed_px_scale(&o->h, tiny), 12);
    xs_assert_tiny_book(x, tiny);
    assert_int_equal(xs_feed(o, "[4,{\"as\":[[\"10000000.00000\",\"0.00000001\",\"1.5\"],["
                                "\"9999999.99\",\"1000\",\"1.5\"]],\"bs\":[[\"1\",\"1\",\"1.5\"]]},"
                                "\"book-10\",\"BIG/USD\"]"),
                     0);
    xs_assert_big_asks(x, big);
    assert_int_equal(
        xs_feed(o, "[5,[[\"10000000.00000\",\"0.00000001\",\"1618678134.123456\",\"b\",\"l\",\"\"],"
                   "[\"9999999.9999999999\",\"92233720368\",\"1618678134.123457\",\"s\",\"l\",\"\"]"
                   "],\"trade\",\"BIG/USD\"]"),
        0);
    xs_expect_range_trades(x, "9999999.9999999999");
    assert_int_equal(feed_px_scale(&o->h, big), 10);
    xs_assert_range_fault_close(
        &o, x, big, "[4,{\"b\":[[\"2\",\"1000000000000\",\"1.6\"]]},\"book-10\",\"BIG/USD\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kraken_is_found_by_name),
        cmocka_unit_test(test_kraken_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_kraken_final_top10_books_equal_the_oracle),
        cmocka_unit_test(test_kraken_corrupted_snapshot_level_fails_the_next_checksum),
        cmocka_unit_test(test_kraken_two_object_update_and_republish_flag_apply_in_one_message),
        cmocka_unit_test(test_kraken_trades_become_exact_trade_events),
        cmocka_unit_test(test_kraken_trades_at_one_time_get_distinct_stable_keys),
        cmocka_unit_test(test_kraken_bad_input_is_counted_and_a_bad_level_resyncs),
        cmocka_unit_test(test_kraken_builder_resync_request_resubscribes_the_pair_on_tick),
        cmocka_unit_test(test_kraken_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(
            test_kraken_extreme_scales_raised_scale_book_is_exact_and_checksums_verify),
        cmocka_unit_test(test_kraken_extreme_scales_mixed_places_and_ranges_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
