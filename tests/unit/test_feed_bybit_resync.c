/* SPDX-License-Identifier: MIT */
/*
 * Bybit resync bound (feeds/venues/feed_bybit.c): a sequence gap resyncs a book by
 * resubscribing its topic; when Bybit does not answer with a fresh snapshot within 10 s the
 * handler asks the transport for a reconnect (once), and a snapshot in time cancels it.
 * Synthetic frames through the venue harness (tests/fixtures/venue_harness.h), ticks driven
 * by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"

#define S 1000000000LL

static const char snap[] =
    "{\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"s\":"
    "\"XRPUSDT\",\"b\":[[\"1.5\",\"5\"]],\"a\":[[\"1.6\",\"5\"]],\"u\":10,\"seq\":1}}";
static const char d11[] =
    "{\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"delta\",\"ts\":2,\"data\":{\"s\":"
    "\"XRPUSDT\",\"b\":[[\"1.4\",\"1\"]],\"a\":[],\"u\":11,\"seq\":2}}";
static const char d13[] = /* u 12 is missing */
    "{\"topic\":\"orderbook.50.XRPUSDT\",\"type\":\"delta\",\"ts\":3,\"data\":{\"s\":"
    "\"XRPUSDT\",\"b\":[[\"1.3\",\"1\"]],\"a\":[],\"u\":13,\"seq\":3}}";

static void at(vh_env_t *e, const char *f, int64_t mono)
{
    feed_frame(&e->o->h, f, strlen(f), mono, mono);
    feed_flush(&e->o->h);
}

static void tick(vh_env_t *e, int64_t mono)
{
    e->o->venue->on_tick(&e->o->h, mono);
}

/* Did the handler send an unsubscribe + subscribe of the book topic? */
static int resubscribed(const vh_env_t *e)
{
    int un = 0, sub = 0;
    for (size_t i = 0; i < e->n_sent; i++) {
        if (strstr(e->sent[i], "\"unsubscribe\"") && strstr(e->sent[i], "orderbook.50.XRPUSDT"))
            un++;
        else if (strstr(e->sent[i], "\"subscribe\"") && strstr(e->sent[i], "orderbook.50.XRPUSDT"))
            sub++;
    }
    return un >= 1 && sub >= 2; /* on_open's subscribe + the resubscribe */
}

/* A book at u 10, then a delta of u 11 at 101 s and one of u 13 at 102 s: a gap, resubscribed. */
static vh_env_t *gapped(void)
{
    vh_env_t *e = vh_env_open("bybit", "XRPUSDT", NULL, 0, 0);
    at(e, snap, 100 * S);
    at(e, d11, 101 * S);
    at(e, d13, 102 * S);
    return e;
}

static void test_bybit_gap_without_a_snapshot_in_time_reconnects_once(void **state)
{
    (void)state;
    vh_env_t *e = gapped();
    assert_int_equal(TG_STAT_GET(e->o->h.stats->gaps), 1);
    assert_true(resubscribed(e));
    tick(e, 105 * S);
    tick(e, 112 * S); /* 10 s after the resubscribe: still waiting */
    assert_int_equal(e->reconnects, 0);
    tick(e, 113 * S); /* past the bound: reconnect */
    assert_int_equal(e->reconnects, 1);
    tick(e, 114 * S);
    tick(e, 130 * S); /* asked once */
    assert_int_equal(e->reconnects, 1);
    vh_env_close(e);
}

static void test_bybit_snapshot_after_the_resubscribe_cancels_the_reconnect(void **state)
{
    (void)state;
    vh_env_t *e = vh_env_open("bybit", "XRPUSDT", NULL, 0, 0);
    at(e, snap, 100 * S);
    at(e, d13, 101 * S);  /* gap */
    at(e, snap, 105 * S); /* Bybit answers the resubscribe */
    tick(e, 120 * S);
    tick(e, 200 * S);
    assert_int_equal(e->reconnects, 0);
    assert_int_equal(TG_STAT_GET(e->o->h.stats->snapshots), 2);
    vh_env_close(e);
}

static void test_bybit_reopened_connection_starts_without_a_pending_resync(void **state)
{
    (void)state;
    vh_env_t *e = gapped();
    e->o->venue->on_close(&e->o->h, 102 * S, 102 * S);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
    tick(e, 150 * S);
    assert_int_equal(e->reconnects, 0);
    vh_env_close(e);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bybit_gap_without_a_snapshot_in_time_reconnects_once),
    cmocka_unit_test(test_bybit_snapshot_after_the_resubscribe_cancels_the_reconnect),
    cmocka_unit_test(test_bybit_reopened_connection_starts_without_a_pending_resync),
};

int main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
