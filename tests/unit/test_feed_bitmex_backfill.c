/* SPDX-License-Identifier: MIT */
/*
 * BitMEX trade backfill by time (feeds/venues/feed_bitmex.c with the time mode of
 * feed_backfill.c, issue 15): the range a reconnect opens ([last trade time, first new trade
 * time], inclusive), the GET /api/v1/trade paths, paging from the newest time of a page with the
 * `start` offset, a full page at one time, the page parser (exact decimals, a raised scale, the
 * ws path's trade id), pacing at BitMEX's 30 requests a minute, and a range given up as a trade
 * gap with time bounds.
 */
#include <errno.h>
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

static void bmf_log(void *lctx, int level, const char *msg)
{
    if (level <= TG_LOG_INFO && g_lines < 8)
        snprintf(g_line[g_lines++], sizeof(g_line[0]), "%s", msg);
}

static bool bmf_logged(const char *what)
{
    for (int i = 0; i < g_lines; i++)
        if (strstr(g_line[i], what))
            return true;
    return false;
}

/* A handler for XBTM21 whose sends, REST requests and log lines are captured. */
static vh_env_t *bmf_open(void)
{
    vh_env_t *e = vh_env_open("bitmex", "XBTM21", NULL, 0, 0);
    fv_capture(&e->o->h, &g_cap);
    e->o->h.log = bmf_log;
    e->o->h.reconnect = NULL;
    g_lines = 0;
    return e;
}

/* 2021-04-05T18:41:00.000Z in ns, and ms after it as BitMEX's text */
#define T_BASE 1617648060000000000LL
#define MS     1000000LL
static void bmf_iso(long ms, char *buf, size_t cap)
{
    snprintf(buf, cap, "2021-04-05T18:%02ld:%02ld.%03ldZ", 41 + ms / 60000, ms / 1000 % 60,
             ms % 1000);
}

/* One trade object of XBTM21 at T_BASE + ms: trdMatchID "00000000-0000-0000-0000-<k>", price
 * 50000.<k> (k == 7: 0.0000016425, 10 places), size k + 1, side Buy for even k. */
static void bmf_obj(FILE *m, long ms, unsigned k)
{
    char ts[96], px[32];
    bmf_iso(ms, ts, sizeof(ts));
    snprintf(px, sizeof(px), k == 7 ? "0.0000016425" : "50000.%u", k);
    fprintf(m,
            "{\"timestamp\":\"%s\",\"symbol\":\"XBTM21\",\"side\":\"%s\",\"size\":%u,\"price\":%s,"
            "\"tickDirection\":\"ZeroPlusTick\",\"trdMatchID\":\"00000000-0000-0000-0000-%012u\","
            "\"grossValue\":1,\"homeNotional\":0.1,\"foreignNotional\":1}",
            ts, k % 2 ? "Sell" : "Buy", k + 1, px, k);
}

static uint64_t bmf_id(unsigned k)
{
    char id[64];
    int n = snprintf(id, sizeof(id), "00000000-0000-0000-0000-%012u", k); /* the token's text */
    return feed_hash_id(id, (size_t)n);
}

/* A live trade insert of trade k at T_BASE + ms. */
static int bmf_trade(vh_env_t *e, long ms, unsigned k)
{
    char *b = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&b, &sz);
    fputs("{\"table\":\"trade\",\"action\":\"insert\",\"data\":[", m);
    bmf_obj(m, ms, k);
    fputs("]}", m);
    fclose(m);
    int rc = vh_env_frame(e, b);
    free(b);
    return rc;
}

/* A page: n trades k0, k0 + 1, .., trade k0 + i at T_BASE + ms[i]. Not inlined: gcc -O3 takes
 * the open_memstream() buffer for a pointer into this frame once inlined (-Wdangling-pointer) */
__attribute__((noinline)) static char *bmf_page(unsigned k0, const long *ms, unsigned n)
{
    char *b = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&b, &sz);
    fputc('[', m);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            fputc(',', m);
        bmf_obj(m, ms[i], k0 + i);
    }
    fputc(']', m);
    fclose(m);
    return b;
}

static void bmf_again(vh_env_t *e)
{
    e->o->venue->on_close(&e->o->h, 1000, 1000);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
}

/* The REST trades among e's events from i0 on: trades k0, k0 + 1, .. (bmf_obj's values), times
 * ascending. @return how many. */
static unsigned bmf_check_rest(const vh_env_t *e, size_t i0, unsigned k0, const long *ms)
{
    unsigned k = k0;
    for (size_t i = i0; i < e->n_ev; i++) {
        const tg_event_t *v = &e->ev[i];
        if (v->kind != TG_EV_TRADE || !(v->flags & TG_EVF_REST))
            continue;
        assert_int_equal(v->u.trade_id, bmf_id(k)); /* the ws path's id of the same trade */
        assert_int_equal(v->seq, 0);
        assert_int_equal(v->side, k % 2 ? TG_SIDE_SELL : TG_SIDE_BUY);
        assert_int_equal(v->ts_exch, T_BASE + ms[k - k0] * MS);
        char px[32], sz[32];
        snprintf(px, sizeof(px), k == 7 ? "0.0000016425" : "50000.%u", k);
        snprintf(sz, sizeof(sz), "%u", k + 1);
        vh_assert_dec_eq(v->price, feed_px_scale(&e->o->h, v->instr), px);
        vh_assert_dec_eq(v->size, feed_sz_scale(&e->o->h, v->instr), sz);
        k++;
    }
    return k - k0;
}

#define S1  1000000000LL
#define T0  1000     /* the frames' mono time: the first request's */
#define GAP (2 * S1) /* 30 requests a minute */

/* Trade 0 at +0 ms, a reconnect, trade 5000 at +10000 ms: the range [+0, +10000] (inclusive),
 * asked for oldest first, 1000 a page; the full first page (two trades a ms, up to +499)
 * moves the next page to +499 with start=2 (the two trades there already fetched), after 2 s
 * (trade 7's price has 10 places: the scale is raised before anything is emitted); the short
 * second page (the live trade again, at the range's end) ends the range. Every page trade emitted
 * once in time order with TG_EVF_REST, exact values and the id the ws path gives the same
 * trdMatchID. */
static void
test_bitmex_backfill_pages_the_time_range_from_the_newest_time_with_an_offset(void **state)
{
    vh_env_t *e = bmf_open();
    assert_int_equal(bmf_trade(e, 0, 0), 0);
    int q = g_cap.n_rest;
    bmf_again(e);
    size_t i0 = e->n_ev;
    assert_int_equal(bmf_trade(e, 10000, 5000), 0);
    const tg_event_t *live = &e->ev[e->n_ev - 1];
    assert_int_equal(live->kind, TG_EV_TRADE);
    assert_int_equal(live->u.trade_id, bmf_id(5000));
    assert_int_equal(g_cap.n_rest, q + 1);
    assert_string_equal(g_cap.rest[q], "/api/v1/trade?symbol=XBTM21&startTime=2021-04-05T18:41:"
                                       "00.000Z&endTime=2021-04-05T18:41:10.000Z&count=1000&"
                                       "start=0&reverse=false");
    static long ms[1003];
    for (unsigned i = 0; i < 1000; i++)
        ms[i] = i / 2; /* trade 0 (the boundary, seen live) again first */
    ms[1000] = 499;
    ms[1001] = 500;
    ms[1002] = 10000;
    char *page = bmf_page(0, ms, 1000);
    i0 = e->n_ev;
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, T0 + 1), 0);
    free(page);
    assert_int_equal(bmf_check_rest(e, i0, 0, ms), 1000);
    e->o->venue->on_tick(&e->o->h, T0 + GAP - 1);
    assert_int_equal(g_cap.n_rest, q + 1); /* paced */
    e->o->venue->on_tick(&e->o->h, T0 + GAP);
    assert_int_equal(g_cap.n_rest, q + 2);
    assert_string_equal(g_cap.rest[q + 1], "/api/v1/trade?symbol=XBTM21&startTime=2021-04-05T18:"
                                           "41:00.499Z&endTime=2021-04-05T18:41:10.000Z&count="
                                           "1000&start=2&reverse=false");
    /* trades 1000..1002 (1000 at +499, the third trade there; 1002 the live 5000's twin) */
    page = bmf_page(1000, ms + 1000, 3);
    memcpy(strstr(page, "-000000001002"), "-000000005000", 13);
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q + 1], 200, page, T0 + GAP), 0);
    free(page);
    unsigned n = 0;
    for (size_t i = i0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE && (e->ev[i].flags & TG_EVF_REST)) {
            assert_int_equal(e->ev[i].u.trade_id, n == 1002 ? bmf_id(5000) : bmf_id(n));
            assert_true(n == 0 || e->ev[i].ts_exch >= T_BASE + ms[n - 1] * MS);
            n++;
        }
    assert_int_equal(n, 1003);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 1003);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_requests), 2);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 0);
    assert_true(bmf_logged("bitmex XBTM21: trade backfill times 2021-04-05T18:41:00.000000000Z.."
                           "2021-04-05T18:41:10.000000000Z: 1003 trades in 2 requests"));
    e->o->venue->on_tick(&e->o->h, T0 + 9 * GAP);
    assert_int_equal(g_cap.n_rest, q + 2); /* done */
    for (size_t i = 0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE_GAP);
    vh_env_close(e);
}

/* More than a page at one time: a full page all at +0 cannot move the time on, so the offset
 * does (start=1000, then 2000); a short page ends the range. */
static void test_bitmex_backfill_a_full_page_at_one_time_moves_the_offset_on(void **state)
{
    vh_env_t *e = bmf_open();
    assert_int_equal(bmf_trade(e, 0, 0), 0);
    int q = g_cap.n_rest;
    bmf_again(e);
    assert_int_equal(bmf_trade(e, 2000, 9000), 0);
    static long ms[1000];
    char *page = bmf_page(0, ms, 1000); /* all at +0 */
    for (int r = 0; r < 2; r++) {
        assert_int_equal(vh_rest1(e->o, g_cap.tag[q + r], 200, page, T0 + r * GAP), 0);
        e->o->venue->on_tick(&e->o->h, T0 + (r + 1) * GAP);
        assert_int_equal(g_cap.n_rest, q + r + 2);
        char want[256];
        snprintf(want, sizeof(want),
                 "/api/v1/trade?symbol=XBTM21&startTime=2021-04-05T18:41:00.000Z&endTime=2021-"
                 "04-05T18:41:02.000Z&count=1000&start=%d&reverse=false",
                 (r + 1) * 1000);
        assert_string_equal(g_cap.rest[q + r + 1], want);
    }
    free(page);
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q + 2], 200, "[]", T0 + 3 * GAP), 0);
    e->o->venue->on_tick(&e->o->h, T0 + 9 * GAP);
    assert_int_equal(g_cap.n_rest, q + 3);
    assert_true(bmf_logged("trade backfill times 2021-04-05T18:41:00.000000000Z..2021-04-05T18:"
                           "41:02.000000000Z: 2000 trades in 3 requests"));
    vh_env_close(e);
}

/* Three failed requests (BitMEX's 429 error object, a 200 that is no array, a page whose trade
 * is another symbol's): the range is given up, an ERROR line names the lost times and one
 * TG_EV_TRADE_GAP carries them (seq .. u.aux, ns, inclusive), at the range's end time. */
static void test_bitmex_backfill_gives_up_with_a_time_bounded_trade_gap(void **state)
{
    vh_env_t *e = bmf_open();
    assert_int_equal(bmf_trade(e, 1500, 1), 0);
    int q = g_cap.n_rest;
    bmf_again(e);
    assert_int_equal(bmf_trade(e, 61250, 2), 0);
    assert_true(vh_rest1(e->o, g_cap.tag[q], 429,
                         "{\"error\":{\"message\":\"Rate limit exceeded\",\"name\":"
                         "\"RateLimitError\"}}",
                         T0) < 0);
    e->o->venue->on_tick(&e->o->h, T0 + GAP);
    assert_string_equal(g_cap.rest[q + 1], g_cap.rest[q]); /* the same page again */
    assert_true(vh_rest1(e->o, g_cap.tag[q + 1], 200, "{\"error\":null}", T0 + GAP) < 0);
    e->o->venue->on_tick(&e->o->h, T0 + 2 * GAP);
    for (size_t i = 0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE_GAP);
    assert_true(vh_rest1(e->o, g_cap.tag[q + 2], 200,
                         "[{\"timestamp\":\"2021-04-05T18:41:02.000Z\",\"symbol\":\"XBTU21\","
                         "\"side\":\"Buy\",\"size\":1,\"price\":1,\"trdMatchID\":\"x\"}]",
                         T0 + 2 * GAP) < 0);
    const tg_event_t *gap = NULL;
    for (size_t i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE_GAP) {
            assert_null(gap);
            gap = &e->ev[i];
        }
    assert_non_null(gap);
    assert_int_equal(gap->seq, T_BASE + 1500 * MS);
    assert_int_equal(gap->u.aux, T_BASE + 61250 * MS);
    assert_int_equal(gap->ts_exch, T_BASE + 61250 * MS);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 3);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 0);
    assert_true(bmf_logged("bitmex XBTM21: trade backfill given up (requests failed): trades at "
                           "2021-04-05T18:41:01.500000000Z..2021-04-05T18:42:01.250000000Z lost "
                           "(0 trades fetched in 3 requests)"));
    vh_env_close(e);
}

/* The first connection has no last trade: nothing to fetch; nor without a new connection. */
static void test_bitmex_backfill_nothing_before_the_first_trade_nor_on_one_connection(void **state)
{
    vh_env_t *e = bmf_open();
    int q = g_cap.n_rest;
    assert_int_equal(bmf_trade(e, 0, 0), 0);
    assert_int_equal(bmf_trade(e, 5000, 1), 0);
    e->o->venue->on_tick(&e->o->h, T0 + 9 * GAP);
    assert_int_equal(g_cap.n_rest, q);
    vh_env_close(e);
}

/* Start-up (issue 15): the instrument's resume time (tg_instr_t.resume_ts: the newest trade
 * time PostgreSQL holds, +1500 ms) is the symbol's last time, so the first live trade (+10000
 * ms) opens [+1500, +10000] (inclusive): one request from there, an INFO line with the time;
 * the stored boundary trade comes again (dropped downstream by its id), the one published while
 * down is emitted. A symbol with a last time of its own keeps it (a later reconnect). */
static void test_bitmex_backfill_resumes_from_the_stored_time_at_start(void **state)
{
    vh_env_t *e = bmf_open();
    uint32_t in = e->o->h.instr[0];
    assert_int_equal(tg_instr_reg_set_resume_ts(e->o->reg, in, T_BASE + 1500 * MS), 0);
    assert_int_equal(tg_instr_reg_set_resume_ts(e->o->reg, in + 99, 1), -EINVAL);
    assert_int_equal(tg_instr_reg_set_resume_ts(e->o->reg, in, -1), -EINVAL);
    int q = g_cap.n_rest;
    bmf_again(e); /* the handler's connection, as at start-up: no trade seen yet */
    assert_true(bmf_logged("bitmex XBTM21: resuming trades from the last stored time "
                           "2021-04-05T18:41:01.500000000Z (trade backfill)"));
    assert_int_equal(g_cap.n_rest, q);
    assert_int_equal(bmf_trade(e, 10000, 22), 0);
    assert_int_equal(g_cap.n_rest, q + 1);
    assert_string_equal(g_cap.rest[q], "/api/v1/trade?symbol=XBTM21&startTime=2021-04-05T18:41:"
                                       "01.500Z&endTime=2021-04-05T18:41:10.000Z&count=1000&"
                                       "start=0&reverse=false");
    static const long ms[3] = {1500, 4000, 10000};
    char *page = bmf_page(20, ms, 3);
    size_t i0 = e->n_ev;
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, T0 + 1), 0);
    free(page);
    unsigned n = 0;
    for (size_t i = i0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE && (e->ev[i].flags & TG_EVF_REST))
            assert_int_equal(e->ev[i].u.trade_id, bmf_id(20 + n++));
    assert_int_equal(n, 3);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 3);
    /* a later reconnect: the symbol's own last time (+10000), not the resume time */
    bmf_again(e);
    assert_int_equal(bmf_trade(e, 12000, 23), 0);
    assert_int_equal(g_cap.n_rest, q + 1); /* paced: the request waits for the tick */
    e->o->venue->on_tick(&e->o->h, T0 + 9 * GAP);
    assert_int_equal(g_cap.n_rest, q + 2);
    assert_string_equal(g_cap.rest[q + 1], "/api/v1/trade?symbol=XBTM21&startTime=2021-04-05T18:"
                                           "41:10.000Z&endTime=2021-04-05T18:41:12.000Z&count="
                                           "1000&start=0&reverse=false");
    vh_env_close(e);
}

TU_MAIN(
    NULL, NULL, cmocka_unit_test(test_bitmex_backfill_resumes_from_the_stored_time_at_start),
    cmocka_unit_test(test_bitmex_backfill_pages_the_time_range_from_the_newest_time_with_an_offset),
    cmocka_unit_test(test_bitmex_backfill_a_full_page_at_one_time_moves_the_offset_on),
    cmocka_unit_test(test_bitmex_backfill_gives_up_with_a_time_bounded_trade_gap),
    cmocka_unit_test(test_bitmex_backfill_nothing_before_the_first_trade_nor_on_one_connection))
