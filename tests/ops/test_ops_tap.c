/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's server side: the builder tap (gateway/gw_tap.c: latest books, gap counters
 * per feed, gap events, the /api answers) and the history's quantiles (gateway/gw_history.c).
 * The seqlock is checked with a writer thread publishing books whose every price and size is
 * the same counter value while the test reads: a torn copy shows two values in one answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_hist.h"
#include "gateway/gw_history.h"
#include "gateway/gw_tap.h"
#include "tests/fixtures/out_rec.h"

typedef struct fx {
    tg_instr_reg_t *reg;
    gw_tap_t *tap;
    uint32_t btc, eth, sol; /* ids: btc, eth on feed "a" (binance); sol on feed "b" (kraken) */
} fx_t;

static const char *const syms_a[] = {"BTCUSDT", "ETHUSDT"};
static const char *const syms_b[] = {"SOL/USD"};

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tg_instr_reg_create(&f->reg), 0);
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 2;
    ic.sz_scale = 5;
    assert_int_equal(tg_instr_reg_add(f->reg, "binance", "BTCUSDT", &ic, &f->btc), 0);
    assert_int_equal(tg_instr_reg_add(f->reg, "binance", "ETHUSDT", &ic, &f->eth), 0);
    assert_int_equal(tg_instr_reg_add(f->reg, "kraken", "SOL/USD", &ic, &f->sol), 0);
    gw_tap_feed_t feeds[] = {{"a", "binance", syms_a, 2}, {"b", "kraken", syms_b, 1}};
    assert_int_equal(gw_tap_create(&f->tap, f->reg, feeds, 2), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    gw_tap_destroy(&f->tap);
    assert_null(f->tap);
    tg_instr_reg_destroy(&f->reg);
    free(f);
    return 0;
}

static book_out_t gap(uint32_t instr, uint8_t reason)
{
    book_out_t r = tu_out_rec(BOOK_OUT_GAP, instr, 0, 0, 0);
    r.ts_exch = 1000000000;
    r.ts_recv = 4000000000;
    r.u.gap.reason = reason;
    r.u.gap.state = BOOK_STATE_RESYNCING;
    return r;
}

static book_out_t book(uint32_t instr, int64_t px, int64_t sz, int n)
{
    book_out_t r = tu_out_rec(BOOK_OUT_BOOK, instr, BOOK_OUT_F_SCALED, 2, 5);
    r.ts_exch = 1;
    r.ts_recv = 2;
    r.u.book.state = BOOK_STATE_VALID;
    r.u.book.seq = 77;
    r.u.book.n_bids = r.u.book.n_asks = (uint8_t)n;
    r.u.book.depth_bids = r.u.book.depth_asks = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        r.u.book.bids[i] = (tg_level_t){.price = px - i, .size = sz};
        r.u.book.asks[i] = (tg_level_t){.price = px + 1 + i, .size = sz};
    }
    return r;
}

/* the value of one series in a /metrics rendering (0 if absent) */
static double metric(gw_metrics_t *m, const char *series)
{
    char *text;
    assert_true(gw_metrics_render(m, &text) > 0);
    double v = 0;
    char *p = strstr(text, series);
    if (p)
        v = strtod(p + strlen(series), NULL);
    free(text);
    return v;
}

static void test_tap_counts_gaps_per_feed_and_reason(void **state)
{
    fx_t *f = *state;
    gw_metrics_t *m;
    assert_int_equal(gw_metrics_create(&m), 0);
    assert_int_equal(gw_tap_metrics(f->tap, m), 0);
    book_out_t r[] = {gap(f->btc, BOOK_GAP_RECONNECT), gap(f->eth, BOOK_GAP_RECONNECT),
                      gap(f->btc, BOOK_GAP_RESYNCED), gap(f->sol, BOOK_GAP_SEQUENCE),
                      gap(f->sol, 200)};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        assert_int_equal(gw_tap_on_record(f->tap, &r[i]), 0);
    assert_true(metric(m, "{feed=\"a\",venue=\"binance\",reason=\"reconnect\"} ") == 2);
    assert_true(metric(m, "{feed=\"a\",venue=\"binance\",reason=\"resynced\"} ") == 1);
    assert_true(metric(m, "{feed=\"b\",venue=\"kraken\",reason=\"sequence\"} ") == 1);
    assert_true(metric(m, "{feed=\"b\",venue=\"kraken\",reason=\"other\"} ") == 1);
    assert_true(metric(m, "{feed=\"b\",venue=\"kraken\",reason=\"reconnect\"} ") == 0);
    /* receive - exchange of the last record: 3 s */
    assert_true(metric(m, "tickgate_feed_exchange_offset_seconds{feed=\"a\",venue=\"binance\"} ") ==
                3.0);
    /* the events, newest first, by name */
    char *js;
    long n = gw_tap_api(f->tap, "gaps", "", &js);
    assert_true(n > 0);
    assert_non_null(strstr(js, "\"total\":5"));
    char *p1 = strstr(js, "\"reason\":\"other\""), *p2 = strstr(js, "\"reason\":\"sequence\""),
         *p3 = strstr(js, "\"reason\":\"reconnect\"");
    assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    assert_non_null(strstr(js, "\"symbol\":\"SOL/USD\""));
    free(js);
    gw_metrics_destroy(&m);
}

static void test_tap_book_answers_exact_decimals(void **state)
{
    fx_t *f = *state;
    char *js;
    /* nothing published yet: the book is listed without a state */
    assert_true(gw_tap_api(f->tap, "book", "venue=binance&symbol=BTCUSDT", &js) > 0);
    assert_non_null(strstr(js, "\"state\":null"));
    free(js);
    book_out_t r = book(f->btc, 6185536, 486392, 3); /* 61855.36 x 4.86392 */
    gw_tap_on_record(f->tap, &r);
    assert_true(gw_tap_api(f->tap, "book", "venue=binance&symbol=BTCUSDT", &js) > 0);
    assert_non_null(strstr(js, "\"state\":\"VALID\""));
    assert_non_null(strstr(js, "\"bids\":[[\"61855.36\",\"4.86392\"],[\"61855.35\",\"4.86392\"]"));
    assert_non_null(strstr(js, "\"asks\":[[\"61855.37\",\"4.86392\"]"));
    free(js);
    /* percent-encoded symbol */
    assert_true(gw_tap_api(f->tap, "book", "symbol=SOL%2FUSD&venue=kraken", &js) > 0);
    assert_non_null(strstr(js, "\"symbol\":\"SOL/USD\""));
    free(js);
    assert_true(gw_tap_api(f->tap, "books", "", &js) > 0);
    assert_non_null(strstr(js, "\"bid\":[\"61855.36\",\"4.86392\"],\"ask\":[\"61855.37\""));
    free(js);
    assert_int_equal(gw_tap_api(f->tap, "book", "venue=binance&symbol=XRPUSDT", &js), -ENOENT);
    assert_int_equal(gw_tap_api(f->tap, "book", "venue=nowhere&symbol=BTCUSDT", &js), -ENOENT);
    assert_int_equal(gw_tap_api(f->tap, "book", "venue=binance", &js), -EINVAL);
    assert_int_equal(gw_tap_api(f->tap, "nope", "", &js), -ENOENT);
}

static void test_tap_arg_decodes(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(gw_tap_arg("a=1&bb=x%20y+z&c=", "bb", b, sizeof(b)), 1);
    assert_string_equal(b, "x y z");
    assert_int_equal(gw_tap_arg("a=1&bb=2", "b", b, sizeof(b)), 0);
    assert_int_equal(gw_tap_arg("c=", "c", b, sizeof(b)), 1);
    assert_string_equal(b, "");
    assert_int_equal(gw_tap_arg("x=%4", "x", b, sizeof(b)), 1);
    assert_string_equal(b, "%4");
    assert_int_equal(gw_tap_arg("x=abcdefghij", "x", b, 5), 1);
    assert_string_equal(b, "abcd");
}

/* --- seqlock: a writer publishing books of one value, readers never see two ------------- */

typedef struct stress {
    fx_t *f;
    _Atomic int stop;
    _Atomic uint64_t written; /* owner: writer thread; read by the test thread */
} stress_t;

static void *writer(void *arg)
{
    stress_t *s = arg;
    for (int64_t k = 1; !atomic_load_explicit(&s->stop, memory_order_relaxed); k++) {
        book_out_t r = tu_out_rec(BOOK_OUT_BOOK, s->f->eth, BOOK_OUT_F_SCALED, 0, 0);
        r.u.book.state = BOOK_STATE_VALID;
        r.u.book.seq = (uint64_t)k;
        r.u.book.n_bids = r.u.book.n_asks = BOOK_OUT_DEPTH_MAX;
        for (int i = 0; i < BOOK_OUT_DEPTH_MAX; i++)
            r.u.book.bids[i] = r.u.book.asks[i] = (tg_level_t){.price = k, .size = k};
        gw_tap_on_record(s->f->tap, &r);
        atomic_fetch_add_explicit(&s->written, 1, memory_order_relaxed);
    }
    return NULL;
}

static void test_tap_seqlock_never_tears(void **state)
{
    stress_t s = {.f = *state};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer, &s), 0);
    int torn = 0, seen = 0;
    /* The writer may not have run yet (a busy or a fast machine): wait for its first book,
     * then make at least 3000 reads and keep reading until at least 3000 more books were
     * written, so that reads and writes really overlap; 20 s bound for a starved writer.
     * A read that finds the writer busy on every retry answers without a book (not seen). */
    int64_t t_end = tg_clock_mono_ns() + 20 * TG_NS_PER_SEC;
    while (atomic_load_explicit(&s.written, memory_order_relaxed) == 0 &&
           tg_clock_mono_ns() < t_end)
        sched_yield();
    uint64_t w0 = atomic_load_explicit(&s.written, memory_order_relaxed);
    for (int it = 0;
         (it < 3000 || atomic_load_explicit(&s.written, memory_order_relaxed) < w0 + 3000) &&
         tg_clock_mono_ns() < t_end;
         it++) {
        char *js;
        if (gw_tap_api(s.f->tap, "book", "venue=binance&symbol=ETHUSDT", &js) < 0)
            fail();
        char *p = strstr(js, "\"seq\":");
        if (p) {
            long long seq = atoll(p + 6), v;
            seen++;
            /* every level reads ["seq","seq"] (scale 0) */
            for (char *q = strstr(js, "[\""); q; q = strstr(q + 2, "[\"")) {
                v = atoll(q + 2);
                if (v != seq)
                    torn++;
            }
        }
        free(js);
    }
    uint64_t during = atomic_load_explicit(&s.written, memory_order_relaxed) - w0;
    atomic_store_explicit(&s.stop, 1, memory_order_relaxed);
    pthread_join(th, NULL);
    printf("# %d answers read while %llu books were written: %d torn\n", seen,
           (unsigned long long)during, torn);
    assert_true(during >= 3000); /* the reads overlapped the writes */
    assert_true(seen > 0);
    assert_int_equal(torn, 0);
}

/* --- history quantiles ------------------------------------------------------------------ */

static void test_history_quantile_interpolates_in_bucket(void **state)
{
    (void)state;
    static uint64_t prev[TG_HIST_BUCKETS], cur[TG_HIST_BUCKETS];
    memset(prev, 0, sizeof(prev));
    memset(cur, 0, sizeof(cur));
    assert_true(isnan(gw_history_quantile(prev, cur, 0.5)));
    int i = tg_hist_index(1000000); /* 1 ms */
    prev[i] = 50;                   /* 50 seen before the interval: not counted */
    cur[i] = 150;
    double lo = (double)tg_hist_bound_ns(i - 1) / 1e9, hi = (double)tg_hist_bound_ns(i) / 1e9;
    assert_true(fabs(gw_history_quantile(prev, cur, 0.5) - (lo + (hi - lo) * 0.5)) < 1e-12);
    assert_true(fabs(gw_history_quantile(prev, cur, 0.99) - (lo + (hi - lo) * 0.99)) < 1e-12);
    /* 99 fast, 1 slow: p50 in the fast bucket, p99 still there, p99.5 in the slow one */
    int j = tg_hist_index(50000000); /* 50 ms */
    cur[i] = prev[i] + 99;
    cur[j] = 1;
    assert_true(gw_history_quantile(prev, cur, 0.5) <= hi);
    assert_true(gw_history_quantile(prev, cur, 0.99) <= hi);
    assert_true(gw_history_quantile(prev, cur, 0.995) > (double)tg_hist_bound_ns(j - 1) / 1e9);
}

static void test_history_keeps_the_last_samples(void **state)
{
    (void)state;
    gw_metrics_t *m;
    assert_int_equal(gw_metrics_create(&m), 0);
    tg_stat_t frames = 0, other = 0;
    static tg_hist_t h;
    memset(&h, 0, sizeof(h));
    gw_metrics_counter(m, "tickgate_feed_frames_total", "feed=\"a\"", "x", &frames);
    gw_metrics_counter(m, "tickgate_not_charted_total", NULL, "x", &other);
    gw_metrics_hist(m, "tickgate_latency_receive_to_book_seconds", NULL, "x", &h);
    gw_history_t *hs;
    assert_int_equal(gw_history_create(&hs, m, 3), 0);
    for (int k = 1; k <= 5; k++) {
        TG_STAT_ADD(frames, 100);
        tg_hist_add(&h, 2000);
        gw_history_sample(hs, 1000 * k);
    }
    char *js;
    assert_true(gw_history_json(hs, 0, &js) > 0);
    assert_null(strstr(js, "tickgate_not_charted_total"));
    assert_non_null(strstr(js, "\"t\":[3000,4000,5000]"));
    assert_non_null(strstr(js, "[300,3,")); /* frames, then the histogram's count, p50, p99 */
    assert_non_null(strstr(js, "[500,5,"));
    free(js);
    assert_true(gw_history_json(hs, 4000, &js) > 0);
    assert_non_null(strstr(js, "\"t\":[5000],\"v\":[[500,5,"));
    free(js);
    gw_history_destroy(&hs);
    assert_null(hs);
    gw_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tap_counts_gaps_per_feed_and_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tap_book_answers_exact_decimals, setup, teardown),
        cmocka_unit_test(test_tap_arg_decodes),
        cmocka_unit_test_setup_teardown(test_tap_seqlock_never_tears, setup, teardown),
        cmocka_unit_test(test_history_quantile_interpolates_in_bucket),
        cmocka_unit_test(test_history_keeps_the_last_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
