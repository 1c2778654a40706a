/* SPDX-License-Identifier: MIT */
/*
 * The time mode of feed_backfill.c (issue 15) driven directly, with a venue pair of its own:
 * the branches no venue of the build takes or the venue tests do not reach. A venue without an
 * offset (skip_ok false, not last_n) given a full page all at the range's start cannot move on:
 * the range ends as a counted, logged, time-bounded gap (never a loop). Ranges opened by
 * reconnects while one is fetched wait behind it in order; past FEED_BF_QUEUE the newest widens
 * the last one, so every hole is still covered. The handler is a BitMEX one of the venue
 * harness (events, REST requests and log lines captured); its own backfill is not used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "feeds/venues/feed_backfill.h"

static fv_cap_t g_cap;
static char g_log[4096];          /* the handler's log lines of INFO and above, one a line */
static feed_bf_trade_t g_page[8]; /* what the next answer holds */
static uint32_t g_n;

static void bts_log(void *lctx, int level, const char *msg)
{
    size_t used = strlen(g_log);
    if (level <= TG_LOG_INFO)
        snprintf(g_log + used, sizeof(g_log) - used, "%s\n", msg);
}

/* "/t?from=A&to=B&skip=K" (ns) */
static int bts_path(void *v, uint32_t s, int64_t from_ts, int64_t to_ts, uint32_t skip, uint32_t n,
                    char *buf, size_t cap)
{
    return snprintf(buf, cap, "/t?from=%lld&to=%lld&skip=%u", (long long)from_ts, (long long)to_ts,
                    skip);
}

static int bts_parse(void *v, uint32_t s, const char *body, size_t len, feed_bf_trade_t *out,
                     uint32_t cap, uint32_t *n_out)
{
    memcpy(out, g_page, g_n * sizeof(*out));
    *n_out = g_n;
    return 0;
}

#define T0 1700000000000000000LL
#define S1 1000000000LL
static const feed_bf_ops_t k_no_offset = {
    .path_ts = bts_path, .parse = bts_parse, .page = 3, .gap_ns = 1};

typedef struct bts {
    vh_env_t *e;
    feed_bf_t f;
    feed_bf_sym_t sym[1];
    feed_ratelim_t rl;
} bts_t;

static void bts_open(bts_t *b)
{
    memset(b, 0, sizeof(*b));
    b->e = vh_env_open("bitmex", "XBTM21", NULL, 0, 0);
    fv_capture(&b->e->o->h, &g_cap);
    b->e->o->h.log = bts_log;
    g_log[0] = 0;
    g_cap.n_rest = 0;
    b->sym[0].instr = b->e->o->h.instr[0];
    b->sym[0].name = "XBTM21";
    feed_bf_init(&b->f, &b->e->o->h, NULL, &k_no_offset, b->sym, sizeof(b->sym[0]), 1, &b->rl);
}

/* Connection gen opens and its first trade comes at ts (mono now). */
static void bts_conn(bts_t *b, uint32_t gen, int64_t ts, int64_t now)
{
    feed_bf_open(&b->f, gen, 0);
    feed_bf_trade_ts(&b->f, 0, ts, now);
}

static void bts_want(int i, int64_t from, int64_t to)
{
    char want[128];
    snprintf(want, sizeof(want), "/t?from=%lld&to=%lld&skip=0", (long long)from, (long long)to);
    assert_true(i < g_cap.n_rest);
    assert_string_equal(g_cap.rest[i], want);
}

/* Range [T0, T0 + 10 s]; the answer: a full page (3) all at T0. Without an offset the next page
 * would be the same: the range ends, given up (ERROR line naming why, backfill_failures, one
 * TG_EV_TRADE_GAP with the range's bounds), the 3 trades emitted, no further request. */
static void test_a_full_page_at_one_time_without_an_offset_ends_with_a_gap(void **state)
{
    bts_t b;
    bts_open(&b);
    bts_conn(&b, 1, T0, 1);
    bts_conn(&b, 2, T0 + 10 * S1, 2);
    assert_int_equal(g_cap.n_rest, 1);
    bts_want(0, T0, T0 + 10 * S1);
    for (uint32_t i = 0; i < 3; i++)
        g_page[i] = (feed_bf_trade_t){.id = 100 + i, .px = 1, .qty = 1, .ts_ns = T0};
    g_n = 3;
    size_t i0 = b.e->n_ev;
    assert_int_equal(feed_bf_rest(&b.f, 0, 200, "x", 1, 5, 5), 0);
    feed_flush(&b.e->o->h);
    const tg_event_t *gap = NULL;
    unsigned trades = 0;
    for (size_t i = i0; i < b.e->n_ev; i++) {
        const tg_event_t *v = &b.e->ev[i];
        trades += v->kind == TG_EV_TRADE && (v->flags & TG_EVF_REST);
        if (v->kind == TG_EV_TRADE_GAP) {
            assert_null(gap);
            gap = v;
        }
    }
    assert_int_equal(trades, 3);
    assert_non_null(gap);
    assert_int_equal(gap->seq, T0);
    assert_int_equal(gap->u.aux, T0 + 10 * S1);
    assert_int_equal(TG_STAT_GET(b.e->o->stats.backfill_failures), 1);
    assert_non_null(strstr(g_log, "trade backfill given up (more trades at one time than a page)"));
    assert_false(b.sym[0].active);
    feed_bf_tick(&b.f, 100);
    assert_int_equal(g_cap.n_rest, 1); /* no loop */
    vh_env_close(b.e);
}

/* While [T0, T0 + 1 s] is fetched, 5 more reconnects (first trades at T0 + 2..6 s): the first
 * 4 ranges wait in order ([1, 2], [2, 3], [3, 4], [4, 5] s), the fifth widens the last one to
 * [4, 6] s. Each short answer ends a range and the next one is asked for, in that order. */
static void test_ranges_wait_in_order_and_past_the_queue_the_last_one_widens(void **state)
{
    bts_t b;
    bts_open(&b);
    bts_conn(&b, 1, T0, 1);
    bts_conn(&b, 2, T0 + S1, 2);
    assert_int_equal(g_cap.n_rest, 1);
    bts_want(0, T0, T0 + S1);
    for (uint32_t g = 3; g <= 7; g++)
        bts_conn(&b, g, T0 + (int64_t)(g - 1) * S1, g);
    assert_int_equal(b.sym[0].n_q, FEED_BF_QUEUE);
    static const int64_t want[5][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 6}};
    g_n = 0; /* short (empty) pages: each range ends at once */
    for (int r = 0; r < 5; r++) {
        int n = g_cap.n_rest;
        bts_want(n - 1, T0 + want[r][0] * S1, T0 + want[r][1] * S1);
        assert_int_equal(feed_bf_rest(&b.f, 0, 200, "[]", 2, 100 + r, 100 + r), 0);
        feed_flush(&b.e->o->h);
        assert_int_equal(g_cap.n_rest, r < 4 ? n + 1 : n);
    }
    assert_false(b.sym[0].active);
    assert_int_equal(b.sym[0].n_q, 0);
    assert_int_equal(TG_STAT_GET(b.e->o->stats.backfill_failures), 0);
    for (size_t i = 0; i < b.e->n_ev; i++)
        assert_int_not_equal(b.e->ev[i].kind, TG_EV_TRADE_GAP);
    vh_env_close(b.e);
}

/* Pacing: the venue's gap (here 1000 ns, BitMEX publishes 30 requests a minute) scaled by the
 * REST budget the feed was configured with (h->rest_wpm_cfg): the venue's (0) keeps it, half
 * the venue's doubles it, unpaced (UINT32_MAX, a local test server) removes it. Range A is
 * asked for at 1, range B waits behind it; A's empty answer at `at` ends it, and B is asked
 * for then only if the gap has passed, else at the first tick after. */
static const feed_bf_ops_t k_paced = {
    .path_ts = bts_path, .parse = bts_parse, .page = 3, .gap_ns = 1000};

static void test_backfill_pacing_follows_the_configured_rest_budget(void **state)
{
    static const struct {
        uint32_t cfg; /* 0: the venue's; else 15 (half of 30) or UINT32_MAX */
        int64_t gap;
    } rows[] = {{0, 1000}, {15, 2000}, {UINT32_MAX, 0}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bts_t b;
        bts_open(&b);
        assert_int_equal(b.e->o->h.venue->rest_weight_per_min, 30);
        b.e->o->h.rest_wpm_cfg = rows[i].cfg;
        feed_bf_init(&b.f, &b.e->o->h, NULL, &k_paced, b.sym, sizeof(b.sym[0]), 1, &b.rl);
        bts_conn(&b, 1, T0, 1);
        bts_conn(&b, 2, T0 + S1, 1);     /* A: asked for at 1 */
        bts_conn(&b, 3, T0 + 2 * S1, 1); /* B: waits; A's answer to connection 2 is dropped */
        /* A is asked for again for connection 3: at once only when unpaced */
        int base = rows[i].gap ? 1 : 2;
        assert_int_equal(g_cap.n_rest, base);
        g_n = 0;
        int64_t at = rows[i].gap ? rows[i].gap : 1; /* before the gap ran out (none: at once) */
        assert_int_equal(feed_bf_rest(&b.f, 0, 200, "[]", 2, at, at), 0);
        assert_int_equal(g_cap.n_rest, rows[i].gap ? base : base + 1);
        if (rows[i].gap) {
            feed_bf_tick(&b.f, rows[i].gap); /* 1 + gap - 1: not yet */
            assert_int_equal(g_cap.n_rest, base);
            feed_bf_tick(&b.f, rows[i].gap + 1);
            assert_int_equal(g_cap.n_rest, base + 1);
        }
        bts_want(base, T0 + S1, T0 + 2 * S1);
        vh_env_close(b.e);
    }
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(test_a_full_page_at_one_time_without_an_offset_ends_with_a_gap),
        cmocka_unit_test(test_ranges_wait_in_order_and_past_the_queue_the_last_one_widens),
        cmocka_unit_test(test_backfill_pacing_follows_the_configured_rest_budget))
