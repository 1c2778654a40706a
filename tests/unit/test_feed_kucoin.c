/* SPDX-License-Identifier: MIT */
/*
 * KuCoin spot handler (feeds/venues/feed_kucoin.c): no recording exists, so everything here
 * is synthetic frames written from KuCoin's documentation: the bullet-public connect answer
 * (token, endpoint, ping interval), level2 calibration (buffering, snapshot sequence,
 * straddling updates applied from their newer changes, price-0 sequence updates, gaps,
 * too-old snapshots, REST answers), match trades, subscribe limits (100 symbols per topic
 * message, 300 topics per connection, 10 messages per second), pings, bad input, mutated
 * frames, and exact prices at extreme scales.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/feed_kucoin.h"
#include "feeds/venues/venues.h"
#include "tests/fixtures/gk_cases.h"
#include "tests/fixtures/venue_harness.h"

#define CPX GK_CPX /* test-side common scales: every event is rescaled to these */
#define CSZ GK_CSZ

/* A trade.l2update frame; changes are "[\"px\",\"sz\",\"seq\"],..." lists. */
static void kc_upd(char *out, size_t cap, const char *sym, uint64_t start, uint64_t end,
                   const char *bids, const char *asks)
{
    snprintf(out, cap,
             "{\"type\":\"message\",\"topic\":\"/market/level2:%s\",\"subject\":\"trade.l2update\","
             "\"data\":{\"changes\":{\"asks\":[%s],\"bids\":[%s]},\"sequenceEnd\":%llu,"
             "\"sequenceStart\":%llu,\"symbol\":\"%s\",\"time\":1663747970273}}",
             sym, asks, bids, (unsigned long long)end, (unsigned long long)start, sym);
}

/* The in-band REST snapshot, as a recorder would write it (REST body with code + data). */
static void kc_snap(char *out, size_t cap, const char *sym, uint64_t seq, const char *bids,
                    const char *asks)
{
    snprintf(out, cap,
             "{\"stream\":\"/market/level2:%s@depthSnapshot\",\"generated\":true,\"data\":"
             "{\"code\":\"200000\",\"data\":{\"time\":1550653727731,\"sequence\":\"%llu\","
             "\"bids\":[%s],\"asks\":[%s]}}}",
             sym, (unsigned long long)seq, bids, asks);
}

/* One change: ["px","sz","seq"]. */
static void kc_level(char *out, size_t cap, const char *px, const char *sz, uint64_t seq)
{
    snprintf(out, cap, "[\"%s\",\"%s\",\"%llu\"]", px, sz, (unsigned long long)seq);
}

static const gk_venue_t kucoin = {"kucoin", kc_level, kc_upd, kc_snap, false};

static const char bullet[] =
    "{\"code\":\"200000\",\"data\":{\"token\":\"2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_"
    "55i3Ysy2q2"
    "LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3Blq6rhZ"
    "lGykT3Vp1phUafnulOOpts-MEmEF-3bpfetLOAjsMMBS5qwTWJBvJHl5Vs9Y=.gJEIAywPXFr_4L-WG10eug==\","
    "\"instanceServers\":[{\"endpoint\":\"wss://ws-api-spot.kucoin.com/\",\"encrypt\":true,"
    "\"protocol\":\"websocket\",\"pingInterval\":18000,\"pingTimeout\":10000}]}}";

static void test_kucoin_is_found_with_its_published_limits(void **state)
{
    const feed_venue_t *v = feed_venue_find("kucoin");
    assert_ptr_equal(v, &feed_venue_kucoin);
    assert_non_null(v->on_frame);
    assert_int_equal(v->max_sends_per_s, 10);       /* 100 messages per 10 s */
    assert_int_equal(v->max_symbols_per_conn, 150); /* 300 topics, book + match per symbol */
    assert_string_equal(v->rest_host, "api.kucoin.com");
}

static void test_kucoin_rest_key_names_the_in_band_answer(void **state)
{
    char key[128];
    assert_int_equal(feed_venue_kucoin.rest_key(
                         "/api/v1/market/orderbook/level2_100?symbol=BTC-USDT", key, sizeof(key)),
                     0);
    assert_string_equal(key, "/market/level2:btc-usdt");
    assert_int_equal(feed_venue_kucoin.rest_key("/api/v1/bullet-public", key, sizeof(key)),
                     -ENOENT);
}

static void test_kucoin_bullet_answer_gives_url_token_and_ping(void **state)
{
    feed_kucoin_bullet_t b;
    assert_int_equal(feed_kucoin_bullet_parse(bullet, strlen(bullet), &b), 0);
    assert_string_equal(b.endpoint, "wss://ws-api-spot.kucoin.com/");
    assert_int_equal(strncmp(b.token, "2neAiuYvAU61ZDXANAGAsiL4", 24), 0);
    assert_int_equal(b.token[strlen(b.token) - 1], '=');
    assert_int_equal(b.ping_ms, 18000);
    assert_int_equal(b.ping_timeout_ms, 10000);
    char url[2048];
    assert_int_equal(feed_kucoin_connect_url(&b, "abc1", url, sizeof(url)), 0);
    assert_int_equal(strncmp(url, "wss://ws-api-spot.kucoin.com/?token=2neAiuYvAU61ZD", 50), 0);
    assert_non_null(strstr(url, "&connectId=abc1"));
    assert_int_equal(feed_kucoin_connect_url(&b, "abc1", url, 40), -ENOSPC);
    /* an endpoint with a query already gets '&' */
    snprintf(b.endpoint, sizeof(b.endpoint), "ws://127.0.0.1:9/rec/x?a=1");
    assert_int_equal(feed_kucoin_connect_url(&b, "z", url, sizeof(url)), 0);
    assert_non_null(strstr(url, "/rec/x?a=1&token="));
    /* bad answers */
    const char *bad[] = {
        "{\"code\":\"400100\",\"msg\":\"too many requests\"}",
        "{\"code\":\"200000\",\"data\":{\"instanceServers\":[{\"endpoint\":\"wss://x/\"}]}}",
        "{\"code\":\"200000\",\"data\":{\"token\":\"t\",\"instanceServers\":[]}}",
        "{\"code\":\"200000\",\"data\":{\"token\":\"t\",\"instanceServers\":[{\"endpoint\":"
        "\"https://x/\"}]}}",
        "{\"code\":\"200000\",\"data\":{\"token\":\"a b\",\"instanceServers\":[{\"endpoint\":"
        "\"wss://x/\"}]}}",
        "{\"code\":\"200000\",\"data\":{\"token\":\"t\",\"instanceServers\":[{\"endpoint\":"
        "\"wss://x/\",\"pingInterval\":\"soon\"}]}}",
        "{\"code\":\"200000\",",
    };
    int want[] = {TG_EPROTO, TG_EFIELD, TG_EFIELD, TG_EFIELD, TG_EFIELD, TG_EFIELD, TG_EJSON};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(feed_kucoin_bullet_parse(bad[i], strlen(bad[i]), &b), want[i]);
    /* a minimal answer: ping interval defaults to 18 s */
    const char *min = "{\"code\":\"200000\",\"data\":{\"token\":\"t\",\"instanceServers\":"
                      "[{\"endpoint\":\"ws://127.0.0.1:8/\"}]}}";
    assert_int_equal(feed_kucoin_bullet_parse(min, strlen(min), &b), 0);
    assert_int_equal(b.ping_ms, 18000);
}

static void test_kucoin_on_bullet_sets_the_url_and_the_ping_interval(void **state)
{
    gk_t *g = gk_open("kucoin", "BTC-USDT");
    feed_handler_t *h = &g->o->h;
    char url[2048];
    assert_int_equal(feed_kucoin_on_bullet(h, 503, "", 0, url, sizeof(url)), TG_EPROTO);
    const char *b5 = "{\"code\":\"200000\",\"data\":{\"token\":\"tok\",\"instanceServers\":"
                     "[{\"endpoint\":\"ws://127.0.0.1:8/\",\"pingInterval\":5000}]}}";
    assert_int_equal(feed_kucoin_on_bullet(h, 200, b5, strlen(b5), url, sizeof(url)), 0);
    assert_int_equal(strncmp(url, "ws://127.0.0.1:8/?token=tok&connectId=", 38), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.frames), 0); /* not a frame */
    h->venue->on_open(h);
    g->cap.n_sent = 0;
    /* pings every interval (5 s here), a little early: about every 3.5 s */
    int pings = 0;
    for (int s = 1; s <= 20; s++) {
        int before = g->cap.n_sent;
        h->venue->on_tick(h, (int64_t)s * 1000000000LL);
        if (g->cap.n_sent > before) {
            assert_non_null(strstr(g->cap.sent[g->cap.n_sent - 1], "\"type\":\"ping\""));
            pings++;
        }
    }
    assert_true(pings >= 4 && pings <= 6);
    gk_close(g);
}

static void test_kucoin_calibration_buffers_filters_and_chains(void **state)
{
    gk_t *g = gk_open("kucoin", "BTC-USDT,ETH-USDT");
    char f[1024], b[64];
    uint32_t id = gk_id(g, "BTC-USDT");
    assert_int_equal(gk_frame(g, "{\"id\":\"hQvf8jkno\",\"type\":\"welcome\"}"), 0);
    kc_upd(f, sizeof(f), "BTC-USDT", 101, 103, "[\"100.5\",\"1\",\"101\"]",
           "[\"101\",\"2\",\"102\"],[\"102\",\"3\",\"103\"]");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->cap.n_rest, 1);
    assert_string_equal(g->cap.rest[0], "/api/v1/market/orderbook/level2_100?symbol=BTC-USDT");
    kc_upd(f, sizeof(f), "BTC-USDT", 104, 105, "[\"0\",\"0\",\"104\"]", "[\"101\",\"0\",\"105\"]");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.buffered), 2);
    assert_int_equal(g->n_ev, 0);
    /* snapshot at 102: the first update straddles it; only its change 103 is newer */
    kc_snap(f, sizeof(f), "BTC-USDT", 102, "[\"100.5\",\"7\"],[\"100\",\"1\"]",
            "[\"101\",\"5\"],[\"102\",\"1\"]");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 1);
    assert_string_equal(gk_sz(g, "BTC-USDT", 1, 0, b), "7"); /* 100.5: change 101 is older */
    assert_int_equal(g->book[id].ask.n, 1);                  /* 101 deleted by change 105 */
    assert_string_equal(gk_px(g, "BTC-USDT", 0, 0, b), "102");
    assert_string_equal(gk_sz(g, "BTC-USDT", 0, 0, b), "3"); /* change 103 applied */
    assert_int_equal(g->diff_msgs[id], 2);
    assert_int_equal(TG_STAT_GET(g->o->stats.stale_dropped), 0);
    /* entirely old: dropped; chaining: applied; the price-0 change only moves the sequence */
    kc_upd(f, sizeof(f), "BTC-USDT", 100, 105, "[\"1\",\"1\",\"105\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.stale_dropped), 1);
    kc_upd(f, sizeof(f), "BTC-USDT", 106, 107, "[\"0\",\"0\",\"106\"],[\"100.7\",\"2\",\"107\"]",
           "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_string_equal(gk_px(g, "BTC-USDT", 1, 0, b), "100.7");
    assert_int_equal(g->book[id].bid.n, 3);
    const tg_event_t *last = &g->ev[g->n_ev - 1];
    assert_true(last->flags & TG_EVF_LAST);
    assert_int_equal(last->seq, 107);
    assert_int_equal(last->ts_exch, 1663747970273LL * 1000000);
    /* a late duplicate snapshot changes nothing */
    kc_snap(f, sizeof(f), "BTC-USDT", 90, "[\"1\",\"1\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->gaps[id], 0);
    assert_true(fv_accounted(&g->o->stats));
    gk_close(g);
}

static void test_kucoin_sequence_gap_emits_gap_and_resyncs(void **state)
{
    /* the REST answer (tagged) bridges the kept update */
    gk_t *g =
        gk_gap_then_bridged(&kucoin, "BTC-USDT",
                            "{\"code\":\"200000\",\"data\":{\"time\":1550653727731,"
                            "\"sequence\":\"13\",\"bids\":[[\"1.45\",\"9\"]],\"asks\":[[\"2\","
                            "\"1\"]]}}");
    uint32_t id = gk_id(g, "BTC-USDT");
    char f[1024];
    assert_int_equal(TG_STAT_GET(g->o->stats.gaps), 1);
    /* a snapshot older than the buffered updates is not used */
    kc_upd(f, sizeof(f), "BTC-USDT", 30, 31, "", "");
    gk_frame(g, f); /* gap (16..29 missing) */
    assert_int_equal(g->gaps[id], 2);
    int asked = g->cap.n_rest;
    kc_snap(f, sizeof(f), "BTC-USDT", 20, "[\"1\",\"1\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 2);
    assert_int_equal(g->cap.n_rest, asked + 1);
    gk_close(g);
}

static void test_kucoin_rest_failures_and_old_connections(void **state)
{
    const char *body = "{\"code\":\"200000\",\"data\":{\"time\":1550653727731,\"sequence\":\"6\","
                       "\"bids\":[[\"3000\",\"2\"]],\"asks\":[[\"3001\",\"1\"]]}}";
    /* rate limited, then an error code in a 200 answer */
    static const gk_answer_t fail[] = {{429, "{\"code\":\"429000\"}"},
                                       {200, "{\"code\":\"400100\",\"msg\":\"x\"}"}};
    uint64_t old;
    gk_t *g = gk_rest_failures_then_old_answer(&kucoin, "BTC-USDT,ETH-USDT", "ETH-USDT", fail, 2,
                                               body, &old);
    assert_true(fv_accounted(&g->o->stats));
    gk_close(g);
}

static void test_kucoin_match_trades(void **state)
{
    gk_t *g = gk_open("kucoin", "BTC-USDT");
    uint32_t id = gk_id(g, "BTC-USDT");
    assert_int_equal(
        gk_frame(g, "{\"type\":\"message\",\"topic\":\"/market/match:BTC-USDT\",\"subject\":"
                    "\"trade.l3match\",\"data\":{\"sequence\":\"1545896669145\",\"type\":\"match\","
                    "\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"0.08200000000000000000\","
                    "\"size\":\"0.01022222000000000000\",\"tradeId\":\"5c24c5da03aa673885cd67aa\","
                    "\"takerOrderId\":\"5c24c5d903aa6772d55b371e\",\"makerOrderId\":"
                    "\"5c2187d003aa677bd09d5c93\",\"time\":\"1545913818099033203\"}}"),
        0);
    assert_int_equal(gk_frame(g, "{\"type\":\"message\",\"topic\":\"/market/match:BTC-USDT\","
                                 "\"subject\":\"trade.l3match\",\"data\":{\"sequence\":\"7\","
                                 "\"symbol\":\"BTC-USDT\",\"side\":\"sell\",\"price\":\"67000.1\","
                                 "\"size\":\"0.5\",\"tradeId\":\"11100000000123\",\"time\":"
                                 "\"1700000000000000001\"}}"),
                     0);
    assert_int_equal(g->n_ev, 2);
    const tg_event_t *a = &g->ev[0], *b = &g->ev[1];
    char t[TG_DEC_STR_MAX];
    assert_int_equal(a->kind, TG_EV_TRADE);
    assert_int_equal(a->side, TG_SIDE_BUY);
    assert_true(a->flags & TG_EVF_LAST);
    tg_dec_format(a->price, (int)a->px_scale, t);
    assert_string_equal(t, "0.082");
    tg_dec_format(a->size, (int)a->sz_scale, t);
    assert_string_equal(t, "0.01022222");
    assert_int_equal(a->ts_exch, 1545913818099033203LL);
    assert_int_equal(a->u.trade_id, feed_hash_id("5c24c5da03aa673885cd67aa", 24));
    assert_int_equal(a->seq, 1545896669145ULL);
    assert_int_equal(b->side, TG_SIDE_SELL);
    assert_int_equal(b->u.trade_id, 11100000000123ULL);
    assert_int_equal(g->trades[id], 2);
    gk_close(g);
}

static void test_kucoin_subscribes_respect_the_topic_limits_and_pace(void **state)
{
    static char syms[400 * 12];
    syms[0] = 0;
    for (int i = 0; i < 250; i++)
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%sC%d-USDT", i ? "," : "", i);
    gk_t *g = gk_open("kucoin", syms);
    feed_handler_t *h = &g->o->h;
    assert_int_equal(h->venue->on_open(h), 0);
    /* 250 symbols x 2 channels > 300 topics: the first 150 only (logged), 2 + 2 messages */
    assert_true(g->cap.logs >= 1);
    assert_int_equal(g->cap.n_sent, 4);
    int topics = 0;
    for (int i = 0; i < 4; i++) {
        const char *m = g->cap.sent[i];
        assert_non_null(strstr(m, "\"type\":\"subscribe\""));
        assert_non_null(
            strstr(m, i < 2 ? "\"topic\":\"/market/level2:C" : "\"topic\":\"/market/match:C"));
        int n = 1;
        for (const char *p = strstr(m, "\"topic\":\""); *p && *p != '}'; p++)
            n += *p == ',' && p[1] == 'C';
        assert_true(n <= 100);
        topics += n;
    }
    assert_int_equal(topics, 300);
    assert_non_null(strstr(g->cap.sent[1], "C149-USDT\""));
    assert_null(strstr(g->cap.sent[1], "C150-USDT"));
    gk_close(g);
    /* book only: 40 symbols fit one topic message */
    syms[0] = 0;
    for (int i = 0; i < 40; i++)
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%sC%d-USDT", i ? "," : "", i);
    g = gk_open("kucoin", syms);
    h = &g->o->h;
    h->channels = FEED_CH_BOOK;
    assert_int_equal(h->venue->on_open(h), 0);
    assert_int_equal(g->cap.n_sent, 1);
    assert_non_null(strstr(g->cap.sent[0], "C39-USDT\""));
    gk_close(g);
}

static void test_kucoin_close_marks_books_stale(void **state)
{
    gk_close_marks_books_stale(&kucoin, "BTC-USDT,ETH-USDT");
}

static void test_kucoin_bad_input_is_counted_once(void **state)
{
    gk_t *g = gk_open("kucoin", "BTC-USDT");
    const feed_stats_t *st = &g->o->stats;
    static const vh_frame_rc_t bad[] = {
        {"{\"type\":", TG_EJSON},
        {"{\"id\":\"1\"}", TG_EFIELD},
        {"{\"id\":\"1\",\"type\":\"error\",\"code\":404,\"data\":\"topic /market/level3:BTC-USDT "
         "is not found\"}",
         TG_EPROTO},
    };
    vh_frames_rc(g->o, 1000, bad, sizeof(bad) / sizeof(bad[0]));
    gk_bad_diffs_refused(g, &kucoin, "BTC-USDT");
    char f[1024];
    kc_upd(f, sizeof(f), "BTC-USDT", 3, 4, "[\"1\",\"1\",\"9\"]", ""); /* change outside 3..4 */
    assert_int_equal(gk_frame(g, f), TG_EFIELD);
    fv_assert_errs(st, 1, 3, 1, 1, 1);
    assert_int_equal(g->n_ev, 0);
    uint64_t un = TG_STAT_GET(st->unhandled);
    gk_frame(g, "{\"id\":\"1545910660739\",\"type\":\"ack\"}");
    gk_frame(g, "{\"id\":\"1545910590801\",\"type\":\"pong\"}");
    gk_frame(g, "{\"type\":\"message\",\"topic\":\"/market/ticker:BTC-USDT\",\"subject\":"
                "\"trade.ticker\",\"data\":{}}");
    assert_int_equal(TG_STAT_GET(st->unhandled), un + 3);
    assert_true(fv_accounted(st));
    gk_close(g);
}

static void test_kucoin_mutated_frames_are_all_counted(void **state)
{
    static const char *const frames[] = {
        "{\"type\":\"message\",\"topic\":\"/market/level2:BTC-USDT\",\"subject\":\"trade."
        "l2update\",\"data\":{\"changes\":{\"asks\":[[\"18906\",\"0.00331\",\"%d\"]],\"bids\":"
        "[[\"18891.9\",\"0.15688\",\"%d\"]]},\"sequenceEnd\":%d,\"sequenceStart\":%d,\"symbol\":"
        "\"BTC-USDT\",\"time\":1663747970273}}",
        "{\"stream\":\"/market/level2:BTC-USDT@depthSnapshot\",\"generated\":true,\"data\":{"
        "\"code\":\"200000\",\"data\":{\"time\":1550653727731,\"sequence\":\"%d\",\"bids\":[["
        "\"18890\",\"0.45\"]],\"asks\":[[\"18907\",\"%d.5\"]]}}}",
        "{\"type\":\"message\",\"topic\":\"/market/match:BTC-USDT\",\"subject\":\"trade.l3match\","
        "\"data\":{\"sequence\":\"%d\",\"symbol\":\"BTC-USDT\",\"side\":\"buy\",\"price\":\"%d.1\","
        "\"size\":\"0.01\",\"tradeId\":\"5c24c5da03aa673885cd67aa\",\"time\":"
        "\"1545913818099033203\"}}",
    };
    gk_t *g = gk_open("kucoin", "BTC-USDT");
    const char *e = getenv("TG_FUZZ_ITERS");
    int iters = e && atoi(e) > 0 ? atoi(e) : 30000;
    static const int arg[4] = {1, 1, 1, 1};
    gk_mutated_frames_counted(g, frames, 3, iters, 4242, arg, true); /* half of them mutated */
    assert_true(fv_errors(&g->o->stats) > 0);
    assert_true(TG_STAT_GET(g->o->stats.handled) > (uint64_t)iters / 3);
    gk_close(g);
}

static void test_kucoin_extreme_scales_are_exact(void **state)
{
    static const char *const syms[] = {"TINY-USDT", "HUGE-USDT", "MIX-USDT"};
    gk_t *g = gk_extreme_scales(&kucoin, syms);
    /* too large for the scale TINY-USDT needs: FAULT, never rounded */
    gk_assert_unrepresentable(g, &kucoin, "TINY-USDT", 8, "100000000", "1");
    gk_close(g);
}

static void test_kucoin_hole_in_the_buffer_keeps_the_later_updates(void **state)
{
    gk_hole_in_the_buffer(&kucoin, "BTC-USDT", -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kucoin_is_found_with_its_published_limits),
        cmocka_unit_test(test_kucoin_rest_key_names_the_in_band_answer),
        cmocka_unit_test(test_kucoin_bullet_answer_gives_url_token_and_ping),
        cmocka_unit_test(test_kucoin_on_bullet_sets_the_url_and_the_ping_interval),
        cmocka_unit_test(test_kucoin_calibration_buffers_filters_and_chains),
        cmocka_unit_test(test_kucoin_sequence_gap_emits_gap_and_resyncs),
        cmocka_unit_test(test_kucoin_hole_in_the_buffer_keeps_the_later_updates),
        cmocka_unit_test(test_kucoin_rest_failures_and_old_connections),
        cmocka_unit_test(test_kucoin_match_trades),
        cmocka_unit_test(test_kucoin_subscribes_respect_the_topic_limits_and_pace),
        cmocka_unit_test(test_kucoin_close_marks_books_stale),
        cmocka_unit_test(test_kucoin_bad_input_is_counted_once),
        cmocka_unit_test(test_kucoin_mutated_frames_are_all_counted),
        cmocka_unit_test(test_kucoin_extreme_scales_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
