/* SPDX-License-Identifier: MIT */
/*
 * Coinbase (legacy Exchange feed) handler against its recording and the tardis oracle: final
 * top-10 books, trades (count, aggressor sides, amount), no gaps on clean data, a removed match
 * detected as a trade-id gap, and mutated frames accounted for without a crash. Trade
 * backfill after a reconnect (docs/feeds.md): the hole last_match shows, the requests (cursor,
 * limit, pacing), pages emitted in ascending id, tries, and a given-up range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
    fv_fuzz_each_counted(g_paths, g_n, 8000, 777);
}

static void test_coinbase_subscribes_level2_and_matches_for_all_products(void **state)
{
    static const char rec[] = "# tgrec 1\n# venue: coinbase\n# symbols: BTC-USD,ETH-EUR\n";
    fv_run_t r;
    fv_cap_t *c = fv_open_text_sends(&r, rec, sizeof(rec) - 1, 1);
    assert_string_equal(c->sent[0], "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\","
                                    "\"ETH-EUR\"],\"channels\":[\"level2\",\"matches\"]}");
    fv_free_captured(&r, c);
}

static void test_coinbase_times_are_converted_to_ns_exactly(void **state)
{
    fv_run_t r;
    fv_run_lines(
        &r, "coinbase", "BTC-USD",
        "1 {\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"bids\":[[\"10.5\",\"1\"]],"
        "\"asks\":[[\"11\",\"2\"]]}\n"
        "2 {\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\",\"10.6\","
        "\"3\"]],\"time\":\"2021-04-17T16:43:37.075687Z\"}\n"
        "3 {\"type\":\"match\",\"trade_id\":7,\"side\":\"sell\",\"size\":\"0.5\",\"price\":"
        "\"11\",\"product_id\":\"BTC-USD\",\"sequence\":50,\"time\":\"2000-02-29T00:00:00Z\"}\n"
        "4 {\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":[[\"buy\",\"10.6\","
        "\"3\"]],\"time\":\"2021-13-17T16:43:37Z\"}\n");
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
    uint32_t shib = xs_id(o, "SHIB-USD");
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
    /* BTC-USD: prices near 1e7, sizes 1e-8 and 9.2e10 */
    uint32_t btc = xs_id(o, "BTC-USD");
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

/* ---- trade backfill ---- */

static char g_req[16][128];
static uint64_t g_tag[16];
static int g_nreq;
static char g_log[8][512];
static int g_nlog;

static int bf_get(void *tctx, const char *path, uint64_t tag)
{
    assert_true(g_nreq < 16);
    snprintf(g_req[g_nreq], sizeof(g_req[0]), "%s", path);
    g_tag[g_nreq++] = tag;
    return 0;
}

static void bf_log(void *lctx, int level, const char *msg)
{
    if (level <= TG_LOG_INFO && g_nlog < 8)
        snprintf(g_log[g_nlog++], sizeof(g_log[0]), "%s", msg);
}

static const char *bf_find_log(const char *what)
{
    for (int i = 0; i < g_nlog; i++)
        if (strstr(g_log[i], what))
            return g_log[i];
    return NULL;
}

/* a match (or last_match) of BTC-USD: trade id, feed sequence */
static int bf_match(vh_env_t *e, const char *type, unsigned id, unsigned seq, int64_t now)
{
    char f[320];
    snprintf(f, sizeof(f),
             "{\"type\":\"%s\",\"trade_id\":%u,\"side\":\"sell\",\"size\":\"0.5\",\"price\":"
             "\"100.25\",\"product_id\":\"BTC-USD\",\"sequence\":%u,\"time\":"
             "\"2021-04-17T16:43:37.5Z\"}",
             type, id, seq);
    int rc = feed_frame(&e->o->h, f, strlen(f), now, now);
    feed_flush(&e->o->h);
    return rc;
}

/* close and open again (a reconnect) at time now */
static void bf_reconnect(vh_env_t *e, int64_t now)
{
    e->o->venue->on_close(&e->o->h, now, now);
    feed_flush(&e->o->h);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
}

/* a page of ids hi, hi - 1, .., lo (newest first, as Coinbase answers); id k has price
 * 1000.<k> and size 0.00000<k % 10>1, maker side buy for even k */
static char *bf_page(unsigned hi, unsigned lo)
{
    size_t cap = 64 + (size_t)(hi - lo + 1) * 160, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "[");
    for (unsigned k = hi; k >= lo && k; k--)
        n += (size_t)snprintf(b + n, cap - n,
                              "%s{\"time\":\"2021-04-17T16:43:%02u.25Z\",\"trade_id\":%u,\"price\":"
                              "\"1000.%u\",\"size\":\"0.00000%u1\",\"side\":\"%s\"}",
                              k == hi ? "" : ",", k % 60, k, k, k % 10, k % 2 ? "sell" : "buy");
    snprintf(b + n, cap - n, "]");
    return b;
}

static vh_env_t *bf_open(void)
{
    vh_env_t *e = vh_env_open("coinbase", "BTC-USD", NULL, 0, 0);
    g_nreq = g_nlog = 0;
    e->o->h.rest_get = bf_get;
    e->o->h.log = bf_log;
    return e;
}

/* After a reconnect, last_match (id 15, never emitted) shows the hole [12, 15] at once: one
 * request with the cursor after=16, limit 4; the page (newest first, one id outside the
 * range) is emitted in ascending id with TG_EVF_REST, exact values and the taker's side; an
 * answer for the previous connection is dropped. */
static void test_coinbase_backfill_fetches_the_hole_last_match_shows(void **state)
{
    vh_env_t *e = bf_open();
    int64_t t0 = 5000000000LL;
    assert_int_equal(bf_match(e, "last_match", 10, 100, t0), 0);
    assert_int_equal(bf_match(e, "match", 11, 101, t0), 0);
    assert_int_equal(g_nreq, 0);
    bf_reconnect(e, t0 + 1);
    assert_int_equal(bf_match(e, "last_match", 15, 200, t0 + 2), 0);
    assert_int_equal(g_nreq, 1);
    assert_string_equal(g_req[0], "/products/BTC-USD/trades?after=16&limit=4");
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_requests), 1);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 0); /* a reconnect is no gap in one stream */
    /* the page tagged for the previous connection, while the range is open: dropped */
    char *page = bf_page(15, 11);
    uint64_t old_tag = g_tag[0] - ((uint64_t)1 << 32);
    size_t before = e->n_ev;
    assert_int_equal(vh_rest1(e->o, old_tag, 200, page, t0 + 3), 0);
    assert_int_equal(e->n_ev, before);
    assert_int_equal(vh_rest1(e->o, g_tag[0], 200, page, t0 + 3), 0);
    size_t n = 0;
    for (size_t i = 0; i < e->n_ev; i++) {
        const tg_event_t *v = &e->ev[i];
        if (v->kind != TG_EV_TRADE || !(v->flags & TG_EVF_REST))
            continue;
        unsigned id = 12 + (unsigned)n++;
        assert_int_equal(v->u.trade_id, id);
        assert_int_equal(v->seq, 0);
        assert_int_equal(v->side, id % 2 ? TG_SIDE_BUY : TG_SIDE_SELL); /* maker sold: bought */
        char px[32], sz[32];
        snprintf(px, sizeof(px), "1000.%u", id);
        snprintf(sz, sizeof(sz), "0.00000%u1", id % 10);
        vh_assert_dec_eq(v->price, feed_px_scale(&e->o->h, v->instr), px);
        vh_assert_dec_eq(v->size, feed_sz_scale(&e->o->h, v->instr), sz);
        /* date -u -d 2021-04-17T16:43:00Z +%s = 1618677780 */
        assert_int_equal(v->ts_exch, (1618677780LL + id % 60) * 1000000000LL + 250000000LL);
    }
    assert_int_equal(n, 4);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 4);
    assert_non_null(bf_find_log("coinbase BTC-USD: trade backfill ids 12..15: 4 trades in 1 "
                                "requests"));
    free(page);
    /* no hole: the next reconnect's last_match is the last trade seen */
    bf_reconnect(e, t0 + 5);
    assert_int_equal(bf_match(e, "last_match", 15, 300, t0 + 6), 0);
    assert_int_equal(g_nreq, 1);
    vh_env_close(e);
}

/* A hole of 1500 ids goes in pages of at most 1000, one request per second, forward; a
 * match as first trade of a connection (no last_match) opens the hole up to it, exclusive. */
static void test_coinbase_backfill_pages_forward_one_request_per_second(void **state)
{
    vh_env_t *e = bf_open();
    int64_t t0 = 5000000000LL;
    assert_int_equal(bf_match(e, "match", 100, 1000, t0), 0);
    bf_reconnect(e, t0);
    assert_int_equal(bf_match(e, "match", 1601, 5000, t0), 0); /* hole [101, 1600] */
    assert_int_equal(g_nreq, 1);
    assert_string_equal(g_req[0], "/products/BTC-USD/trades?after=1101&limit=1000");
    char *page = bf_page(1100, 101);
    assert_int_equal(vh_rest1(e->o, g_tag[0], 200, page, t0 + 100), 0);
    free(page);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 1000);
    assert_int_equal(g_nreq, 1); /* paced */
    e->o->venue->on_tick(&e->o->h, t0 + 999999999LL);
    assert_int_equal(g_nreq, 1);
    e->o->venue->on_tick(&e->o->h, t0 + 1000000000LL);
    assert_int_equal(g_nreq, 2);
    assert_string_equal(g_req[1], "/products/BTC-USD/trades?after=1601&limit=500");
    page = bf_page(1600, 1101);
    assert_int_equal(vh_rest1(e->o, g_tag[1], 200, page, t0 + 1000000001LL), 0);
    free(page);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 1500);
    uint64_t want = 101;
    for (size_t i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE && (e->ev[i].flags & TG_EVF_REST))
            assert_int_equal(e->ev[i].u.trade_id, want++);
    assert_int_equal(want, 1601);
    assert_non_null(bf_find_log("trade backfill ids 101..1600: 1500 trades in 2 requests"));
    vh_env_close(e);
}

/* Three failed requests in a row (a 500, an unreadable page, a 404): the range is given up,
 * an ERROR line names the lost ids and one TG_EV_TRADE_GAP carries their exclusive bounds. */
static void test_coinbase_backfill_gives_up_after_three_failures(void **state)
{
    vh_env_t *e = bf_open();
    int64_t t0 = 5000000000LL, s = 1000000000LL;
    assert_int_equal(bf_match(e, "last_match", 10, 100, t0), 0);
    bf_reconnect(e, t0);
    assert_int_equal(bf_match(e, "last_match", 20, 200, t0), 0); /* hole [11, 20] */
    assert_int_equal(vh_rest1(e->o, g_tag[0], 500, "{\"message\":\"Internal\"}", t0), TG_EPROTO);
    e->o->venue->on_tick(&e->o->h, t0 + s);
    assert_int_equal(g_nreq, 2);
    assert_string_equal(g_req[1], g_req[0]); /* the same page again */
    assert_true(vh_rest1(e->o, g_tag[1], 200, "[{\"trade_id\":11}]", t0 + s) < 0);
    e->o->venue->on_tick(&e->o->h, t0 + 2 * s);
    assert_int_equal(g_nreq, 3);
    for (size_t i = 0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE_GAP);
    assert_int_equal(vh_rest1(e->o, g_tag[2], 404, "{\"message\":\"NotFound\"}", t0 + 2 * s),
                     TG_EPROTO);
    size_t gaps = 0;
    for (size_t i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE_GAP) {
            assert_int_equal(e->ev[i].seq, 10);
            assert_int_equal(e->ev[i].u.trade_id, 21);
            gaps++;
        }
    assert_int_equal(gaps, 1);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 3);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 0);
    assert_non_null(bf_find_log("coinbase BTC-USD: trade backfill given up: ids 11..20 lost (0 "
                                "trades fetched in 3 requests)"));
    e->o->venue->on_tick(&e->o->h, t0 + 9 * s);
    assert_int_equal(g_nreq, 3); /* nothing more */
    vh_env_close(e);
}

/* No REST client (offline): the hole is given up at once, counted and logged with its exact
 * ids; no TG_EV_TRADE_GAP (the builder writes the hole from the closed connection). */
static void test_coinbase_backfill_offline_gives_up_at_once(void **state)
{
    vh_env_t *e = bf_open();
    e->o->h.rest_get = NULL;
    assert_int_equal(bf_match(e, "last_match", 10, 100, 1000), 0);
    bf_reconnect(e, 2000);
    assert_int_equal(bf_match(e, "last_match", 14, 200, 3000), 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 1);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_requests), 0);
    assert_non_null(bf_find_log("coinbase BTC-USD: trade backfill given up: ids 11..14 lost"));
    for (size_t i = 0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE_GAP);
    vh_env_close(e);
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
        cmocka_unit_test(test_coinbase_backfill_fetches_the_hole_last_match_shows),
        cmocka_unit_test(test_coinbase_backfill_pages_forward_one_request_per_second),
        cmocka_unit_test(test_coinbase_backfill_gives_up_after_three_failures),
        cmocka_unit_test(test_coinbase_backfill_offline_gives_up_at_once),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
