/* SPDX-License-Identifier: MIT */
/*
 * Gate.io handler (feeds/venues/feed_gate_io.c, ids gate-io and gate-io-futures): the recorded
 * spot session (in-band REST snapshots + spot.order_book_update + spot.trades) against both
 * oracles (tardis-dev and the recordings' own exact checker), the U/u sync rules with synthetic
 * frames (buffering, stale diffs, bridging, gaps, too-old snapshots, REST answers), the futures
 * variant (object levels, signed sizes, trades signed by side, internal trades), subscribes
 * and pings, bad input, mutated frames, and exact prices at extreme scales.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/venues.h"
#include "tests/fixtures/gk_cases.h"
#include "tests/fixtures/venue_harness.h"

#define GT_FILE "gate-io/cryptofeed_ce58c2a0_GATEIO.ws.1.tgrec"
#define GT_BASE "cryptofeed_ce58c2a0_GATEIO.ws.1.tgrec.result.json"
#define CPX     GK_CPX /* test-side common scales: every event is rescaled to these */
#define CSZ     GK_CSZ

static void spot_diff(char *out, size_t cap, const char *sym, uint64_t U, uint64_t u, const char *b,
                      const char *a)
{
    snprintf(out, cap,
             "{\"time\":1619093533,\"channel\":\"spot.order_book_update\",\"event\":\"update\","
             "\"result\":{\"t\":1619093533020,\"e\":\"depthUpdate\",\"E\":1619093533,\"s\":\"%s\","
             "\"U\":%llu,\"u\":%llu,\"b\":[%s],\"a\":[%s]}}",
             sym, (unsigned long long)U, (unsigned long long)u, b, a);
}

static void spot_snap(char *out, size_t cap, const char *sym, uint64_t id, const char *b,
                      const char *a)
{
    snprintf(out, cap,
             "{\"stream\":\"spot.order_book_update:%s@depthSnapshot\",\"generated\":true,"
             "\"data\":{\"id\":%llu,\"asks\":[%s],\"bids\":[%s]}}",
             sym, (unsigned long long)id, a, b);
}

static void spot_level(char *out, size_t cap, const char *px, const char *sz, uint64_t seq)
{
    (void)seq;
    snprintf(out, cap, "[\"%s\",\"%s\"]", px, sz);
}

static const gk_venue_t gate_spot = {"gate-io", spot_level, spot_diff, spot_snap, true};

/* ---- tests ---- */

static void test_gate_io_ids_are_found_with_their_variant(void **state)
{
    const feed_venue_t *s = feed_venue_find("gate-io"), *f = feed_venue_find("gate-io-futures");
    assert_ptr_equal(s, &feed_venue_gate_io);
    assert_ptr_equal(f, &feed_venue_gate_io_futures);
    assert_ptr_equal(feed_venue_find("gateio"), &feed_venue_gate_io);
    assert_int_not_equal(s->variant, f->variant);
    assert_non_null(s->on_frame);
    assert_true(s->max_sends_per_s > 0);
}

static void test_gate_io_rest_keys_name_the_in_band_answers(void **state)
{
    char key[128];
    assert_int_equal(feed_venue_gate_io.rest_key(
                         "/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true",
                         key, sizeof(key)),
                     0);
    assert_string_equal(key, "spot.order_book_update:btc_usdt");
    assert_int_equal(
        feed_venue_gate_io_futures.rest_key(
            "/api/v4/futures/usdt/order_book?contract=BTC_USDT&with_id=true", key, sizeof(key)),
        0);
    assert_string_equal(key, "futures.order_book_update:btc_usdt");
    assert_int_equal(
        feed_venue_gate_io.rest_key("/api/v4/futures/usdt/order_book?contract=X", key, sizeof(key)),
        -ENOENT);
    assert_int_equal(
        feed_venue_gate_io.rest_key("/api/v4/spot/order_book?limit=1", key, sizeof(key)), -EINVAL);
}

/* Compare our book with one oracle side (values at the common scales; no rounding allowed). */
static void cmp_side(const ref_side_t *s, const oracle_level_t *ol, int n, const char *what)
{
    assert_true(s->n >= (size_t)n);
    for (int i = 0; i < n; i++) {
        int64_t px, sz;
        int r1, r2;
        assert_int_equal(oracle_dec(ol[i].px, CPX, &px, &r1), 0);
        assert_int_equal(oracle_dec(ol[i].sz, CSZ, &sz, &r2), 0);
        if (px != s->px[i] || sz != s->sz[i] || r1 || r2)
            fail_msg("%s[%d]: oracle %s x %s, ours %lld x %lld", what, i, ol[i].px, ol[i].sz,
                     (long long)s->px[i], (long long)s->sz[i]);
    }
}

static void check_oracle(gk_t *g, const char *dir, bool exact_levels)
{
    char path[1024];
    const char *root = getenv("TG_PEER_EXPECTED");
    snprintf(path, sizeof(path), "%s/%s/%s", root ? root : ".", dir, GT_BASE);
    oracle_t orc;
    if (oracle_load(path, &orc) != 0)
        fail_msg("cannot load %s", path);
    assert_int_equal(orc.n_syms, (int)g->o->h.n_instr);
    for (uint32_t i = 0; i < g->o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(g->o->reg, g->o->h.instr[i]);
        const oracle_sym_t *os = oracle_find(&orc, in->symbol);
        assert_non_null(os);
        const ref_book_t *b = &g->book[in->id];
        char what[96];
        snprintf(what, sizeof(what), "%s %s bids", dir, in->symbol);
        cmp_side(&b->bid, os->bids, os->n_bids, what);
        snprintf(what, sizeof(what), "%s %s asks", dir, in->symbol);
        cmp_side(&b->ask, os->asks, os->n_asks, what);
        if (exact_levels) {
            vh_assert_depth(b, os);
        }
        assert_int_equal(g->trades[in->id], os->trades);
        if (os->trade_amount[0]) {
            int64_t amt;
            assert_int_equal(oracle_dec(os->trade_amount, CSZ, &amt, NULL), 0);
            assert_int_equal(g->amount[in->id], amt);
            assert_int_equal(g->buys[in->id], os->buy_trades);
        }
    }
    oracle_free(&orc);
}

static void test_gate_io_recording_books_equal_both_oracles(void **state)
{
    char paths[4][512];
    int nf = fv_list("gate-io", paths, 4);
    if (nf == 0)
        skip();
    gk_t *g = calloc(1, sizeof(*g));
    assert_int_equal(feed_offline_open(&g->o, paths[0], NULL, NULL, 0), 0);
    assert_int_equal(feed_offline_run(g->o, gk_sink, g), 0);
    const feed_stats_t *st = &g->o->stats;
    assert_int_equal(fv_errors(st), 0);
    assert_int_equal(g->bad_scale, 0);
    assert_int_equal(g->in_msg, 0); /* every message ended */
    assert_int_equal(TG_STAT_GET(st->frames), g->o->rec->data_lines);
    assert_true(fv_accounted(st));
    assert_int_equal(TG_STAT_GET(st->gaps), 0);
    assert_int_equal(TG_STAT_GET(st->snapshots), 10);
    /* README: 172 diffs, REST id bridged for 8/10 pairs with 159 diffs applied after sync; the
     * other 13 are not newer than their snapshot */
    assert_int_equal(TG_STAT_GET(st->stale_dropped), 13);
    long diffs = 0, trades = 0;
    for (uint32_t i = 0; i < g->o->h.n_instr; i++) {
        diffs += g->diff_msgs[g->o->h.instr[i]];
        trades += g->trades[g->o->h.instr[i]];
        assert_int_equal(g->clears[g->o->h.instr[i]], 1);
        assert_int_equal(g->gaps[g->o->h.instr[i]], 0);
    }
    assert_int_equal(diffs, 159);
    assert_int_equal(trades, 9);
    /* one REST request per pair (made at its first diff, as the recorder did) */
    assert_int_equal(g->o->rest_gets, 10);
    check_oracle(g, "../expected-ref", true); /* exact decimal strings */
    check_oracle(g, ".", true);               /* tardis-dev */
    /* the create_time_ms text "1619093543708.2642" is kept to the ns */
    bool seen = false;
    for (size_t i = 0; i < g->n_ev; i++)
        if (g->ev[i].kind == TG_EV_TRADE && g->ev[i].u.trade_id == 816995772) {
            assert_int_equal(g->ev[i].ts_exch, 1619093543708264200LL);
            assert_int_equal(g->ev[i].side, TG_SIDE_SELL);
            seen = true;
        }
    assert_true(seen);
    gk_close(g);
}

static void test_gate_io_sync_buffers_drops_stale_bridges_and_chains(void **state)
{
    gk_t *g = gk_open("gate-io", "BTC_USDT,ETH_USDT");
    char f[1024], b[64];
    uint32_t id = gk_id(g, "BTC_USDT");
    spot_diff(f, sizeof(f), "BTC_USDT", 90, 100, "[\"100.5\",\"1\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->cap.n_rest, 1); /* the first diff asks for the snapshot */
    assert_string_equal(g->cap.rest[0],
                        "/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true");
    spot_diff(f, sizeof(f), "BTC_USDT", 101, 103, "[\"100.6\",\"2\"]", "[\"101\",\"0\"]");
    assert_int_equal(gk_frame(g, f), 0);
    spot_diff(f, sizeof(f), "BTC_USDT", 104, 104, "[\"100.6\",\"3\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.buffered), 3);
    assert_int_equal(g->n_ev, 0);
    assert_int_equal(g->cap.n_rest, 1); /* asked once */
    /* snapshot id 101: diff u=100 is stale, 101..103 bridges (U <= 102 <= u), 104 chains */
    spot_snap(f, sizeof(f), "BTC_USDT", 101, "[\"100.5\",\"5\"],[\"100.4\",\"1\"]",
              "[\"101\",\"7\"],[\"102\",\"1\"]");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.stale_dropped), 1);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->diff_msgs[id], 2);
    assert_int_equal(g->book[id].bid.n, 3);
    assert_string_equal(gk_px(g, "BTC_USDT", 1, 0, b), "100.6");
    assert_string_equal(gk_sz(g, "BTC_USDT", 1, 0, b), "3");
    assert_string_equal(gk_sz(g, "BTC_USDT", 1, 1, b), "5"); /* 100.5 x 5: diff u=100 dropped */
    assert_int_equal(g->book[id].ask.n, 1);                  /* 101 deleted */
    assert_string_equal(gk_px(g, "BTC_USDT", 0, 0, b), "102");
    /* a replay (u <= last u) is dropped, the next one chains */
    spot_diff(f, sizeof(f), "BTC_USDT", 103, 104, "[\"1\",\"1\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(TG_STAT_GET(g->o->stats.stale_dropped), 2);
    spot_diff(f, sizeof(f), "BTC_USDT", 105, 106, "[\"100.6\",\"0\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->diff_msgs[id], 3);
    assert_int_equal(g->book[id].bid.n, 2);
    /* the levels of one message are one run ending with LAST, seq = u */
    const tg_event_t *last = &g->ev[g->n_ev - 1];
    assert_int_equal(last->seq, 106);
    assert_true(last->flags & TG_EVF_LAST);
    assert_int_equal(last->ts_exch, 1619093533020LL * 1000000);
    assert_int_equal(g->gaps[id], 0);
    /* a late duplicate snapshot while live changes nothing */
    spot_snap(f, sizeof(f), "BTC_USDT", 99, "[\"1\",\"1\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->book[id].bid.n, 2);
    assert_true(fv_accounted(&g->o->stats));
    gk_close(g);
}

static void test_gate_io_gap_emits_gap_and_requests_a_new_snapshot(void **state)
{
    /* the breaking diff was kept: a REST snapshot at 14 bridges it (U=14 <= 15 <= u=15) */
    gk_t *g = gk_gap_then_bridged(
        &gate_spot, "BTC_USDT", "{\"id\":14,\"asks\":[[\"2\",\"1\"]],\"bids\":[[\"1.45\",\"9\"]]}");
    assert_int_equal(g->diff_msgs[gk_id(g, "BTC_USDT")], 2);
    gk_close(g);
}

static void test_gate_io_snapshot_older_than_the_buffer_is_not_used(void **state)
{
    gk_t *g = gk_open("gate-io", "BTC_USDT");
    char f[1024];
    uint32_t id = gk_id(g, "BTC_USDT");
    spot_diff(f, sizeof(f), "BTC_USDT", 50, 60, "[\"1.5\",\"1\"]", "");
    gk_frame(g, f);
    /* id 40: the diffs 41..49 are missing between the snapshot and the buffer */
    spot_snap(f, sizeof(f), "BTC_USDT", 40, "[\"1.5\",\"2\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 0);
    assert_int_equal(g->cap.n_rest, 2); /* asked again */
    spot_snap(f, sizeof(f), "BTC_USDT", 55, "[\"1.5\",\"2\"]", "");
    assert_int_equal(gk_frame(g, f), 0);
    assert_int_equal(g->clears[id], 1);
    assert_string_equal(gk_sz(g, "BTC_USDT", 1, 0, (char[32]){0}), "1");
    gk_close(g);
}

static void test_gate_io_rest_answers_failures_and_old_connections(void **state)
{
    const char *body = "{\"id\":6,\"current\":1623898993123,\"update\":1623898993121,\"asks\":"
                       "[[\"3001\",\"1\"]],\"bids\":[[\"3000\",\"2\"]]}";
    static const gk_answer_t fail[] = {{503, "{\"label\":\"TOO_MANY_REQUESTS\"}"}};
    uint64_t old;
    gk_t *g = gk_rest_failures_then_old_answer(&gate_spot, "BTC_USDT,ETH_USDT", "ETH_USDT", fail, 1,
                                               body, &old);
    char f[1024];
    uint32_t id = gk_id(g, "ETH_USDT");
    /* the new connection's answer is used; its "update" ms is the snapshot time */
    spot_diff(f, sizeof(f), "ETH_USDT", 7, 7, "", "[\"3001\",\"0\"]");
    gk_frame(g, f);
    uint64_t now = g->cap.tag[g->cap.n_rest - 1];
    assert_int_equal(now >> 32, (old >> 32) + 1);
    assert_int_equal(gk_rest(g, now, 200, body), 0);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->book[id].ask.n, 0);
    for (size_t i = 0; i < g->n_ev; i++)
        if (g->ev[i].kind == TG_EV_BOOK_CLEAR)
            assert_int_equal(g->ev[i].ts_exch, 1623898993121LL * 1000000);
    assert_true(fv_accounted(&g->o->stats));
    gk_close(g);
}

static void test_gate_io_open_paces_subscribes_and_pings(void **state)
{
    char syms[1024] = "";
    for (int i = 0; i < 30; i++)
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%sS%d_USDT", i ? "," : "", i);
    gk_t *g = gk_open("gate-io", syms);
    feed_handler_t *h = &g->o->h;
    assert_int_equal(h->venue->on_open(h), 0);
    uint32_t lim = h->venue->max_sends_per_s;
    assert_int_equal(g->cap.n_sent, (int)lim);
    assert_non_null(strstr(g->cap.sent[0], "\"channel\":\"spot.trades\""));
    assert_non_null(strstr(g->cap.sent[0], "\"S29_USDT\"]")); /* 30 pairs in one batch */
    assert_non_null(strstr(g->cap.sent[1], "\"payload\":[\"S0_USDT\",\"100ms\"]"));
    for (int t = 1; t <= 3; t++) {
        int before = g->cap.n_sent;
        h->venue->on_tick(h, (int64_t)t * 1000000000LL);
        assert_true(g->cap.n_sent - before <= (int)lim);
    }
    /* 1 trades batch + 30 book subscribes in all, no more */
    assert_int_equal(g->cap.n_sent, 31);
    h->venue->on_tick(h, 4000000000LL);
    assert_int_equal(g->cap.n_sent, 31);
    /* the application ping every 10 s */
    g->cap.n_sent = 0;
    h->venue->on_tick(h, 10000000000LL);
    assert_int_equal(g->cap.n_sent, 1);
    assert_non_null(strstr(g->cap.sent[0], "\"channel\":\"spot.ping\""));
    h->venue->on_tick(h, 11000000000LL);
    assert_int_equal(g->cap.n_sent, 1);
    gk_close(g);
}

static void test_gate_io_close_marks_every_book_stale(void **state)
{
    gk_close_marks_books_stale(&gate_spot, "BTC_USDT,ETH_USDT");
}

static void test_gate_io_futures_levels_sizes_and_trades(void **state)
{
    gk_t *g = gk_open("gate-io-futures", "BTC_USDT");
    char b[64];
    uint32_t id = gk_id(g, "BTC_USDT");
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\":\"futures.order_book_update\","
                                 "\"event\":\"update\",\"result\":{\"t\":1615366381417,\"s\":"
                                 "\"BTC_USDT\",\"U\":100,\"u\":105,\"b\":[{\"p\":\"54672.1\",\"s\":"
                                 "0},{\"p\":\"54664.5\",\"s\":58794}],\"a\":[{\"p\":\"54743.6\","
                                 "\"s\":-95}]}}"),
                     0);
    assert_int_equal(g->cap.n_rest, 1);
    assert_string_equal(g->cap.rest[0],
                        "/api/v4/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true");
    assert_int_equal(gk_rest(g, g->cap.tag[0], 200,
                             "{\"id\":101,\"current\":1623898993.123,\"update\":1623898993.121,"
                             "\"asks\":[{\"p\":\"54743.6\",\"s\":10}],\"bids\":[{\"p\":"
                             "\"54672.1\",\"s\":5},{\"p\":\"54600\",\"s\":\"7\"}]}"),
                     0);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->book[id].bid.n, 2); /* 54672.1 deleted, 54664.5 added, 54600 */
    assert_string_equal(gk_px(g, "BTC_USDT", 1, 0, b), "54664.5");
    assert_string_equal(gk_sz(g, "BTC_USDT", 1, 0, b), "58794");
    assert_string_equal(gk_sz(g, "BTC_USDT", 0, 0, b), "95"); /* signed ask size: absolute */
    for (size_t i = 0; i < g->n_ev; i++)
        if (g->ev[i].kind == TG_EV_BOOK_CLEAR)
            assert_int_equal(g->ev[i].ts_exch, 1623898993121000000LL);
    /* trades: size sign = taker side; internal trades dropped */
    size_t n0 = g->n_ev;
    assert_int_equal(gk_frame(g, "{\"channel\":\"futures.trades\",\"event\":\"update\",\"time\":1,"
                                 "\"result\":[{\"size\":-108,\"id\":27753479,\"create_time\":"
                                 "1545136464,\"create_time_ms\":1545136464123,\"price\":\"96.4\","
                                 "\"contract\":\"BTC_USDT\"},{\"size\":3,\"id\":27753480,"
                                 "\"create_time\":1545136464,\"create_time_ms\":1545136464124,"
                                 "\"price\":\"96.5\",\"contract\":\"BTC_USDT\"},{\"size\":9,\"id\":"
                                 "27753481,\"create_time\":1545136464,\"price\":\"90\","
                                 "\"contract\":\"BTC_USDT\",\"is_internal\":true}]}"),
                     0);
    assert_int_equal(g->n_ev - n0, 2);
    assert_int_equal(g->ev[n0].side, TG_SIDE_SELL);
    assert_int_equal(g->ev[n0].u.trade_id, 27753479);
    assert_int_equal(g->ev[n0].ts_exch, 1545136464123000000LL);
    assert_false(g->ev[n0].flags & TG_EVF_LAST);
    assert_int_equal(g->ev[n0 + 1].side, TG_SIDE_BUY);
    assert_true(g->ev[n0 + 1].flags & TG_EVF_LAST);
    assert_int_equal(g->amount[id], 111 * 10000000000LL);
    /* pong and subscribe ack are unhandled */
    uint64_t un = TG_STAT_GET(g->o->stats.unhandled);
    gk_frame(g, "{\"time\":1,\"channel\":\"futures.pong\",\"event\":\"\",\"error\":null,"
                "\"result\":null}");
    gk_frame(g, "{\"time\":1,\"channel\":\"futures.trades\",\"event\":\"subscribe\",\"error\":"
                "null,\"result\":{\"status\":\"success\"}}");
    assert_int_equal(TG_STAT_GET(g->o->stats.unhandled), un + 2);
    /* on_open: book subscribe with interval and depth, and a futures ping on the tick */
    g->o->venue->on_open(&g->o->h);
    assert_non_null(strstr(g->cap.sent[1], "\"channel\":\"futures.order_book_update\""));
    assert_non_null(strstr(g->cap.sent[1], "[\"BTC_USDT\",\"100ms\",\"100\"]"));
    g->o->venue->on_tick(&g->o->h, 20000000000LL);
    assert_non_null(strstr(g->cap.sent[g->cap.n_sent - 1], "futures.ping"));
    gk_close(g);
}

static void test_gate_io_bad_input_is_counted_once(void **state)
{
    gk_t *g = gk_open("gate-io", "BTC_USDT");
    char f[1024];
    const feed_stats_t *st = &g->o->stats;
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\""), TG_EJSON);
    assert_int_equal(gk_frame(g, "[1,2]"), TG_EJSON);
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\":\"spot.order_book_update\",\"event\":"
                                 "\"subscribe\",\"error\":{\"code\":2,\"message\":\"unknown "
                                 "currency pair\"},\"result\":null}"),
                     TG_EPROTO);
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\":\"spot.trades\",\"event\":"
                                 "\"subscribe\",\"result\":{\"status\":\"fail\"}}"),
                     TG_EPROTO);
    gk_bad_diffs_refused(g, &gate_spot, "BTC_USDT");
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\":\"spot.trades\",\"event\":\"update\","
                                 "\"result\":{\"id\":1,\"create_time_ms\":\"1.5\",\"side\":"
                                 "\"up\",\"currency_pair\":\"BTC_USDT\",\"amount\":\"1\","
                                 "\"price\":\"1\"}}"),
                     TG_EFIELD);
    fv_assert_errs(st, 2, 2, 1, 1, 2);
    assert_int_equal(g->n_ev, 0);
    assert_true(fv_accounted(st));
    /* a bad diff on a synced book: GAP + a new snapshot, nothing of the diff applied */
    uint32_t id = gk_id(g, "BTC_USDT");
    spot_diff(f, sizeof(f), "BTC_USDT", 10, 10, "", "");
    gk_frame(g, f);
    spot_snap(f, sizeof(f), "BTC_USDT", 10, "[\"1\",\"1\"]", "");
    gk_frame(g, f);
    int asked = g->cap.n_rest;
    spot_diff(f, sizeof(f), "BTC_USDT", 11, 11, "[\"2\",\"1\"],[\"1\",\"-1\"]", "");
    assert_int_equal(gk_frame(g, f), TG_EDEC_NEGATIVE);
    assert_int_equal(g->gaps[id], 1);
    assert_int_equal(g->book[id].bid.n, 1);
    assert_int_equal(g->cap.n_rest, asked + 1);
    assert_true(fv_accounted(st));
    gk_close(g);
}

static void test_gate_io_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    char paths[4][512];
    if (fv_list("gate-io", paths, 4) == 0)
        skip();
    const char *e = getenv("TG_FUZZ_ITERS");
    size_t iters = e && atoi(e) > 0 ? (size_t)atoi(e) : 30000;
    feed_stats_t st;
    size_t fed = fv_fuzz(paths[0], iters, 0x9a7e10ull, &st);
    assert_int_equal(fed, iters);
    assert_int_equal(TG_STAT_GET(st.frames), iters);
    assert_true(fv_accounted(&st));
    assert_true(fv_errors(&st) > 0);
    assert_true(TG_STAT_GET(st.handled) > iters / 2);
}

static void test_gate_io_futures_mutated_frames_are_all_counted(void **state)
{
    static const char *const frames[] = {
        "{\"time\":1,\"channel\":\"futures.order_book_update\",\"event\":\"update\",\"result\":"
        "{\"t\":1615366381417,\"s\":\"BTC_USDT\",\"U\":%d,\"u\":%d,\"b\":[{\"p\":\"54672.1\","
        "\"s\":0},{\"p\":\"54664.5\",\"s\":58794}],\"a\":[{\"p\":\"54743.6\",\"s\":-95}]}}",
        "{\"stream\":\"futures.order_book_update:BTC_USDT@depthSnapshot\",\"generated\":true,"
        "\"data\":{\"id\":%d,\"current\":1623898993.123,\"update\":%d.121,\"asks\":[{\"p\":"
        "\"54743.6\",\"s\":10}],\"bids\":[{\"p\":\"54672.1\",\"s\":5}]}}",
        "{\"channel\":\"futures.trades\",\"event\":\"update\",\"time\":1,\"result\":[{\"size\":"
        "-108,\"id\":%d,\"create_time\":1545136464,\"create_time_ms\":%d,\"price\":\"96.4\","
        "\"contract\":\"BTC_USDT\"}]}",
    };
    gk_t *g = gk_open("gate-io-futures", "BTC_USDT");
    static const int arg[4] = {0, 1, 0, 0};
    gk_mutated_frames_counted(g, frames, 3, 20000, 77, arg, false);
    gk_close(g);
}

/* Every emitted price/size as exact text equals the input, whatever scale it needed. */
static void test_gate_io_extreme_scales_are_exact(void **state)
{
    static const char *const syms[] = {"TINY_USDT", "HUGE_USDT", "MIX_USDT"};
    gk_t *g = gk_extreme_scales(&gate_spot, syms);
    char b[TG_DEC_STR_MAX];
    /* a trade at 14 places on a fresh instrument is exact too */
    assert_int_equal(gk_frame(g, "{\"time\":1,\"channel\":\"spot.trades\",\"event\":\"update\","
                                 "\"result\":{\"id\":7,\"create_time_ms\":\"1619093543708.2642\","
                                 "\"side\":\"buy\",\"currency_pair\":\"TINY_USDT\",\"amount\":"
                                 "\"0.00000001\",\"price\":\"0.00000000000123\"}}"),
                     0);
    const tg_event_t *t = &g->ev[g->n_ev - 1];
    assert_int_equal(t->kind, TG_EV_TRADE);
    tg_dec_format(t->price, (int)t->px_scale, b);
    assert_string_equal(b, "0.00000000000123");
    tg_dec_format(t->size, (int)t->sz_scale, b);
    assert_string_equal(b, "0.00000001");
    /* a value no int64 holds at the scale its instrument needs: FAULT, never rounded */
    gk_assert_unrepresentable(g, &gate_spot, "TINY_USDT", 6, "100000000", "1");
    gk_close(g);
}

/* A capture of a live session (feed_capture: REST answers as {"rest":..} lines with the live
 * connection's tag) replays offline: the answer reaches this run's request. */
static void test_gate_io_captured_rest_answer_replays_offline(void **state)
{
    gk_t *g = gk_open_lines(
        "gate-io", "BTC_USDT",
        "1 {\"time\":1,\"channel\":\"spot.order_book_update\",\"event\":\"update\",\"result\":"
        "{\"t\":1000,\"s\":\"BTC_USDT\",\"U\":5,\"u\":6,\"b\":[[\"10\",\"1\"]],\"a\":[]}}\n"
        "2 "
        "{\"rest\":\"https://api.gateio.ws/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100"
        "&with_id=true\",\"tag\":17179869184,\"status\":200,\"generated\":true,\"data\":{\"id\":5,"
        "\"current\":1000,\"update\":999,\"asks\":[[\"11\",\"2\"]],\"bids\":[[\"10\",\"3\"]]}}\n"
        "3 {\"time\":1,\"channel\":\"spot.order_book_update\",\"event\":\"update\",\"result\":"
        "{\"t\":1001,\"s\":\"BTC_USDT\",\"U\":7,\"u\":7,\"b\":[],\"a\":[[\"11\",\"0\"]]}}\n");
    assert_int_equal(feed_offline_run(g->o, gk_sink, g), 0);
    uint32_t id = gk_id(g, "BTC_USDT");
    char b[32];
    assert_int_equal(g->o->rest_answers, 1);
    assert_int_equal(g->clears[id], 1);
    assert_int_equal(g->diff_msgs[id], 2);
    assert_string_equal(gk_sz(g, "BTC_USDT", 1, 0, b), "1"); /* diff 5..6 over snapshot 5 */
    assert_int_equal(g->book[id].ask.n, 0);
    assert_int_equal(fv_errors(&g->o->stats), 0);
    assert_true(fv_accounted(&g->o->stats));
    assert_int_equal(TG_STAT_GET(g->o->stats.frames), 3);
    gk_close(g);
}

/* A hole inside the buffered diffs: applied up to it, GAP, the diffs after it kept for the next
 * snapshot. */
static void test_gate_io_hole_in_the_buffer_keeps_the_later_diffs(void **state)
{
    gk_hole_in_the_buffer(&gate_spot, "BTC_USDT", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_io_ids_are_found_with_their_variant),
        cmocka_unit_test(test_gate_io_rest_keys_name_the_in_band_answers),
        cmocka_unit_test(test_gate_io_recording_books_equal_both_oracles),
        cmocka_unit_test(test_gate_io_sync_buffers_drops_stale_bridges_and_chains),
        cmocka_unit_test(test_gate_io_gap_emits_gap_and_requests_a_new_snapshot),
        cmocka_unit_test(test_gate_io_snapshot_older_than_the_buffer_is_not_used),
        cmocka_unit_test(test_gate_io_hole_in_the_buffer_keeps_the_later_diffs),
        cmocka_unit_test(test_gate_io_rest_answers_failures_and_old_connections),
        cmocka_unit_test(test_gate_io_open_paces_subscribes_and_pings),
        cmocka_unit_test(test_gate_io_close_marks_every_book_stale),
        cmocka_unit_test(test_gate_io_futures_levels_sizes_and_trades),
        cmocka_unit_test(test_gate_io_bad_input_is_counted_once),
        cmocka_unit_test(test_gate_io_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_gate_io_futures_mutated_frames_are_all_counted),
        cmocka_unit_test(test_gate_io_extreme_scales_are_exact),
        cmocka_unit_test(test_gate_io_captured_rest_answer_replays_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
