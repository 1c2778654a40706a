/* SPDX-License-Identifier: MIT */
/* Log-linear latency histogram (book/tg_hist.h): bucket edges, relative error, quantiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "book/tg_hist.h"
#include "tests/fixtures/tu_main.h"

static void test_hist_bounds_are_increasing_and_match_the_index(void **state)
{
    (void)state;
    for (int i = 0; i < TG_HIST_BUCKETS - 1; i++) {
        int64_t b = tg_hist_bound_ns(i);
        assert_int_equal(tg_hist_index(b), i);         /* the bound is inside its bucket */
        assert_int_equal(tg_hist_index(b + 1), i + 1); /* and the next value is not */
        if (i > 0)
            assert_true(b > tg_hist_bound_ns(i - 1));
    }
    assert_int_equal(tg_hist_bound_ns(TG_HIST_BUCKETS - 1), INT64_MAX);
    assert_int_equal(tg_hist_index(-5), 0);
    assert_int_equal(tg_hist_index(INT64_MAX), TG_HIST_BUCKETS - 1);
}

static void test_hist_relative_error_is_below_7_percent_from_100ns_to_10s(void **state)
{
    (void)state;
    /* every value's bucket upper bound overstates it by at most 1/16 (6.25 %) */
    double worst = 0;
    for (int64_t v = 100; v <= 10000000000LL; v += v / 97 + 1) {
        int64_t b = tg_hist_bound_ns(tg_hist_index(v));
        assert_true(b >= v);
        double err = (double)(b - v) / (double)v;
        if (err > worst)
            worst = err;
    }
    assert_true(worst <= 0.0625);
    assert_true(worst > 0.05); /* the bound is tight: a coarser layout fails this */
    assert_true(tg_hist_bound_ns(TG_HIST_BUCKETS - 2) >= 10000000000LL);
}

static void test_hist_quantiles_are_within_the_bucket_error(void **state)
{
    (void)state;
    tg_hist_t *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    assert_int_equal(tg_hist_quantile_ns(h, 0.5), 0);
    /* 1..10000 us, one sample each */
    for (int64_t us = 1; us <= 10000; us++)
        tg_hist_add(h, us * 1000);
    assert_int_equal(TG_STAT_GET(h->count), 10000);
    const double q[] = {0.5, 0.99, 0.999};
    const double want[] = {5000e3, 9900e3, 9990e3};
    for (int k = 0; k < 3; k++) {
        double got = (double)tg_hist_quantile_ns(h, q[k]);
        assert_true(got >= want[k] * 0.999);
        assert_true(got <= want[k] * 1.0625 + 1000);
    }
    tg_hist_add(h, 60LL * 1000000000); /* beyond the last finite bound: +Inf */
    assert_int_equal(TG_STAT_GET(h->bucket[TG_HIST_BUCKETS - 1]), 1);
    assert_int_equal(tg_hist_quantile_ns(h, 1.0), INT64_MAX);
    free(h);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_hist_bounds_are_increasing_and_match_the_index),
        cmocka_unit_test(test_hist_relative_error_is_below_7_percent_from_100ns_to_10s),
        cmocka_unit_test(test_hist_quantiles_are_within_the_bucket_error))
