/* SPDX-License-Identifier: MIT */
/*
 * Bybit trade backfill (feeds/venues/feed_bybit.c with the time mode's last_n variant of
 * feed_backfill.c, issue 15): v5 serves only the newest trades (GET /v5/market/recent-trade,
 * spot limit 60, linear 1000), so a reconnect's range [last trade time, first new trade time]
 * is one request; the page's trades inside it are emitted (the live path's id for the same
 * execId), and a full page that does not reach back to the range's start leaves a time-bounded
 * trade gap, counted and logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "book/tg_dec.h"
#include "feeds/venues/venues.h"

static fv_cap_t g_cap;
static char g_line[8][512];
static int g_lines;

static void byf_log(void *lctx, int level, const char *msg)
{
    if (level <= TG_LOG_INFO && g_lines < 8)
        snprintf(g_line[g_lines++], sizeof(g_line[0]), "%s", msg);
}

static bool byf_logged(const char *what)
{
    for (int i = 0; i < g_lines; i++)
        if (strstr(g_line[i], what))
            return true;
    return false;
}

static vh_env_t *byf_open(const char *venue)
{
    vh_env_t *e = vh_env_open(venue, "BTCUSDT", NULL, 0, 0);
    fv_capture(&e->o->h, &g_cap);
    e->o->h.log = byf_log;
    e->o->h.reconnect = NULL;
    g_lines = 0;
    return e;
}

#define T_MS 1700000000000LL /* 2023-11-14T22:13:20Z */
#define MS   1000000LL

/* A live publicTrade push of trade k (execId "e<k>") at T_MS + ms: price 37000.<k> (k == 7:
 * 0.0000016425), size 0.00<k>, Buy for even k. */
static int byf_trade(vh_env_t *e, long ms, unsigned k)
{
    char f[512], px[32];
    snprintf(px, sizeof(px), k == 7 ? "0.0000016425" : "37000.%u", k);
    snprintf(f, sizeof(f),
             "{\"topic\":\"publicTrade.BTCUSDT\",\"ts\":%lld,\"type\":\"snapshot\",\"data\":[{"
             "\"i\":\"e%u\",\"T\":%lld,\"p\":\"%s\",\"v\":\"0.00%u\",\"S\":\"%s\",\"s\":"
             "\"BTCUSDT\",\"BT\":false}]}",
             T_MS + ms, k, T_MS + ms, px, k, k % 2 ? "Sell" : "Buy");
    return vh_env_frame(e, f);
}

/* A recent-trade answer: n trades, newest first as Bybit answers, trade k0 + i at ms[i]. */
static char *byf_page(unsigned k0, const long *ms, unsigned n, const char *cat)
{
    char *b = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&b, &sz);
    fprintf(m, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":\"%s\",\"list\":[", cat);
    for (unsigned i = n; i-- > 0;) {
        unsigned k = k0 + i;
        char px[32];
        snprintf(px, sizeof(px), k == 7 ? "0.0000016425" : "37000.%u", k);
        fprintf(m,
                "%s{\"execId\":\"e%u\",\"symbol\":\"BTCUSDT\",\"price\":\"%s\",\"size\":\"0.00%u\","
                "\"side\":\"%s\",\"time\":\"%lld\",\"isBlockTrade\":false}",
                i == n - 1 ? "" : ",", k, px, k, k % 2 ? "Sell" : "Buy", T_MS + ms[i]);
    }
    fputs("]},\"retExtInfo\":{},\"time\":1700000100000}", m);
    fclose(m);
    return b;
}

static uint64_t byf_id(unsigned k)
{
    char id[16];
    int n = snprintf(id, sizeof(id), "e%u", k);
    return feed_hash_id(id, (size_t)n);
}

static void byf_again(vh_env_t *e)
{
    e->o->venue->on_close(&e->o->h, 1000, 1000);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
}

/* The REST trades among e's events from i0 on. */
static unsigned byf_rest(const vh_env_t *e, size_t i0, const tg_event_t **out, unsigned cap)
{
    unsigned n = 0;
    for (size_t i = i0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE && (e->ev[i].flags & TG_EVF_REST) && n < cap)
            out[n++] = &e->ev[i];
    return n;
}

static const tg_event_t *byf_gap(const vh_env_t *e)
{
    const tg_event_t *gap = NULL;
    for (size_t i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE_GAP) {
            assert_null(gap);
            gap = &e->ev[i];
        }
    return gap;
}

/* linear: trade 1 at +0, a reconnect, trade 9 at +10000: one request for the newest 1000; the
 * short page (trades 0..9 from -1000 to +10000) reaches back past the range, so its trades
 * inside [+0, +10000] (1..9: the boundary ones again, deduplicated downstream) are emitted
 * oldest first with exact values (trade 7's price raises the scale first) and the ws path's
 * ids; no gap; nothing more asked. */
static void test_bybit_backfill_one_page_of_the_newest_trades_covers_the_range(void **state)
{
    vh_env_t *e = byf_open("bybit");
    assert_int_equal(byf_trade(e, 0, 1), 0);
    int q = g_cap.n_rest;
    byf_again(e);
    assert_int_equal(byf_trade(e, 10000, 9), 0);
    assert_int_equal(e->ev[e->n_ev - 1].u.trade_id, byf_id(9));
    assert_int_equal(g_cap.n_rest, q + 1);
    assert_string_equal(g_cap.rest[q],
                        "/v5/market/recent-trade?category=linear&symbol=BTCUSDT&limit=1000");
    static const long ms[] = {-1000, 0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 10000};
    char *page = byf_page(0, ms, 10, "linear");
    size_t i0 = e->n_ev;
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, 1001), 0);
    free(page);
    const tg_event_t *tr[16];
    assert_int_equal(byf_rest(e, i0, tr, 16), 9);
    for (unsigned j = 0; j < 9; j++) {
        unsigned k = j + 1;
        assert_int_equal(tr[j]->u.trade_id, byf_id(k));
        assert_int_equal(tr[j]->ts_exch, (T_MS + ms[k]) * MS);
        assert_int_equal(tr[j]->side, k % 2 ? TG_SIDE_SELL : TG_SIDE_BUY);
        char px[32], sz[32];
        snprintf(px, sizeof(px), k == 7 ? "0.0000016425" : "37000.%u", k);
        snprintf(sz, sizeof(sz), "0.00%u", k);
        vh_assert_dec_eq(tr[j]->price, feed_px_scale(&e->o->h, tr[j]->instr), px);
        vh_assert_dec_eq(tr[j]->size, feed_sz_scale(&e->o->h, tr[j]->instr), sz);
    }
    assert_null(byf_gap(e));
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 9);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 0);
    assert_true(byf_logged("bybit BTCUSDT: trade backfill times 2023-11-14T22:13:20.000000000Z.."
                           "2023-11-14T22:13:30.000000000Z: 9 trades in 1 requests"));
    e->o->venue->on_tick(&e->o->h, 1000 + 9000000000LL);
    assert_int_equal(g_cap.n_rest, q + 1);
    vh_env_close(e);
}

/* spot: the newest 60 only; a full page whose oldest trade (+5000) is newer than the range's
 * start (+0) leaves [+0, +5000] out of reach: the trades inside are emitted, the rest is a
 * TG_EV_TRADE_GAP with those time bounds, a failure counted, an ERROR line. */
static void
test_bybit_spot_backfill_a_full_page_short_of_the_start_is_a_time_bounded_gap(void **state)
{
    vh_env_t *e = byf_open("bybit-spot");
    assert_int_equal(byf_trade(e, 0, 100), 0);
    int q = g_cap.n_rest;
    byf_again(e);
    assert_int_equal(byf_trade(e, 70000, 200), 0);
    assert_string_equal(g_cap.rest[q],
                        "/v5/market/recent-trade?category=spot&symbol=BTCUSDT&limit=60");
    static long ms[60];
    for (unsigned i = 0; i < 60; i++)
        ms[i] = 5000 + 1000 * (long)i; /* +5000 .. +64000 */
    char *page = byf_page(300, ms, 60, "spot");
    size_t i0 = e->n_ev;
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, 1001), 0);
    free(page);
    const tg_event_t *tr[64];
    assert_int_equal(byf_rest(e, i0, tr, 64), 60);
    assert_int_equal(tr[0]->u.trade_id, byf_id(300));
    assert_int_equal(tr[59]->ts_exch, (T_MS + 64000) * MS);
    const tg_event_t *gap = byf_gap(e);
    assert_non_null(gap);
    assert_int_equal(gap->seq, T_MS * MS);
    assert_int_equal(gap->u.aux, (T_MS + 5000) * MS);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 1);
    assert_true(byf_logged("bybit-spot BTCUSDT: trade backfill given up (older than the venue's "
                           "newest trades): trades at 2023-11-14T22:13:20.000000000Z..2023-11-"
                           "14T22:13:25.000000000Z lost (60 trades fetched in 1 requests)"));
    vh_env_close(e);
}

/* Three answers with a retCode other than 0: the whole range is given up. */
static void test_bybit_backfill_venue_errors_give_the_range_up(void **state)
{
    vh_env_t *e = byf_open("bybit");
    assert_int_equal(byf_trade(e, 0, 1), 0);
    int q = g_cap.n_rest;
    byf_again(e);
    assert_int_equal(byf_trade(e, 2500, 2), 0);
    static const char err[] = "{\"retCode\":10006,\"retMsg\":\"Too many visits!\",\"result\":{},"
                              "\"retExtInfo\":{},\"time\":1}";
    for (int r = 0; r < 3; r++) {
        assert_true(vh_rest1(e->o, g_cap.tag[q + r], 200, err, 1000) < 0);
        e->o->venue->on_tick(&e->o->h, 1000 + (r + 1) * 1000000000LL);
    }
    assert_int_equal(g_cap.n_rest, q + 3);
    const tg_event_t *gap = byf_gap(e);
    assert_non_null(gap);
    assert_int_equal(gap->seq, T_MS * MS);
    assert_int_equal(gap->u.aux, (T_MS + 2500) * MS);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 3);
    vh_env_close(e);
}

TU_MAIN(
    NULL, NULL,
    cmocka_unit_test(test_bybit_backfill_one_page_of_the_newest_trades_covers_the_range),
    cmocka_unit_test(test_bybit_spot_backfill_a_full_page_short_of_the_start_is_a_time_bounded_gap),
    cmocka_unit_test(test_bybit_backfill_venue_errors_give_the_range_up))
