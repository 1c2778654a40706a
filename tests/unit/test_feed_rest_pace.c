/* SPDX-License-Identifier: MIT */
/*
 * feeds/net/feed_rest_pace: the per-venue REST token bucket. Time is passed in, so the test
 * plays minutes in microseconds: a venue's weight budget per minute must never be exceeded in
 * any 60 s window (fixed or rolling), a Retry-After stops everything until its end, the
 * in-flight cap holds, and Retry-After values parse as the RFC says (seconds; a date: default).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "book/tg_clock.h"
#include "feeds/net/feed_rest_pace.h"

#define SEC TG_NS_PER_SEC

/* Binance spot: 6000 weight/min, a depth?limit=1000 GET weighs 50. Send whenever allowed for
 * ten minutes (1 ms steps, every request ends at once) and check every 60 s window. */
static void test_no_window_of_a_minute_goes_over_the_budget(void **st)
{
    (void)st;
    feed_rest_pace_t p;
    const uint32_t budget = 6000, w = 50;
    feed_rest_pace_init(&p, budget, 0, 0);
    enum { MS = 600000 };
    uint32_t *spent = calloc(MS, sizeof(*spent)); /* weight sent in each millisecond */
    assert_non_null(spent);
    uint64_t total = 0;
    for (int64_t ms = 0; ms < MS; ms++) {
        int64_t wait = -1;
        while (feed_rest_pace_take(&p, w, ms * TG_NS_PER_MS, &wait)) {
            spent[ms] += w;
            total += w;
            feed_rest_pace_done(&p);
        }
        assert_true(wait > 0); /* it says how long, never "now" when tokens are short */
    }
    uint64_t win = 0, worst = 0;
    for (int64_t ms = 0; ms < MS; ms++) {
        win += spent[ms];
        if (ms >= 60000)
            win -= spent[ms - 60000];
        if (win > worst)
            worst = win;
    }
    free(spent);
    assert_true(worst <= budget);
    /* and not far under it: 90 % of the budget per minute in the long run */
    assert_true(total >= (uint64_t)budget * 9 / 10 * 10 - budget / 10);
    assert_int_equal(TG_STAT_GET(p.sent), total / w);
}

static void test_the_wait_it_gives_is_enough_and_not_much_more(void **st)
{
    (void)st;
    feed_rest_pace_t p;
    feed_rest_pace_init(&p, 2400, 0, 0); /* USD-M futures: 2400/min, 20 per GET */
    int64_t now = 0, wait = 0;
    while (feed_rest_pace_take(&p, 20, now, &wait))
        feed_rest_pace_done(&p);
    assert_true(wait > 0);
    /* 2400 * 0.9 / 60 = 36 weight/s: 20 weight come within 20/36 s */
    assert_true(wait <= 20 * SEC / 36 + TG_NS_PER_MS);
    assert_false(feed_rest_pace_take(&p, 20, now + wait - 2 * TG_NS_PER_MS, NULL));
    assert_true(feed_rest_pace_take(&p, 20, now + wait, NULL));
}

static void test_retry_after_stops_every_request_until_its_end(void **st)
{
    (void)st;
    feed_rest_pace_t p;
    feed_rest_pace_init(&p, 6000, 0, 0);
    assert_true(feed_rest_pace_take(&p, 50, 0, NULL));
    feed_rest_pace_done(&p);
    assert_true(feed_rest_pace_retry_after(&p, 7, SEC));
    assert_false(feed_rest_pace_retry_after(&p, 3, 2 * SEC)); /* a shorter one: no change */
    int64_t wait = 0;
    assert_false(feed_rest_pace_take(&p, 1, 5 * SEC, &wait));
    assert_int_equal(wait, 3 * SEC);
    assert_false(feed_rest_pace_take(&p, 1, 8 * SEC - 1, NULL));
    /* the bucket was emptied: after the wait, weight comes at the refill rate only */
    assert_false(feed_rest_pace_take(&p, 50, 8 * SEC, &wait));
    assert_true(feed_rest_pace_take(&p, 50, 8 * SEC + wait, NULL));
    assert_int_equal(TG_STAT_GET(p.throttled), 2);
    assert_int_equal(TG_STAT_GET(p.retry_waits), 1);
}

static void test_in_flight_cap_and_no_rate_limit(void **st)
{
    (void)st;
    feed_rest_pace_t p;
    feed_rest_pace_init(&p, 0, 3, 0); /* no weight budget, 3 in flight */
    int64_t wait = -1;
    for (int i = 0; i < 3; i++)
        assert_true(feed_rest_pace_take(&p, 1000000, 0, NULL));
    assert_false(feed_rest_pace_take(&p, 1, 0, &wait));
    assert_int_equal(wait, 0); /* held by the cap, not by time */
    feed_rest_pace_done(&p);
    assert_true(feed_rest_pace_take(&p, 1, 0, NULL));
}

static void test_retry_after_values(void **st)
{
    (void)st;
    assert_int_equal(feed_rest_pace_parse_retry_after("120"), 120);
    assert_int_equal(feed_rest_pace_parse_retry_after(" 5 "), 5);
    assert_int_equal(feed_rest_pace_parse_retry_after("0"), 0);
    assert_int_equal(feed_rest_pace_parse_retry_after("99999999999"), 3600);
    assert_int_equal(feed_rest_pace_parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT"),
                     FEED_REST_RETRY_DEFAULT_S);
    assert_int_equal(feed_rest_pace_parse_retry_after("12abc"), FEED_REST_RETRY_DEFAULT_S);
    assert_int_equal(feed_rest_pace_parse_retry_after(""), FEED_REST_RETRY_DEFAULT_S);
    assert_int_equal(feed_rest_pace_parse_retry_after(NULL), FEED_REST_RETRY_DEFAULT_S);
}

static void test_one_pacer_per_venue_and_host(void **st)
{
    (void)st;
    feed_rest_pace_t *a = feed_rest_pace_get("binance", "api.binance.com:443", 6000, 8);
    feed_rest_pace_t *b = feed_rest_pace_get("binance", "api.binance.com:443", 1, 1);
    feed_rest_pace_t *c = feed_rest_pace_get("binance-futures", "fapi.binance.com:443", 2400, 8);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_int_equal(b->weight_per_min, 6000); /* the first caller's limits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_window_of_a_minute_goes_over_the_budget),
        cmocka_unit_test(test_the_wait_it_gives_is_enough_and_not_much_more),
        cmocka_unit_test(test_retry_after_stops_every_request_until_its_end),
        cmocka_unit_test(test_in_flight_cap_and_no_rate_limit),
        cmocka_unit_test(test_retry_after_values),
        cmocka_unit_test(test_one_pacer_per_venue_and_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
