/* SPDX-License-Identifier: MIT */
/*
 * Binance pre-snapshot diff pool memory (feeds/venues/feed_binance_buf.c): the pool is
 * allocated whole per connection (2.5 MiB) but, once every waiting symbol has synced, the
 * pages a start-up used are given back to the kernel; measured with mincore(2) on the pool's
 * level array (resident pages), at its full default size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_harness.h"

#define PG 4096u

/* Resident pages among the whole pages of [p, p + len). */
static size_t resident(const void *p, size_t len)
{
    uintptr_t a = ((uintptr_t)p + PG - 1) & ~(uintptr_t)(PG - 1);
    uintptr_t e = ((uintptr_t)p + len) & ~(uintptr_t)(PG - 1);
    if (e <= a)
        return 0;
    size_t n = (e - a) / PG, r = 0;
    unsigned char *v = malloc(n);
    assert_non_null(v);
    assert_int_equal(mincore((void *)a, e - a, v), 0);
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    return r;
}

/* A spot depthUpdate U..u of sym with `n` bids (distinct prices). */
static void big_diff(vh_env_t *e, const char *sym, const char *lower, uint64_t U, uint64_t u, int n)
{
    static char f[64 << 10];
    int k = snprintf(f, sizeof(f),
                     "{\"stream\":\"%s@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1000,"
                     "\"s\":\"%s\",\"U\":%llu,\"u\":%llu,\"b\":[",
                     lower, sym, (unsigned long long)U, (unsigned long long)u);
    for (int i = 0; i < n; i++)
        k += snprintf(f + k, sizeof(f) - (size_t)k, "%s[\"%d.%02d\",\"1\"]", i ? "," : "",
                      100 + i / 100, i % 100);
    snprintf(f + k, sizeof(f) - (size_t)k, "],\"a\":[]}}");
    assert_int_equal(vh_env_frame(e, f), 0);
}

static void snap(vh_env_t *e, const char *sym, uint64_t L)
{
    feed_handler_t *h = &e->o->h;
    feed_bn_t *b = h->vstate;
    int s = feed_binance__sym(b, sym, strlen(sym), false);
    assert_true(s >= 0);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"lastUpdateId\":%llu,\"bids\":[[\"1.5\",\"5\"]],\"asks\":[[\"999.5\",\"5\"]]}",
             (unsigned long long)L);
    assert_int_equal(
        feed_rest(h, ((uint64_t)b->gen << 32) | (uint32_t)s, 200, body, strlen(body), 5, 5), 0);
    feed_flush(h);
}

static void test_binance_pool_pages_go_back_once_every_symbol_synced(void **state)
{
    (void)state;
    vh_env_t *e = vh_env_open("binance", "BTCUSDT,ETHUSDT", NULL, 0, 0);
    feed_bn_t *b = e->o->h.vstate;
    size_t bl_len = 16 * (size_t)b->bl_cap;
    size_t r0 = resident(b->bl, bl_len);
    /* 2 x 60 diffs of 500 levels: 60 000 level pairs, ~940 KiB of the 2 MiB array */
    for (uint64_t i = 0; i < 60; i++) {
        big_diff(e, "BTCUSDT", "btcusdt", 101 + 10 * i, 110 + 10 * i, 500);
        big_diff(e, "ETHUSDT", "ethusdt", 101 + 10 * i, 110 + 10 * i, 500);
    }
    assert_int_equal(b->bl_n, 60000);
    size_t r1 = resident(b->bl, bl_len);
    printf("pool level array: %zu pages resident at start, %zu with 60 000 pairs buffered\n", r0,
           r1);
    assert_true(r1 >= r0 + 200); /* 60 000 x 16 B = 234 pages touched */
    snap(e, "BTCUSDT", 100);
    assert_true(b->bd_n > 0); /* ETHUSDT still waits: nothing is given back */
    size_t r2 = resident(b->bl, bl_len);
    assert_true(r2 >= r1 - 8);
    snap(e, "ETHUSDT", 100);
    assert_int_equal(b->bd_n, 0);
    size_t r3 = resident(b->bl, bl_len);
    printf("after both snapshots: %zu pages resident\n", r3);
    assert_true(r3 + 200 <= r1);
    /* the books were built from the replayed diffs (the pool's contents were read before) */
    assert_int_equal(e->v->book[vh_env_id(e, "BTCUSDT")].bid.n, 501);
    assert_int_equal(e->v->book[vh_env_id(e, "ETHUSDT")].bid.n, 501);
    /* used again after the release (a reconnect: every symbol waits again): the pages read as
     * zero, the code writes before it reads */
    feed_handler_t *h = &e->o->h;
    h->venue->on_close(h, 5, 5);
    feed_flush(h);
    assert_int_equal(h->venue->on_open(h), 0);
    big_diff(e, "BTCUSDT", "btcusdt", 2001, 2010, 300);
    big_diff(e, "BTCUSDT", "btcusdt", 2011, 2020, 400);
    assert_int_equal(b->bl_n, 700);
    snap(e, "BTCUSDT", 2000);
    assert_int_equal(e->v->book[vh_env_id(e, "BTCUSDT")].bid.n, 401);
    vh_env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_pool_pages_go_back_once_every_symbol_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
